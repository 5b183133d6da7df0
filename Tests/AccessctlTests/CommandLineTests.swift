import ArgumentParser
import Foundation
import Testing

@testable import accessctl

/// What accessctl's command line takes and says, parsed in-process
/// (`parseAsRoot`, the help ArgumentParser writes): no daemon needed.
@Suite struct CommandLineTests {
    /// Every command that runs (no subcommands), by its words: `["users", "list"]`.
    static func leaves(
        of command: any ParsableCommand.Type = Accessctl.self,
        path: [String] = []
    ) -> [(path: [String], type: any ParsableCommand.Type)] {
        let subcommands = command.configuration.subcommands
        if subcommands.isEmpty { return [(path, command)] }
        return subcommands.flatMap { leaves(of: $0, path: path + [$0._commandName]) }
    }

    /// The writes: the commands whose call changes something. Only they take
    /// --dry-run and --idempotency-key.
    static let writes: Set<String> = [
        "accounts create", "accounts rename", "accounts set-licenses", "accounts update-billing",
        "users add", "users edit", "users deactivate", "users reactivate", "users resend-activation", "users activate",
        "roles create", "roles edit", "roles delete", "offices create", "offices rename", "offices delete",
        "projects create", "projects update", "projects delete", "products create", "products rename",
        "products delete", "share grant", "share remove", "share retire", "clients add", "clients request",
        "clients approve", "clients deny", "clients revoke", "clients remove", "outbox ack",
    ]

    /// The help's option paragraphs: a line starting `  -` and the lines under it.
    static func optionParagraphs(_ help: String) -> [String] {
        var paragraphs: [String] = []
        for line in help.components(separatedBy: "\n") {
            if line.hasPrefix("  -") {
                paragraphs.append(line)
            } else if line.hasPrefix("      "), !paragraphs.isEmpty {
                paragraphs[paragraphs.count - 1] += " " + line.trimmingCharacters(in: .whitespaces)
            }
        }
        return paragraphs
    }

    @Test func theTreeHasTheCommandsOfTheIssue() {
        let paths = Set(Self.leaves().map { $0.path.joined(separator: " ") })
        #expect(paths.isSuperset(of: Self.writes), "\(Self.writes.subtracting(paths))")
        #expect(paths.isSuperset(of: ["accounts list", "check", "check-state", "stats"]))
    }

    @Test func helpSaysEachDefaultOnceAndTheRealOne() {
        for (path, type) in Self.leaves() {
            let help = Accessctl.helpMessage(for: type, columns: 200)
            for paragraph in Self.optionParagraphs(help) {
                let mentions = paragraph.components(separatedBy: "default").count - 1
                #expect(mentions <= 1, "accessctl \(path.joined(separator: " ")): \(paragraph)")
            }
        }
        let limits: [([String], String, String)] = [
            (["events", "list"], "--limit", "(default: 1000)"), (["outbox", "list"], "--limit", "(default: 100)"),
            (["users", "list"], "--page-size", "(default: 50)"),
            (["accounts", "list"], "--page-size", "(default: 100)"),
            (["users", "list"], "--sort", "(default: NAME)"),
            (["accounts", "create"], "--kind", "(default: STANDARD)"),
            (["accounts", "create"], "--region", "(default: GLOBAL)"),
            (["roles", "create"], "--access", "(default: FULL)"),
        ]
        for (path, option, text) in limits {
            let type = Self.leaves().first { $0.path == path }!.type
            let paragraph = Self.optionParagraphs(Accessctl.helpMessage(for: type, columns: 200))
                .first { $0.hasPrefix("  \(option) ") }
            #expect(paragraph?.contains(text) == true, "\(path) \(option): \(paragraph ?? "no such option")")
        }
    }

    @Test func onlyWritesTakeDryRunAndIdempotencyKey() throws {
        for (path, type) in Self.leaves() {
            let name = path.joined(separator: " ")
            let help = Accessctl.helpMessage(for: type, columns: 200)
            let isWrite = Self.writes.contains(name)
            #expect(help.contains("--dry-run") == isWrite, "accessctl \(name)")
            #expect(help.contains("--idempotency-key") == isWrite, "accessctl \(name)")
        }
        #expect(throws: (any Error).self) { try Accessctl.parseAsRoot(["accounts", "list", "--dry-run"]) }
        let write = try #require(
            try Accessctl.parseAsRoot([
                "accounts", "rename", "acc_1", "--name", "X", "--dry-run", "--idempotency-key", "k",
            ])
                as? Accounts.Rename
        )
        #expect(write.write.dryRun && write.write.idempotencyKey == "k")
    }

    @Test func versionIsAnOptionOfTheRoot() throws {
        #expect(Accessctl.configuration.version.isEmpty == false)
        do {
            _ = try Accessctl.parseAsRoot(["--version"])
            Issue.record("--version parsed as a command")
        } catch {
            #expect(Accessctl.exitCode(for: error) == .success)
            #expect(Accessctl.fullMessage(for: error) == Accessctl.configuration.version)
        }
    }

    @Test func aWordThatNamesNoCommandGetsTheNearestNames() {
        let unknown = { (words: [String]) in CommandTree.unknownCommand(in: words, root: Accessctl.self) }
        #expect(
            unknown(["user", "list"])?.hasPrefix("unknown command 'user' for 'accessctl'; did you mean 'users'?")
                == true
        )
        #expect(
            unknown(["users", "lst", "--account", "a"])?.hasPrefix(
                "unknown command 'lst' for 'accessctl users'; did you mean 'list'?"
            ) == true
        )
        #expect(
            unknown(["acc"])?.contains("did you mean 'accounts' or 'accessible'?") == true,
            "\(unknown(["acc"]) ?? "")"
        )
        #expect(unknown(["stat"])?.contains("did you mean 'stats'?") == true)
        #expect(unknown(["acounts", "list"])?.contains("did you mean 'accounts'?") == true)
        let far = unknown(["zzzzzzzz"])
        #expect(far?.contains("did you mean") == false, "\(far ?? "")")
        #expect(far?.contains("The commands of 'accessctl': accounts, users,") == true, "\(far ?? "")")
        // Words that name commands, options and the rest are ArgumentParser's.
        for words in [
            ["users", "list", "--account", "a"], ["--version"], ["help", "users"], ["users", "get", "usr_1"], [],
            // `backup FILE` is `backup save FILE` (the default subcommand), found under a real systemd.
            ["backup", "/var/backups/accessd/day1.snap"], ["backup", "verify", "x.snap"],
        ] {
            #expect(unknown(words) == nil, "\(words)")
        }
        #expect(CommandTree.distance("acounts", "accounts") == 1)
        #expect(CommandTree.distance("stast", "stats") == 1, "a swap is one edit")
    }

    @Test func timeoutTakesADuration() throws {
        let cases: [(String, UInt32?)] = [
            ("500ms", 500), ("2s", 2000), ("1.5", 1500), ("2m", 120_000), ("1h", 3_600_000), (" 10S ", 10_000),
            ("0", 0), ("0.0001", 1), ("x", nil), ("-1", nil), ("1e3", nil), ("5d", nil), ("", nil), ("ms", nil),
            ("5000000000", nil),
        ]
        for (text, milliseconds) in cases {
            #expect(Timeout(argument: text)?.milliseconds == milliseconds, "\(text)")
        }
        let stats = try #require(try Accessctl.parseAsRoot(["stats", "--timeout", "2s"]) as? Stats)
        #expect(stats.options.timeout?.milliseconds == 2000)
        // What a call sends as its timeout_ms: what is left of the deadline.
        let deadline = Deadline(try #require(stats.options.timeout))
        let sent = try deadline.remainingMilliseconds()
        #expect(sent <= 2001 && sent > 1500, "\(sent)")
        #expect(throws: (any Error).self) { try Accessctl.parseAsRoot(["stats", "--timeout", "soon"]) }
    }

    @Test func enumOptionsTakeNamesNotNumbers() throws {
        for name in ["manage-products", "MANAGE_PRODUCTS", "PERMISSION_MANAGE_PRODUCTS", "manageProducts"] {
            let check = try #require(
                try Accessctl.parseAsRoot(["check", "--user", "u", "--account", "a", "--permission", name]) as? Check
            )
            #expect(check.permission == .manageProducts, "\(name)")
        }
        #expect(throws: (any Error).self) {
            try Accessctl.parseAsRoot(["check", "--user", "u", "--account", "a", "--permission", "5"])
        }
        let list = try #require(
            try Accessctl.parseAsRoot(["users", "list", "--account", "a", "--sort", "email"]) as? Users.List
        )
        #expect(list.sort == .email)
    }

    @Test func tablesHaveAHeaderAndAlignedColumns() {
        let text = table(
            ["ID", "NAME", "ROLE"],
            [["usr_1", "Olga Owner", "Account Owner"], ["usr_10", "Vic", "Viewer"]]
        )
        #expect(
            text == """
                ID      NAME        ROLE
                usr_1   Olga Owner  Account Owner
                usr_10  Vic         Viewer
                """
        )
        #expect(table(["ID", "NAME"], []) == "ID  NAME", "an empty table is its header")
    }
}
