#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's configuration file: `key = value` lines, `#` comments.
///
///     socket = /run/accessd/accessd.sock
///     state_dir = /var/lib/accessd
///     admin_uids = 0, 1001
///     max_connections = 1024
///     log_level = info
///
/// Flags and the environment win over the file; the file wins over systemd's
/// directories and the XDG defaults.
///
/// The keys are `ConfigKey`'s: a file with any other is refused, by the
/// daemon and by the clients alike (accessctl; the C client, whose copy
/// ConfigurationTests holds equal), though the clients read only the keys
/// discovery reads (`socket`). Reading the file checks only its lines and
/// its keys; `value(of:)` checks a value against the table.
package struct ConfigFile: Sendable {
    /// A key's value and the line that set it (the last, when set twice).
    package struct Entry: Sendable, Hashable {
        package var value: String
        /// From 1.
        package var line: Int
    }

    /// The keys the file sets.
    package private(set) var entries: [ConfigKey: Entry] = [:]
    package let path: String

    /// The names of the keys a file may have.
    package static var keys: Set<String> { Set(ConfigKey.allCases.map(\.name)) }

    package struct Invalid: Error, CustomStringConvertible {
        package var path: String
        package var line: Int
        package var reason: String
        package var description: String { "\(path):\(line): \(reason)" }

        package init(path: String, line: Int, reason: String) {
            self.path = path
            self.line = line
            self.reason = reason
        }
    }

    package init(text: String, path: String) throws {
        self.path = path
        // Split by Unicode scalars, not Characters: "\r\n" is one Character (a
        // file written on Windows would be one long line), and a combining mark
        // after '#' or '=' would hide it.
        for (index, raw) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? raw[raw.startIndex..<raw.startIndex]
            if Self.trimmed(line).isEmpty { continue }
            let parts = line.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else {
                throw Invalid(path: path, line: index + 1, reason: "expected key = value")
            }
            let name = Self.trimmed(parts[0])
            guard let key = ConfigKey(name: name) else {
                throw Invalid(
                    path: path, line: index + 1, reason: "unknown key '\(name)'; known: \(Self.keys.sorted().joined(separator: ", "))")
            }
            entries[key] = Entry(value: Self.trimmed(parts[1]), line: index + 1)
        }
    }

    /// The text `key` is set to, or nil.
    package subscript(key: ConfigKey) -> String? { entries[key]?.value }

    /// The value `key` is set to, checked against the table; nil when the file does not set it.
    /// - Throws: `Invalid` naming the key's line when the table refuses the value.
    package func value(of key: ConfigKey) throws(Invalid) -> ConfigValue? {
        guard let entry = entries[key] else { return nil }
        guard let value = key.spec.values.parse(entry.value) else {
            throw invalid(entry, key.spec.values.refusal(of: entry.value, for: key))
        }
        return value
    }

    /// An error at the line of `entry`.
    package func invalid(_ entry: Entry, _ reason: String) -> Invalid {
        Invalid(path: path, line: entry.line, reason: reason)
    }

    /// Without leading and trailing whitespace (a "\r" of "\r\n" included), scalar by scalar.
    private static func trimmed(_ scalars: Substring.UnicodeScalarView) -> String {
        var view = scalars
        while let first = view.first, first.properties.isWhitespace { view.removeFirst() }
        while let last = view.last, last.properties.isWhitespace { view.removeLast() }
        return String(Substring(view))
    }
}

extension ConfigFile {
    /// Why a config file could not be read.
    package struct Unreadable: Error, Hashable, CustomStringConvertible {
        package var path: String
        /// The `errno` of open() or read().
        package var errno: Int32
        package var description: String {
            let reason = String(cString: strerror(errno))
            return "cannot read the config file \(path): \(reason.prefix(1).lowercased() + reason.dropFirst())"
        }
    }

    /// The text of the file at `path` (invalid UTF-8 replaced).
    package static func contents(of path: String) throws(Unreadable) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Unreadable(path: path, errno: errno) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Unreadable(path: path, errno: errno)
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads and parses the file at `path`.
    package static func load(_ path: String) throws -> ConfigFile {
        try ConfigFile(text: try contents(of: path), path: path)
    }
}

extension String {
    /// Without leading and trailing whitespace.
    package var trimmingSpaces: String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view.removeFirst() }
        while let last = view.last, last.isWhitespace { view.removeLast() }
        return String(view)
    }
}
