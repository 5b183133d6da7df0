import AccessTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the README's walkthrough through the real `accessctl` against the
/// real `accessd`, so the README cannot drift from what the tools do.
@Suite(.serialized) struct WalkthroughTests {
    let rig = AccessctlRig()

    static let readme = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("README.md")

    /// The README's "## Walkthrough" section, up to the next section.
    static func walkthroughSection(of readme: String) -> String? {
        guard let start = readme.range(of: "\n## Walkthrough\n") else { return nil }
        let rest = readme[start.upperBound...]
        let end = rest.range(of: "\n## ")?.lowerBound ?? rest.endIndex
        return String(rest[..<end])
    }

    /// One ```sh block of the walkthrough and the `<!-- test: ... -->` after it.
    struct Step {
        var command: String
        var checks: [String]
    }

    static func steps(of markdown: String) -> [Step] {
        var steps: [Step] = []
        var lines = markdown.components(separatedBy: "\n")[...]
        while let line = lines.popFirst() {
            guard line.trimmingCharacters(in: .whitespaces) == "```sh" else { continue }
            var command = ""
            while let next = lines.popFirst(), next.trimmingCharacters(in: .whitespaces) != "```" {
                if !next.trimmingCharacters(in: .whitespaces).isEmpty { command += next }
            }
            var checks: [String] = []
            if let next = lines.first, next.hasPrefix("<!-- test:"), next.hasSuffix("-->") {
                lines.removeFirst()
                checks = words(String(next.dropFirst("<!-- test:".count).dropLast("-->".count)))
            }
            steps.append(Step(command: command, checks: checks))
        }
        return steps
    }

    /// Splits like a shell: spaces separate words; '...' is literal; "..." and \ escape.
    static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var single = false
        var double = false
        var escaped = false
        for character in text {
            if escaped {
                current.append(character)
                escaped = false
            } else if single {
                if character == "'" { single = false } else { current.append(character) }
            } else if character == "\\" {
                escaped = true
                inWord = true
            } else if double {
                if character == "\"" { double = false } else { current.append(character) }
            } else if character == "'" {
                single = true
                inWord = true
            } else if character == "\"" {
                double = true
                inWord = true
            } else if character == " " || character == "\t" {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(character)
                inWord = true
            }
        }
        if inWord { words.append(current) }
        return words
    }

    /// `$NAME` replaced by what an earlier step saved.
    static func substitute(_ text: String, _ saved: [String: String]) -> String {
        var text = text
        for (name, value) in saved.sorted(by: { $0.key.count > $1.key.count }) {
            text = text.replacingOccurrences(of: "$" + name, with: value)
        }
        return text
    }

    static func firstMatch(_ pattern: String, in text: String) -> String? {
        guard let regex = try? NSRegularExpression(pattern: pattern),
            let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
            let range = Range(match.range, in: text)
        else { return nil }
        return String(text[range])
    }

    @Test func theWalkthroughRunsAsDocumented() throws {
        let readme = try String(contentsOf: Self.readme, encoding: .utf8)
        let markdown = try #require(Self.walkthroughSection(of: readme), "the README has a ## Walkthrough section")
        let steps = Self.steps(of: markdown)
        #expect(steps.count >= 20, "the walkthrough has its commands in ```sh blocks")

        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("accessctl-walk-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try rig.startDaemon(directory: directory)
        defer { #expect(rig.stop(daemon) == 0) }

        var saved: [String: String] = [:]
        for step in steps {
            let words = Self.words(Self.substitute(step.command, saved))
            try #require(words.first == "accessctl", "a walkthrough command starts with accessctl: \(step.command)")
            let outcome = try rig.accessctl(Array(words.dropFirst()), socket: daemon.socket, directory: directory)
            let context = "\(step.command)\nstdout:\n\(outcome.stdout)\nstderr:\n\(outcome.stderr)"
            var expectedStatus: Int32 = 0
            for check in step.checks.map({ Self.substitute($0, saved) }) {
                if check.hasPrefix("exit=") {
                    expectedStatus = Int32(check.dropFirst(5)) ?? -1
                } else if check.hasPrefix("stdout!~") {
                    #expect(!outcome.stdout.contains(check.dropFirst(8)), "\(check)\n\(context)")
                } else if check.hasPrefix("stdout~") {
                    #expect(outcome.stdout.contains(check.dropFirst(7)), "\(check)\n\(context)")
                } else if check.hasPrefix("stderr~") {
                    #expect(outcome.stderr.contains(check.dropFirst(7)), "\(check)\n\(context)")
                } else if check.hasPrefix("save=") {
                    let spec = check.dropFirst(5)
                    let name = String(spec.prefix { $0 != ":" })
                    let pattern = String(spec.dropFirst(name.count + 1))
                    let value = try #require(Self.firstMatch(pattern, in: outcome.stdout), "\(check)\n\(context)")
                    saved[name] = value
                } else if check == "json" {
                    let object = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8))
                    #expect(object is [String: Any], "\(context)")
                } else {
                    Issue.record("unknown check \(check) in the README walkthrough")
                }
            }
            #expect(outcome.status == expectedStatus, "exit status\n\(context)")
            if expectedStatus == 0 || expectedStatus == 1 {
                // 1 is an answer (check: denied), not an error.
                #expect(outcome.stderr.isEmpty, "\(context)")
            } else {
                #expect(outcome.stderr.hasPrefix("error: "), "\(context)")
            }
        }
    }

    @Test func eventsFollowPrintsOneLinePerEventUntilInterrupted() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("accessctl-follow-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try rig.startDaemon(directory: directory)
        defer { #expect(rig.stop(daemon) == 0) }
        let created = try rig.accessctl(
            [
                "accounts", "create", "--name", "Acme", "--owner-email", "olga@acme.example", "--owner-first-name",
                "Olga", "--owner-last-name", "Owner",
            ], socket: daemon.socket, directory: directory)
        #expect(created.status == 0, "\(created.stderr)")

        let binary: URL = try #require(AccessctlRig.binary("accessctl"), "accessctl is built with the tests")
        let follow = Process()
        follow.executableURL = binary
        follow.arguments = ["events", "follow", "--socket", daemon.socket]
        let output = Pipe()
        follow.standardOutput = output
        try follow.run()
        var text = ""
        let deadline = Date().addingTimeInterval(10)
        while text.components(separatedBy: "\n").count <= 5, Date() < deadline {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        kill(follow.processIdentifier, SIGINT)
        follow.waitUntilExit()
        let lines = text.split(separator: "\n")
        #expect(lines.count == 5, "\(text)")
        #expect(lines.first?.hasPrefix("1  ") == true && lines.first?.contains("account_created") == true, "\(text)")
        #expect(lines.last?.contains("user_added") == true, "\(text)")
    }

    @Test func theWalkthroughParses() {
        #expect(Self.words(#"a "b c" 'd "e"' f\ g "\"h\":true""#) == ["a", "b c", #"d "e""#, "f g", #""h":true"#])
    }
}
