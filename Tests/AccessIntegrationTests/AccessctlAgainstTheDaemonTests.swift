import AccessTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// accessctl as a process against the real accessd: what its exit status,
/// tables, names, JSON and errors tell the person or script that runs it.
@Suite(.serialized) struct AccessctlAgainstTheDaemonTests {
    let rig = AccessctlRig()

    /// A daemon holding Acme (Olga, its ACTIVE owner; Vic, a PENDING Viewer),
    /// and the accessctl that runs against it.
    struct World {
        let rig: AccessctlRig
        let directory: String
        let daemon: AccessctlRig.Daemon
        var acme = ""
        var olga = ""
        var vic = ""

        func run(
            _ arguments: [String],
            environment: [String: String?] = [:],
            user: UInt32? = nil
        ) throws
            -> AccessctlRig.Outcome
        {
            try rig.accessctl(
                arguments,
                socket: daemon.socket,
                directory: directory,
                environment: environment,
                user: user
            )
        }

        /// Runs a command that must succeed and says nothing on stderr.
        @discardableResult
        func ok(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
            let outcome = try run(arguments)
            #expect(
                outcome.status == 0 && outcome.stderr.isEmpty,
                "\(arguments)\n\(outcome)",
                sourceLocation: sourceLocation
            )
            return outcome.stdout
        }

        /// The first match of `pattern` in `text`.
        static func find(_ pattern: String, in text: String) throws -> String {
            let regex = try NSRegularExpression(pattern: pattern)
            let match = try #require(
                regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
                "\(pattern) in \(text)"
            )
            return String(text[Range(match.range, in: text)!])
        }
    }

    func withWorld(_ name: String, _ body: (inout World) throws -> Void) throws {
        let directory = try AccessctlRig.temporaryDirectory(name)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try rig.startDaemon(directory: directory)
        defer { #expect(rig.stop(daemon) == 0) }
        var world = World(rig: rig, directory: directory, daemon: daemon)
        let created = try world.ok([
            "accounts", "create", "--name", "Acme", "--licenses", "3", "--owner-email", "olga@acme.example",
            "--owner-first-name", "Olga", "--owner-last-name", "Owner",
        ])
        world.acme = try World.find("acc_[a-z0-9]+", in: created)
        world.olga = try World.find("usr_[a-z0-9]+", in: created)
        let vic = try world.ok([
            "users", "add", "--account", world.acme, "--email", "vic@acme.example", "--first-name", "Vic",
            "--last-name", "Viewer", "--role", "Viewer", "--as", "olga@acme.example",
        ])
        world.vic = try World.find("usr_[a-z0-9]+", in: vic)
        try body(&world)
    }

    /// Parses stdout as exactly one JSON document on one line.
    static func json(
        _ outcome: AccessctlRig.Outcome,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [String: Any] {
        #expect(outcome.status == 0 || outcome.status == 1, "\(outcome)", sourceLocation: sourceLocation)
        let lines = outcome.stdout.split(separator: "\n")
        #expect(lines.count == 1, "one document per reply: \(outcome.stdout)", sourceLocation: sourceLocation)
        return try #require(
            try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any],
            "\(outcome)",
            sourceLocation: sourceLocation
        )
    }

    // MARK: Exit statuses

    @Test func checkExitsZeroWhenAllowedOneWhenDeniedAndTwoWhenTheCallFails() throws {
        try withWorld("check") { world in
            let allowed = try world.run([
                "check", "--user", "olga@acme.example", "--account", world.acme, "--permission", "share-access",
            ])
            #expect(allowed.status == 0 && allowed.stdout.contains("allowed: yes"), "\(allowed)")
            let denied = try world.run([
                "check", "--user", world.vic, "--account", world.acme, "--permission", "share-access",
            ])
            #expect(denied.status == 1 && denied.stdout.contains("allowed:   no") && denied.stderr.isEmpty, "\(denied)")
            let deniedJSON = try world.run([
                "check", "--user", world.vic, "--account", world.acme, "--permission", "share-access", "--json",
            ])
            #expect(deniedJSON.status == 1, "\(deniedJSON)")
            #expect(try Self.json(deniedJSON)["allowed"] as? Bool == false, "a denial says allowed: false")
            let unknown = try world.run([
                "check", "--user", "nobody@acme.example", "--account", world.acme, "--permission", "share-access",
            ])
            #expect(unknown.status == 2 && unknown.stderr.hasPrefix("error: NOT_FOUND: "), "\(unknown)")
            let usage = try world.run([
                "check", "--user", "olga@acme.example", "--account", world.acme, "--permission", "fly",
            ])
            #expect(usage.status == 64, "\(usage)")
        }
    }

    @Test func checkBatchAnswersEveryLineInOrderAndExitsWithTheWorstOutcome() throws {
        try withWorld("check-batch") { world in
            let lines = world.directory + "/checks.txt"
            try """
                # user account permission [project or product]
                olga@acme.example \(world.acme) share-access
                \(world.vic)  \(world.acme)  SHARE_ACCESS
                nobody@acme.example \(world.acme) view-projects

                """.write(toFile: lines, atomically: true, encoding: .utf8)
            let mixed = try world.run(["check", "--batch", lines, "--batch-size", "2"])
            #expect(mixed.status == 2, "an item that failed: exit 2; \(mixed)")
            let rows = mixed.stdout.split(separator: "\n").map(String.init)
            #expect(rows.count == 4 && rows[0].hasPrefix("USER"), "\(mixed)")
            #expect(rows.count == 4 && rows[1].contains("yes") && rows[2].contains(" no ") && rows[3].contains("NOT_FOUND: no user has the id or email"), "\(mixed)")

            let json = world.directory + "/checks.json"
            try """
                [{"user": "olga@acme.example", "account": "\(world.acme)", "permission": "MANAGE_PRODUCTS"},
                 {"user": "\(world.olga)", "account": "\(world.acme)", "permission": "view-billing"}]
                """.write(toFile: json, atomically: true, encoding: .utf8)
            let allowed = try world.run(["check", "--batch", json])
            #expect(allowed.status == 0 && allowed.stdout.split(separator: "\n").count == 3, "\(allowed)")
            let asJSON = try world.run(["check", "--batch", json, "--json"])
            #expect(asJSON.status == 0, "\(asJSON)")
            let document = try Self.json(asJSON)
            #expect((document["results"] as? [Any])?.count == 2, "\(asJSON)")

            let bad = world.directory + "/bad.txt"
            try "olga@acme.example \(world.acme)\n".write(toFile: bad, atomically: true, encoding: .utf8)
            let refused = try world.run(["check", "--batch", bad])
            #expect(refused.status == 64 && refused.stderr.contains("line 1 has 2 words"), "\(refused)")
            let both = try world.run(["check", "--batch", bad, "--user", "x"])
            #expect(both.status == 64, "\(both)")
        }
    }

    @Test func versionIsTheDaemonsVersion() throws {
        let directory = try AccessctlRig.temporaryDirectory("version")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ctl = try rig.accessctl(["--version"], socket: nil, directory: directory)
        let accessd = Process()
        let binary: URL = try #require(AccessctlRig.binary("accessd"))
        accessd.executableURL = binary
        accessd.arguments = ["--version"]
        let pipe = Pipe()
        accessd.standardOutput = pipe
        try accessd.run()
        let daemonVersion = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        accessd.waitUntilExit()
        #expect(ctl.status == 0 && ctl.stderr.isEmpty, "\(ctl)")
        #expect(!ctl.stdout.isEmpty && ctl.stdout == daemonVersion, "accessctl \(ctl.stdout) accessd \(daemonVersion)")
    }

    @Test func anUnknownCommandIsAUsageErrorWithTheNearestName() throws {
        let directory = try AccessctlRig.temporaryDirectory("unknown")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome = try rig.accessctl(["user", "list"], socket: nil, directory: directory)
        #expect(outcome.status == 64, "\(outcome)")
        #expect(
            outcome.stderr.hasPrefix("error: unknown command 'user' for 'accessctl'; did you mean 'users'?\n"),
            "\(outcome)"
        )
        let option = try rig.accessctl(["stats", "--jsn"], socket: nil, directory: directory)
        #expect(option.status == 64 && option.stderr.contains("Did you mean '--json'?"), "\(option)")
    }

    // MARK: --timeout

    @Test func timeoutEndsACallTheDaemonDoesNotAnswer() throws {
        try withWorld("timeout") { world in
            let pid = world.daemon.process.processIdentifier
            kill(pid, SIGSTOP)
            let read = try world.run(["accounts", "list", "--timeout", "300ms"])
            let write = try world.run([
                "accounts", "create", "--name", "Late", "--owner-email", "l@late.example", "--owner-first-name", "L",
                "--owner-last-name", "Late", "--timeout", "300ms",
            ])
            kill(pid, SIGCONT)
            #expect(read.status == 2, "\(read)")
            #expect(read.stderr == "error: DEADLINE_EXCEEDED: no reply within --timeout 300ms\n", "\(read)")
            #expect(read.seconds >= 0.3 && read.seconds < 5, "\(read.seconds) s")
            #expect(write.status == 2, "\(write)")
            #expect(
                write.stderr.contains("the write may still be applied: to retry it, give the same --idempotency-key"),
                "\(write)"
            )
            // What the message warns of: the daemon, running again, applies the write it had received.
            var listed = ""
            for _ in 0..<50 where !listed.contains("Late") {
                listed = try world.ok(["accounts", "list", "--timeout", "5s"])
                if !listed.contains("Late") { usleep(100_000) }
            }
            #expect(listed.contains("Late"), "\(listed)")
        }
    }

    // MARK: What a person reads

    /// The column starts of a table's header (columns are two spaces apart;
    /// a header may hold one space, as in "ACCOUNT NAME").
    static func columnStarts(_ header: String) -> [Int] {
        let characters = Array(header)
        var starts = [0]
        for index in 2..<max(2, characters.count)
        where characters[index] != " " && characters[index - 1] == " " && characters[index - 2] == " " {
            starts.append(index)
        }
        return starts
    }

    static func expectTable(
        _ text: String,
        header: [String],
        rows: Int,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let first = lines.first ?? ""
        #expect(
            first.split(separator: "  ", omittingEmptySubsequences: true).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
                == header,
            "\(text)",
            sourceLocation: sourceLocation
        )
        let starts = columnStarts(first)
        let body = lines.dropFirst().prefix(rows)
        #expect(body.count == rows, "\(text)", sourceLocation: sourceLocation)
        for line in body {
            let characters = Array(line)
            for start in starts.dropFirst() {
                #expect(
                    start < characters.count && characters[start] != " " && characters[start - 1] == " ",
                    "column at \(start) of\n\(text)",
                    sourceLocation: sourceLocation
                )
            }
        }
    }

    @Test func everyTableHasAHeaderAndAlignedColumns() throws {
        try withWorld("tables") { world in
            try world.ok(["offices", "create", "--account", world.acme, "--name", "Berlin", "--as", world.olga])
            try world.ok([
                "accounts", "create", "--name", "Globex", "--owner-email", "gus@globex.example", "--owner-first-name",
                "Gus", "--owner-last-name", "G",
            ])
            let initech = try World.find(
                "acc_[a-z0-9]+",
                in: try world.ok([
                    "accounts", "create", "--name", "Initech", "--kind", "AGENCY", "--owner-email",
                    "ian@initech.example",
                    "--owner-first-name", "Ian", "--owner-last-name", "I",
                ])
            )
            try world.ok([
                "share", "grant", "--account", world.acme, "--email", "gus@globex.example", "--as", world.olga,
            ])
            try world.ok(["clients", "add", "--agency", initech, "--client", world.acme, "--as", "ian@initech.example"])
            Self.expectTable(
                try world.ok(["accounts", "list"]),
                header: ["ID", "NAME", "KIND", "REGION", "LICENSES", "CREATED"],
                rows: 3
            )
            Self.expectTable(
                try world.ok(["users", "list", "--account", world.acme, "--as", world.olga]),
                header: ["ID", "NAME", "EMAIL", "STATUS", "ROLE", "PERMISSIONS", "OFFICES"],
                rows: 2
            )
            Self.expectTable(
                try world.ok(["roles", "list", "--account", world.acme, "--as", world.olga]),
                header: ["ID", "NAME", "ACCESS", "BUILT-IN", "PERMISSIONS"],
                rows: 3
            )
            Self.expectTable(
                try world.ok(["offices", "list", "--account", world.acme, "--as", world.olga]),
                header: ["ID", "NAME"],
                rows: 1
            )
            Self.expectTable(
                try world.ok(["products", "list", "--account", world.acme, "--as", world.olga]),
                header: ["ID", "KIND", "NAME", "CREATED BY"],
                rows: 0
            )
            Self.expectTable(
                try world.ok(["share", "list", "--account", world.acme, "--as", world.olga]),
                header: ["ID", "EMAIL", "NAME", "PRODUCTS", "BILLING", "SINCE"],
                rows: 1
            )
            Self.expectTable(
                try world.ok(["clients", "list", "--agency", initech, "--as", "ian@initech.example"]),
                header: ["AGENCY", "CLIENT", "STATUS", "ROLE", "UPDATED"],
                rows: 1
            )
            Self.expectTable(
                try world.ok(["outbox", "list"]),
                header: ["ID", "KIND", "TO", "USER", "TOKEN", "EXPIRES"],
                rows: 1
            )
            Self.expectTable(
                try world.ok(["accessible", "--user", "olga@acme.example"]),
                header: ["ACCOUNT", "NAME", "THROUGH", "PERMISSIONS"],
                rows: 1
            )
            Self.expectTable(
                try world.ok(["events", "list", "--limit", "3"]),
                header: ["SEQ", "TIME", "ACTOR", "EVENT", "SUBJECT", "CALLER"],
                rows: 3
            )
            // A write's reply: the events it made.
            Self.expectTable(
                try world.ok(["accounts", "rename", world.acme, "--name", "Acme Inc", "--as", world.olga]),
                header: ["SEQ", "TIME", "ACTOR", "EVENT", "SUBJECT", "CALLER"],
                rows: 1
            )
        }
    }

    @Test func rolesAreShownByName() throws {
        try withWorld("roles") { world in
            let vic = try world.ok(["users", "get", world.vic, "--as", world.olga])
            #expect(vic.range(of: #"role:\s+Viewer \(rol_[a-z0-9]+\)"#, options: .regularExpression) != nil, "\(vic)")
            let check = try world.ok([
                "check", "--user", world.olga, "--account", world.acme, "--permission", "view-billing",
            ])
            #expect(check.contains("through: home role Account Owner\n"), "\(check)")
            let accessible = try world.ok(["accessible", "--user", world.olga])
            #expect(accessible.contains("home role Account Owner"), "\(accessible)")
            let list = try world.ok(["users", "list", "--account", world.acme, "--as", world.olga])
            #expect(list.contains("  Viewer  ") && list.contains("  Account Owner  "), "\(list)")
            let globex = try World.find(
                "acc_[a-z0-9]+",
                in: try world.ok([
                    "accounts", "create", "--name", "Globex", "--owner-email", "gus@globex.example",
                    "--owner-first-name", "Gus",
                    "--owner-last-name", "G",
                ])
            )
            let initech = try World.find(
                "acc_[a-z0-9]+",
                in: try world.ok([
                    "accounts", "create", "--name", "Initech", "--kind", "AGENCY", "--owner-email",
                    "ian@initech.example",
                    "--owner-first-name", "Ian", "--owner-last-name", "I",
                ])
            )
            try world.ok(["clients", "add", "--agency", initech, "--client", globex, "--as", "ian@initech.example"])
            try world.ok(["clients", "request", "--agency", initech, "--client", globex, "--as", "ian@initech.example"])
            let approved = try world.ok([
                "clients", "approve", "--agency", initech, "--client", globex, "--as", "gus@globex.example",
            ])
            #expect(
                approved.range(of: #"role:\s+Member \(rol_[a-z0-9]+\)"#, options: .regularExpression) != nil,
                "\(approved)"
            )
            let agencies = try world.ok(["clients", "agencies", "--client", globex, "--as", "gus@globex.example"])
            #expect(agencies.contains("APPROVED  Member  "), "\(agencies)")
            let through = try world.ok([
                "check", "--user", "ian@initech.example", "--account", globex, "--permission", "manage-products",
            ])
            #expect(through.contains("client link of \(initech) as role Member\n"), "\(through)")
        }
    }

    @Test func aUserIsNamedByIdOrEmail() throws {
        try withWorld("emails") { world in
            // ACTIVE: found through their own account.
            let olga = try world.ok(["users", "get", "olga@acme.example"])
            #expect(olga.split(separator: "\n").first?.hasSuffix(" \(world.olga)") == true, "\(olga)")
            // PENDING: in the account of --as, or the one given.
            let vic = try world.ok(["users", "get", "vic@acme.example", "--as", "olga@acme.example"])
            #expect(vic.contains(world.vic), "\(vic)")
            let given = try world.ok(["users", "get", "VIC@acme.example", "--account", world.acme])
            #expect(given.contains(world.vic), "\(given)")
            let lost = try world.run(["users", "get", "vic@acme.example"])
            #expect(lost.status == 2, "\(lost)")
            #expect(
                lost.stderr.hasPrefix("error: NOT_FOUND: no user with the email 'vic@acme.example'")
                    && lost.stderr.contains("--account"),
                "\(lost)"
            )
            let resent = try world.ok(["users", "resend-activation", "vic@acme.example", "--as", "olga@acme.example"])
            #expect(resent.contains(world.vic) && resent.contains("PENDING"), "\(resent)")
            let edited = try world.ok([
                "users", "edit", "vic@acme.example", "--last-name", "Victor", "--account", world.acme, "--as",
                world.olga,
            ])
            #expect(edited.contains("Vic Victor"), "\(edited)")
            let project = try world.ok([
                "projects", "create", "--account", world.acme, "--name", "Apollo", "--visibility", "PRIVATE",
                "--members",
                "vic@acme.example,\(world.olga)", "--as", world.olga,
            ])
            #expect(
                project.contains("members:    \(world.vic),\(world.olga)\n")
                    || project.contains("\(world.olga),\(world.vic)"),
                "\(project)"
            )
            let viewers = try world.ok([
                "users", "list", "--account", world.acme, "--roles", "viewer", "--as", world.olga,
            ])
            #expect(
                viewers.contains("vic@acme.example") && !viewers.contains("olga@acme.example"),
                "a role by name: \(viewers)"
            )
            let deactivated = try world.ok(["users", "deactivate", "vic@acme.example", "--as", "olga@acme.example"])
            #expect(deactivated.contains("DEACTIVATED"), "\(deactivated)")
        }
    }

    // MARK: accounts list

    @Test func accountsListPagesThroughEveryAccountInCreationOrder() throws {
        try withWorld("accounts") { world in
            var created = [world.acme]
            for index in 1...4 {
                created.append(
                    try World.find(
                        "acc_[a-z0-9]+",
                        in: try world.ok([
                            "accounts", "create", "--name", "Co \(index)", "--owner-email",
                            "o\(index)@co\(index).example",
                            "--owner-first-name", "O", "--owner-last-name", "W",
                        ])
                    )
                )
            }
            var seen: [String] = []
            var token: String?
            var pages = 0
            repeat {
                let page = try world.ok(
                    ["accounts", "list", "--page-size", "2"] + (token.map { ["--page-token", $0] } ?? [])
                )
                let lines = page.split(separator: "\n")
                #expect(lines.first?.hasPrefix("ID ") == true, "\(page)")
                seen += lines.dropFirst().filter { $0.hasPrefix("acc_") }.map { String($0.prefix { $0 != " " }) }
                token = lines.last.flatMap { $0.hasPrefix("next page: --page-token ") ? String($0.dropFirst(24)) : nil }
                pages += 1
            } while token != nil && pages < 10
            #expect(seen == created && pages == 3, "\(seen) in \(pages) pages")
            let all = try Self.json(try world.run(["accounts", "list", "--all", "--page-size", "2", "--json"]))
            #expect((all["accounts"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == created)
            #expect(all["nextPageToken"] as? String == "")
            let bad = try world.run(["accounts", "list", "--page-token", "nonsense"])
            #expect(
                bad.status == 2 && bad.stderr.hasPrefix("error: INVALID_ARGUMENT: ")
                    && bad.stderr.contains("start again without a page token"),
                "\(bad)"
            )
            let notAdmin = try world.run(["accounts", "list", "--as", "olga@acme.example"])
            #expect(notAdmin.status == 2 && notAdmin.stderr.hasPrefix("error: PERMISSION_DENIED: "), "\(notAdmin)")
        }
    }

    // MARK: stats

    @Test func statsSaysWhichDaemonHowLongUpAndTheOldestEventHeld() throws {
        try withWorld("stats") { world in
            let stats = try world.run(["stats"])
            #expect(stats.status == 0, "\(stats)")
            #expect(stats.stdout.range(of: #"daemon: +accessd \S+, up [0-9]+s"#, options: .regularExpression) != nil, "\(stats)")
            #expect(stats.stdout.range(of: #"oldest event: +seq 1 "#, options: .regularExpression) != nil, "\(stats)")
            let json = try Self.json(try world.run(["stats", "--json"]))
            #expect(json["uptimeMs"] is NSNumber && json["oldestEventSeq"] as? Int == 1, "\(json)")
            #expect((json["daemonVersion"] as? String)?.isEmpty == false, "\(json)")
        }
    }

    // MARK: --json

    @Test func jsonIsOneDocumentWithNumbersEnumNamesAndEveryField() throws {
        try withWorld("json") { world in
            let stats = try Self.json(try world.run(["stats", "--json"]))
            #expect(stats["revision"] is NSNumber && !(stats["revision"] is String), "\(stats)")
            #expect(stats["accounts"] as? Int == 1 && stats["users"] as? Int == 2, "\(stats)")
            #expect(stats["lastSnapshotRevision"] as? Int == 0, "a zero is there: \(stats)")
            let empty = try Self.json(
                try world.run(["users", "list", "--account", world.acme, "--search", "nobody", "--json"])
            )
            #expect((empty["users"] as? [Any])?.isEmpty == true, "\(empty)")
            #expect(empty["nextPageToken"] as? String == "" && empty["totalMatching"] as? Int == 0, "\(empty)")
            let olga = try Self.json(try world.run(["users", "get", world.olga, "--json"]))
            #expect(olga["status"] as? String == "ACTIVE", "\(olga)")
            #expect((olga["extraPermissions"] as? [Any])?.isEmpty == true, "\(olga)")
            #expect(olga["createdAtMs"] is NSNumber && !(olga["createdAtMs"] is String), "\(olga)")
            let list = try Self.json(try world.run(["users", "list", "--account", world.acme, "--json"]))
            let rows = try #require(list["users"] as? [[String: Any]])
            #expect(Set(rows.compactMap { $0["status"] as? String }) == ["ACTIVE", "PENDING"], "\(rows)")
            #expect(rows.contains { ($0["permissions"] as? [String])?.contains("VIEW_PROJECTS") == true }, "\(rows)")
            let account = try Self.json(try world.run(["accounts", "get", world.acme, "--json"]))
            #expect(account["kind"] as? String == "STANDARD" && account["licensesInUse"] as? Int == 1, "\(account)")
            let dryRun = try Self.json(
                try world.run([
                    "offices", "create", "--account", world.acme, "--name", "Paris", "--as", world.olga, "--dry-run",
                    "--json",
                ])
            )
            #expect(
                (dryRun["office"] as? [String: Any])?["name"] as? String == "Paris",
                "a dry run's JSON is the reply alone"
            )
        }
    }

    // MARK: When the daemon cannot be reached

    @Test func connectionErrorsSayWhatIsWrongAndWhatToLookAt() throws {
        try withWorld("reach") { world in
            let missing = world.directory + "/run/none.sock"
            let noFile = try world.run(["stats", "--socket", missing])
            #expect(noFile.status == 69, "\(noFile)")
            #expect(
                noFile.stderr == "error: cannot reach accessd at \(missing): no such file "
                    + "(is accessd running? under systemd: `systemctl status accessd.socket`)\n",
                "\(noFile)"
            )
            let noDirectory = try world.run(["stats", "--socket", "/nonexistent/accessd.sock"])
            #expect(
                noDirectory.status == 69 && noDirectory.stderr.contains(": no such directory /nonexistent ("),
                "\(noDirectory)"
            )
            let file = world.directory + "/run/plain"
            _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
            let notASocket = try world.run(["stats", "--socket", file])
            #expect(notASocket.status == 69 && notASocket.stderr.contains("\(file) is not a socket"), "\(notASocket)")
            // A socket no one listens on any more (a daemon that stopped without removing it).
            let stale = world.directory + "/run/stale.sock"
            let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { buffer in
                for (index, byte) in stale.utf8.enumerated() { buffer[index] = byte }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            close(descriptor)
            #expect(bound == 0)
            let nobodyListens = try world.run(["stats", "--socket", stale])
            #expect(
                nobodyListens.status == 69 && nobodyListens.stderr.contains(": nothing listens there ("),
                "\(nobodyListens)"
            )
            for outcome in [noFile, noDirectory, notASocket, nobodyListens] {
                #expect(!outcome.stderr.contains("errno") && !outcome.stderr.contains("descriptor"), "\(outcome)")
            }
        }
    }

    @Test(
        .enabled(
            if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
            "runs accessctl as nobody"
        )
    )
    func aUserWhoMayNotOpenTheSocketIsToldAboutTheGroup() throws {
        try withWorld("denied") { world in
            // The daemon's socket directory is 0750 root: nobody (65534, no groups) may not reach the socket.
            chmod(world.directory, 0o755)
            let outcome = try world.run(["stats", "--socket", world.daemon.socket], user: 65534)
            #expect(outcome.status == 69, "\(outcome)")
            #expect(
                outcome.stderr.hasPrefix(
                    "error: cannot reach accessd at \(world.daemon.socket): permission denied (is this user in group accessd?"
                ),
                "\(outcome)"
            )
        }
    }

    // MARK: check-state

    @Test func checkStateOnAMissingDirectoryFails() throws {
        let directory = try AccessctlRig.temporaryDirectory("check-state")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let missing = try rig.accessctl(["check-state", directory + "/nothing"], socket: nil, directory: directory)
        #expect(missing.status == 66, "\(missing)")
        #expect(missing.stderr.hasPrefix("error: no state directory at \(directory)/nothing ("), "\(missing)")
        #expect(missing.stdout.isEmpty, "\(missing)")
        let state = directory + "/state"
        #expect(mkdir(state, 0o700) == 0)
        let empty = try rig.accessctl(["check-state", state], socket: nil, directory: directory)
        #expect(empty.status == 0 && empty.stdout.contains("the daemon starts empty"), "\(empty)")
    }

    // MARK: The config file (item 3)

    @Test func aBrokenConfigFileIsReportedNotPassedOverForAnotherSocket() throws {
        try withWorld("config") { world in
            let config = world.directory + "/accessd.conf"
            func stats(_ text: String?, path: String? = nil, socket: String? = nil) throws -> AccessctlRig.Outcome {
                if let text { try text.write(toFile: config, atomically: false, encoding: .utf8) }
                return try world.rig.accessctl(
                    ["stats"],
                    socket: socket,
                    directory: world.directory,
                    environment: ["ACCESSD_CONFIG": path ?? config]
                )
            }
            let unknown = try stats("socket = \(world.daemon.socket)\nsockte = /elsewhere.sock\n")
            #expect(unknown.status == 78, "\(unknown)")
            #expect(unknown.stderr.hasPrefix("error: \(config):2: unknown key 'sockte'; known: "), "\(unknown)")
            #expect(
                unknown.stderr.contains(
                    "(accessd refuses this file too: fix it, or name the socket with --socket or $ACCESSD_SOCKET)"
                ),
                "\(unknown)"
            )
            let syntax = try stats("# accessd\nsocket \(world.daemon.socket)\n")
            #expect(
                syntax.status == 78 && syntax.stderr.hasPrefix("error: \(config):2: expected key = value"),
                "\(syntax)"
            )
            let unreadable = try stats(nil, path: world.directory)
            #expect(unreadable.status == 78, "\(unreadable)")
            #expect(
                unreadable.stderr.hasPrefix("error: cannot read the config file \(world.directory): is a directory"),
                "\(unreadable)"
            )
            let absent = try stats(nil, path: world.directory + "/absent.conf")
            #expect(absent.status == 78 && absent.stderr.contains("no such file or directory"), "\(absent)")
            // Keys accessd knows but accessctl does not use are fine.
            let daemonKeys = try stats(
                "socket = \(world.daemon.socket)\nmax_connections = 5\nfsync = interval\nstate_dir = /x\n"
            )
            #expect(daemonKeys.status == 0 && daemonKeys.stdout.contains("accounts:"), "\(daemonKeys)")
            // $ACCESSD_SOCKET wins over the file: then the file is not read.
            let named = try stats("sockte = 1\n", socket: world.daemon.socket)
            #expect(named.status == 0, "\(named)")
            // The file found by the default rules ($XDG_CONFIG_HOME/accessd/accessd.conf) as well.
            let home = world.directory + "/xdg"
            try FileManager.default.createDirectory(atPath: home + "/accessd", withIntermediateDirectories: true)
            try "socket = \(world.daemon.socket)\nsokcet = x\n".write(
                toFile: home + "/accessd/accessd.conf",
                atomically: false,
                encoding: .utf8
            )
            let found = try world.rig.accessctl(
                ["stats"],
                socket: nil,
                directory: world.directory,
                environment: ["XDG_CONFIG_HOME": home]
            )
            #expect(
                found.status == 78
                    && found.stderr.hasPrefix("error: \(home)/accessd/accessd.conf:2: unknown key 'sokcet'"),
                "\(found)"
            )
        }
    }
}
