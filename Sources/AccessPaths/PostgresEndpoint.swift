/// One server of `postgresql_hosts`: where the shared log's PostgreSQL is.
package enum PostgresEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// A Unix socket file (`.../.s.PGSQL.5432`).
    case socket(path: String)
    case tcp(host: String, port: Int)

    /// `/dir` (a socket directory: its `.s.PGSQL.5432`), `/dir/.s.PGSQL.N`,
    /// `host`, `host:port` or `[v6]:port`; nil for anything else.
    package init?(_ text: String) {
        let text = text.trimmingSpaces
        guard !text.isEmpty else { return nil }
        if text.hasPrefix("/") {
            let last = text.split(separator: "/").last.map(String.init) ?? ""
            self = last.hasPrefix(".s.PGSQL.") ? .socket(path: text) : .socket(path: text + "/.s.PGSQL.5432")
            return
        }
        var host = text
        var port = 5432
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let number = Int(rest.dropFirst()) else { return nil }
                port = number
            }
        } else if let colon = text.lastIndex(of: ":") {
            guard text.firstIndex(of: ":") == colon, let number = Int(text[text.index(after: colon)...]) else { return nil }
            host = String(text[..<colon])
            port = number
        }
        guard !host.isEmpty, (1...65535).contains(port),
            host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" || $0 == "_" })
        else { return nil }
        self = .tcp(host: host, port: port)
    }

    /// `postgresql_hosts`: comma-separated endpoints; nil if any is malformed or there is none.
    package static func list(_ text: String) -> [PostgresEndpoint]? {
        let parts = text.split(separator: ",").map { String($0) }
        guard !parts.isEmpty else { return nil }
        var endpoints: [PostgresEndpoint] = []
        for part in parts {
            guard let endpoint = PostgresEndpoint(part) else { return nil }
            endpoints.append(endpoint)
        }
        return endpoints
    }

    package var description: String {
        switch self {
        case .socket(let path): path
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }
}
