package import Foundation

/// The state directory an earlier accessd wrote (journal format 1, snapshot
/// format 2; `Tests/Fixtures/state-journal1-snapshot2`, its README says how it
/// was made), for the tests that load a state written in an earlier format.
package enum StateFixture {
    /// The fixture's directory in the package.
    package static var path: String {
        SystemdTestSupport.packageRoot.appendingPathComponent("Tests/Fixtures/state-journal1-snapshot2").path
    }

    /// The fixture's outbox: message id -> token.
    package static func tokens() throws -> [String: String] {
        let text = try String(contentsOfFile: path + "/outbox-tokens.txt", encoding: .utf8)
        var tokens: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            tokens[String(parts[0])] = String(parts[2])
        }
        return tokens
    }

    /// A copy of the fixture as a state directory of its own (mode 0700, as accessd wants it).
    package static func copy() throws -> (root: String, state: String) {
        let root = SystemdTestSupport.temporaryDirectory("upgrade")
        let state = root + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for name in try FileManager.default.contentsOfDirectory(atPath: path)
        where name.hasPrefix("journal-") || name.hasPrefix("snapshot-") {
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
