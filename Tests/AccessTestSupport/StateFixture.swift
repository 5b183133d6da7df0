package import Foundation

/// State directories earlier accessd versions wrote (`Tests/Fixtures/`, each
/// README says how it was made), for the tests that load a state written in
/// an earlier format.
package enum StateFixture {
    /// Journal format 1, snapshot format 2 (before issue 12).
    package static let journal1Snapshot2 = "state-journal1-snapshot2"
    /// Journal format 2, snapshot format 3 (before the hash chain).
    package static let journal2Snapshot3 = "state-journal2-snapshot3"

    /// A fixture's directory in the package.
    package static func path(_ name: String = journal1Snapshot2) -> String {
        SystemdTestSupport.packageRoot.appendingPathComponent("Tests/Fixtures/" + name).path
    }

    /// The first fixture's directory.
    package static var path: String { path() }

    /// A fixture's outbox: message id -> token.
    package static func tokens(_ name: String = journal1Snapshot2) throws -> [String: String] {
        let text = try String(contentsOfFile: path(name) + "/outbox-tokens.txt", encoding: .utf8)
        var tokens: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            tokens[String(parts[0])] = String(parts[2])
        }
        return tokens
    }

    /// A copy of the fixture as a state directory of its own (mode 0700, as accessd wants it).
    package static func copy(_ name: String = journal1Snapshot2) throws -> (root: String, state: String) {
        let path = path(name)
        let root = SystemdTestSupport.temporaryDirectory("upgrade")
        let state = root + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for name in try FileManager.default.contentsOfDirectory(atPath: path)
        where name.hasPrefix("journal-") || name.hasPrefix("snapshot-") || name.hasPrefix("events-") {
            try FileManager.default.copyItem(atPath: path + "/" + name, toPath: state + "/" + name)
        }
        return (root, state)
    }

    /// The fixture's tokens that appear in `data`.
    package static func everyToken(in data: Data, _ tokens: [String: String]) -> [String] {
        let text = String(decoding: data, as: UTF8.self)
        return tokens.values.filter { text.contains($0) }
    }
}
