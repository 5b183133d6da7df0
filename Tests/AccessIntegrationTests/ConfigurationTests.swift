import AccessStore
import AccessDaemon
import AccessPaths
import AccessTestSupport
import Foundation
import Logging
import Testing

/// docs/protocol.md, "Where things are", and the config file.
@Suite struct ConfigurationTests {
    @Test func aFlagWinsThenTheEnvironmentThenTheFileThenSystemdThenXDG() throws {
        let file = try ConfigFile(text: "socket = /etc-says/a.sock\nstate_dir = /etc-says/state\n", path: "test.conf")
        var environment = [
            "ACCESSD_SOCKET": "/env/a.sock", "RUNTIME_DIRECTORY": "/run/accessd:/run/other", "XDG_RUNTIME_DIR": "/run/user/1000",
            "ACCESSD_STATE_DIR": "/env/state", "STATE_DIRECTORY": "/var/lib/accessd", "XDG_STATE_HOME": "/home/u/.local/state",
        ]
        #expect(DaemonPaths.socketPath(flag: "/flag.sock", environment: environment, file: file) == "/flag.sock")
        #expect(DaemonPaths.socketPath(flag: nil, environment: environment, file: file) == "/env/a.sock")
        environment["ACCESSD_SOCKET"] = nil
        environment["ACCESSD_STATE_DIR"] = nil
        #expect(DaemonPaths.socketPath(flag: nil, environment: environment, file: file) == "/etc-says/a.sock")
        #expect(DaemonPaths.stateDirectory(flag: nil, environment: environment, file: file) == "/etc-says/state")
        #expect(DaemonPaths.socketPath(flag: nil, environment: environment) == "/run/accessd/accessd.sock")
        #expect(DaemonPaths.stateDirectory(flag: nil, environment: environment) == "/var/lib/accessd")
        environment["RUNTIME_DIRECTORY"] = nil
        environment["STATE_DIRECTORY"] = nil
        #expect(DaemonPaths.socketPath(flag: nil, environment: environment) == "/run/user/1000/accessd/accessd.sock")
        #expect(DaemonPaths.stateDirectory(flag: nil, environment: environment) == "/home/u/.local/state/accessd")
        #expect(DaemonPaths.stateDirectory(flag: nil, environment: ["HOME": "/home/u"]) == "/home/u/.local/state/accessd")
    }

    @Test func theConfigFileSetsLimitsAndAdministrators() throws {
        let file = try ConfigFile(
            text: """
                # accessd
                admin_uids = 1001, 1002
                admin_gids = 27
                max_calls_per_connection = 64   # fewer
                max_connections = 10
                snapshot_interval_s = 5
                activation_lifetime_s = 3600
                """, path: "test.conf")
        var configuration = DaemonConfiguration(socketPath: "/s", stateDirectory: "/d")
        try file.apply(to: &configuration)
        #expect(configuration.administratorUIDs == [1001, 1002])
        #expect(configuration.administratorGIDs == [27])
        #expect(configuration.maximumCallsPerConnection == 64)
        #expect(configuration.maximumConnections == 10)
        #expect(configuration.snapshotIntervalSeconds == 5)
        #expect(configuration.policy.activationLifetimeMilliseconds == 3_600_000)
    }

    @Test func aBadConfigFileIsRefusedWithItsLine() throws {
        #expect(throws: ConfigFile.Invalid.self) { try ConfigFile(text: "socket /x", path: "a.conf") }
        do {
            _ = try ConfigFile(text: "\n\nsokcet = /x", path: "a.conf")
            Issue.record("an unknown key was accepted")
        } catch let error as ConfigFile.Invalid {
            #expect(error.description.hasPrefix("a.conf:3: unknown key 'sokcet'"))
        }
        var configuration = DaemonConfiguration(socketPath: "/s", stateDirectory: "/d")
        let file = try ConfigFile(text: "max_connections = lots", path: "a.conf")
        #expect(throws: ConfigFile.Invalid.self) { try file.apply(to: &configuration) }
    }
}

/// accessctl finds the socket by the daemon's rules, the config file included.
@Suite(.serialized) struct SocketDiscoveryTests {
    @Test func accessctlFindsTheSocketNamedInTheConfigFile() throws {
        let binaries = AccessdBinaryTests()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("accessd-conf-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try binaries.start(directory: directory)
        defer { _ = binaries.stop(daemon) }
        let config = directory + "/accessd.conf"
        try "socket = \(daemon.socket)\n".write(toFile: config, atomically: false, encoding: .utf8)
        let process = Process()
        process.executableURL = AdministratorPeerTests.accessctl
        process.arguments = ["stats"]
        process.environment = ["ACCESSD_CONFIG": config, "PATH": "/usr/bin:/bin"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)")
        #expect(output.contains("revision 0"), "\(output)")
    }

    /// The quoted strings of the C array `name` in clients/c/src/discovery.c.
    static func cList(_ name: String) throws -> [String] {
        let source = try String(
            contentsOf: SystemdTestSupport.packageRoot.appendingPathComponent("clients/c/src/discovery.c"), encoding: .utf8)
        let start = try #require(source.range(of: "\(name)[] = {"), "discovery.c has no \(name)[]")
        let end = try #require(source.range(of: "};", range: start.upperBound..<source.endIndex))
        let list = source[start.upperBound..<end.lowerBound]
        return list.split(separator: "\"", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }
            .map { String($0.element) }
    }

    /// The C client validates a config file against the same keys (clients/c/src/discovery.c).
    @Test func theCClientKnowsEveryConfigKey() throws {
        let keys = try Self.cList("config_keys")
        #expect(Set(keys) == Set(ConfigKey.allCases.map(\.name)), "clients/c/src/discovery.c's config_keys[] against ConfigKey")
        #expect(Set(keys) == ConfigFile.keys)
        #expect(keys.count == Set(keys).count, "a key twice in config_keys[]")
    }

    /// The C client reads for socket discovery the keys the table marks, and only those.
    @Test func theCClientReadsTheKeysTheTableSaysDiscoveryReads() throws {
        let read = try Self.cList("discovery_keys")
        #expect(read == ConfigKey.discoveryKeys.map(\.name), "clients/c/src/discovery.c's discovery_keys[] against ConfigKey.readByDiscovery")
        #expect(ConfigKey.discoveryKeys == [.socket], "accessctl's SocketDiscovery reads only the socket (DaemonPaths.socketPath)")
    }

    /// Every key of the config file is in the README's configuration reference.
    @Test func theReadmeDocumentsEveryConfigKey() throws {
        let readme = try String(contentsOf: SystemdTestSupport.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let missing = ConfigKey.allCases.map(\.name).filter { !readme.contains("`\($0)`") }
        #expect(missing.isEmpty, "the README does not say what these do: \(missing)")
    }

    /// The README's table of keys is the table's: no key missing, none the
    /// code does not have, every range, default and meaning as the code says
    /// (scripts/config-keys.sh writes it).
    @Test func theReadmesTableOfConfigKeysIsTheTableInTheCode() throws {
        let readme = try String(contentsOf: SystemdTestSupport.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let begin = try #require(readme.range(of: "<!-- config keys: begin -->\n"), "the README has no config keys markers")
        let end = try #require(readme.range(of: "\n<!-- config keys: end -->", range: begin.upperBound..<readme.endIndex))
        let shown = String(readme[begin.upperBound..<end.lowerBound])
        let named = shown.split(separator: "\n").filter { $0.hasPrefix("| `") }.compactMap { $0.split(separator: "`").dropFirst().first }
            .map(String.init)
        let table = ConfigKey.allCases.map(\.name)
        #expect(table.filter { !named.contains($0) }.isEmpty, "keys the README's table misses: \(table.filter { !named.contains($0) })")
        #expect(named.filter { !table.contains($0) }.isEmpty, "keys the README documents that the code does not have: \(named.filter { !table.contains($0) })")
        #expect(shown == ConfigKey.markdownTable, "the README's table of config keys is not the code's: run scripts/config-keys.sh")
    }

    /// Issue 12: the peer classes and the limits a peer can reach, from the file.
    @Test func theConfigFileSetsPeerClassesAndThePerPeerLimits() throws {
        let text = """
            service_uids = 1001
            service_gids = 2001, 2002
            read_only_uids = 1002
            read_only_gids = 2003
            default_peer_class = read-only
            max_connections_per_uid = 7
            admin_reserved_connections = 3
            max_inbound_bytes_per_uid = 65536
            outbound_high_water_bytes = 8192
            revision_wait_ms = 50
            max_revision_wait_ms = 900
            write_rate_per_uid = 2.5
            write_burst_per_uid = 10
            max_idempotency_key_bytes = 64
            max_idempotency_keys_per_uid = 11
            max_idempotency_keys = 12
            """
        var configuration = DaemonConfiguration(socketPath: "/s", stateDirectory: "/d")
        try ConfigFile(text: text, path: "t.conf").apply(to: &configuration)
        #expect(configuration.peers.serviceUIDs == [1001] && configuration.peers.serviceGIDs == [2001, 2002])
        #expect(configuration.peers.readOnlyUIDs == [1002] && configuration.peers.readOnlyGIDs == [2003])
        #expect(configuration.peers.unlisted == .readOnly)
        #expect(configuration.maximumConnectionsPerUID == 7 && configuration.connectionsReservedForAdministrators == 3)
        #expect(configuration.maximumInboundBytesPerUID == 65536 && configuration.outboundHighWaterBytes == 8192)
        #expect(configuration.defaultMinRevisionWaitMilliseconds == 50 && configuration.maximumRevisionWaitMilliseconds == 900)
        #expect(configuration.writesPerSecondPerUID == 2.5 && configuration.writeBurstPerUID == 10)
        #expect(configuration.maximumIdempotencyKeyBytes == 64)
        #expect(configuration.maximumIdempotencyKeysPerUID == 11 && configuration.maximumIdempotencyKeys == 12)
        for bad in ["default_peer_class = administrator", "write_rate_per_uid = fast", "fsync = sometimes"] {
            var other = DaemonConfiguration(socketPath: "/s", stateDirectory: "/d")
            #expect {
                try ConfigFile(text: "# a comment\n" + bad, path: "t.conf").apply(to: &other)
            } throws: { error in
                "\(error)".hasPrefix("t.conf:2: ")
            }
        }
    }

    /// The class of a peer: root always administers; a uid listed wins over a group; then the default.
    @Test func peerClassesByUIDThenByAnyGroupThenTheDefault() {
        var classes = PeerClasses()
        classes.administratorGIDs = [10]
        classes.readOnlyUIDs = [1002]
        classes.readOnlyGIDs = [20]
        classes.serviceGIDs = [30]
        #expect(classes.classify(uid: 0, gid: 0, groups: []) == .administrator)
        #expect(classes.classify(uid: 1001, gid: 100, groups: [10]) == .administrator, "a supplementary group counts")
        #expect(classes.classify(uid: 1002, gid: 100, groups: [10]) == .readOnly, "a uid listed is more specific than a group")
        #expect(classes.classify(uid: 1003, gid: 20, groups: [30]) == .service, "services before read-only among groups")
        #expect(classes.classify(uid: 1004, gid: 20, groups: []) == .readOnly)
        #expect(classes.classify(uid: 1005, gid: 100, groups: []) == .service, "unlisted peers are services by default")
        classes.unlisted = .none
        #expect(classes.classify(uid: 1005, gid: 100, groups: []) == PeerClass.none)
    }
}

/// ConfigKey: the one table of config keys, and what it drives.
@Suite struct ConfigKeyTableTests {
    /// The configuration `text` gives, as the loader makes it (paths by `DaemonPaths`, then the file).
    static func configuration(_ text: String) throws -> DaemonConfiguration {
        let file = try ConfigFile(text: text, path: "t.conf")
        var configuration = DaemonConfiguration(
            socketPath: DaemonPaths.socketPath(flag: nil, environment: [:], file: file),
            stateDirectory: DaemonPaths.stateDirectory(flag: nil, environment: [:], file: file))
        try file.apply(to: &configuration)
        return configuration
    }

    /// A value `key` takes that is not its default.
    static func otherValue(of key: ConfigKey) -> String {
        let spec = key.spec
        switch spec.values {
        case .path: return "/elsewhere/\(key.name)"
        case .ids: return "4242, 4343"
        case .whole(let range): return "\(spec.defaultValue == "\(range.lowerBound)" ? range.upperBound : range.lowerBound)"
        case .decimal(let range): return "\(Double(spec.defaultValue ?? "") == range.lowerBound ? range.upperBound : range.lowerBound)"
        case .oneOf(let words): return words.first { $0 != spec.defaultValue }!
        case .promFile: return "/var/lib/node-exporter/\(key.name).prom"
        case .word: return "other_\(key.name)"
        case .endpoints: return "db1.example:5433,/run/postgresql"
        }
    }

    /// Keys that are a field of the configuration (not log_level, the
    /// executable's, nor a former name).
    static let fieldKeys = ConfigKey.allCases.filter { $0 != .logLevel && $0.spec.formerNameOf == nil }

    /// Setting one key changes that key alone, and the reload diff names it
    /// where the table says (reload or restart): each key has a field of its own.
    @Test(arguments: fieldKeys)
    func eachKeySetsItsOwnFieldAndTheReloadDiffNamesItAsTheTableSays(_ key: ConfigKey) throws {
        let base = try Self.configuration("")
        let changed = try Self.configuration("\(key.name) = \(Self.otherValue(of: key))")
        let change = ConfigurationChange(from: base, to: changed)
        switch key.spec.reload {
        case .applied: #expect(change.applied == [key.name] && change.fixed.isEmpty, "\(change)")
        case .restart: #expect(change.fixed == [key.name] && change.applied.isEmpty, "\(change)")
        }
    }

    /// The default the table (and so the README and --help-config) shows is
    /// the one in force when the file does not set the key.
    @Test(arguments: ConfigKey.allCases.filter { $0.spec.defaultValue != nil && $0.spec.formerNameOf == nil })
    func theTablesDefaultIsTheValueInForceWithoutTheKey(_ key: ConfigKey) throws {
        let text = "\(key.name) = \(key.spec.defaultValue!)"
        let file = try ConfigFile(text: text, path: "t.conf")
        #expect(try file.value(of: key) != nil, "the table's default is no value of its key")
        let change = ConfigurationChange(from: try Self.configuration(""), to: try Self.configuration(text))
        #expect(change.isEmpty, "'\(text)' changes \(change)")
    }

    /// A former name sets its key's field, and both at once are refused at the former name's line.
    @Test func aFormerNameSetsItsKeyAndBothAtOnceAreRefused() throws {
        let change = ConfigurationChange(from: try Self.configuration(""), to: try Self.configuration("event_retention = 5"))
        #expect(change.fixed == ["event_memory_count"])
        #expect(try Self.configuration("event_retention = 5").eventMemoryCount == 5)
        for text in ["event_memory_count = 5\nevent_retention = 6", "event_retention = 6\n\nevent_memory_count = 5"] {
            #expect {
                try Self.configuration(text)
            } throws: { error in
                "\(error)" == "t.conf:\(text.hasPrefix("event_retention") ? 1 : 2): event_retention is the former name of event_memory_count; set only event_memory_count"
            }
        }
    }

    /// A reload puts the reloadable keys in force and keeps the old values of
    /// those that need a restart, naming each where the table says.
    @Test func aReloadAppliesTheReloadableKeysAndKeepsTheOthers() throws {
        let base = try Self.configuration("")
        let text = Self.fieldKeys.map { "\($0.name) = \(Self.otherValue(of: $0))" }.joined(separator: "\n")
        let new = try Self.configuration(text)
        let live = LiveConfiguration(base)
        let change = live.replace(with: new)
        #expect(change.applied == Self.fieldKeys.filter { $0.spec.reload == .applied }.map(\.name))
        #expect(change.fixed == Self.fieldKeys.filter { $0.spec.reload == .restart }.map(\.name))
        let after = ConfigurationChange(from: live.current, to: new)
        #expect(after.applied.isEmpty, "every reloadable key is in force: \(after.applied)")
        #expect(after.fixed == change.fixed, "every key that needs a restart kept its old value")
    }

    /// The words of `fsync`, `default_peer_class` and `log_level` are those
    /// of the enums they become (`default_peer_class` never `administrator`).
    @Test func theTablesWordsAreTheEnumsRawValues() {
        func words(_ key: ConfigKey) -> [String] {
            if case .oneOf(let words) = key.spec.values { return words }
            return []
        }
        #expect(words(.fsync) == FsyncPolicy.allCases.map(\.rawValue))
        #expect(words(.defaultPeerClass) == PeerClass.allCases.filter { $0 != .administrator }.map(\.rawValue))
        #expect(words(.logLevel) == Logger.Level.allCases.map(\.rawValue))
    }

    /// Each kind of value the table refuses is refused with the key's line
    /// (never line 0) and the words of today's messages.
    @Test(arguments: ConfigKey.allCases.filter { $0.spec.values != .path })
    func aValueTheTableRefusesNamesItsLine(_ key: ConfigKey) throws {
        let bad: [String] =
            switch key.spec.values {
            case .path: []
            case .ids: ["0, root"]
            case .whole(let range): ["lots", "\(range.upperBound + 1)", "\(range.lowerBound - 1)"]
            case .decimal(let range): ["nan", "\(range.upperBound * 2)"]
            case .oneOf: ["sometimes", "ALWAYS"]
            case .promFile: ["relative.prom", "/var/lib/accessd.txt"]
            case .word: ["two words", "semi;colon", "'quoted'"]
            case .endpoints: ["db1:notaport", "relative/dir", "db1:70000"]
            }
        let start =
            switch key.spec.values {
            case .ids: "must be a comma-separated list of numbers"
            case .whole(let range): "must be a whole number in \(range)"
            case .decimal: "must be a number in"
            case .oneOf(let words): "must be \(ConfigKey.Values.either(words))"
            case .promFile: "must be an absolute path ending in .prom"
            case .word: "must be a name of at most 63"
            case .endpoints: "must be comma-separated servers"
            case .path: ""
            }
        for value in bad {
            let file = try ConfigFile(text: "# accessd\nsocket = /s\n\(key.name) = \(value)\n", path: "t.conf")
            let prefix = "t.conf:3: \(key.name) \(start)"
            #expect(throws: ConfigFile.Invalid.self) { try file.value(of: key) }
            do {
                _ = try file.value(of: key)
            } catch {
                #expect(error.description.hasPrefix(prefix) && error.description.hasSuffix("'\(value)'"), "\(error)")
            }
            guard key != .logLevel else { continue }  // the loader's: CheckConfigTests
            var configuration = DaemonConfiguration(socketPath: "/s", stateDirectory: "/d")
            #expect {
                try file.apply(to: &configuration)
            } throws: { error in
                "\(error)".hasPrefix(prefix)
            }
        }
    }

    /// `accessd --help-config` prints every key with its default and whether a reload applies it.
    @Test func helpConfigListsEveryKey() throws {
        let binary = try #require(AccessdBinaryTests.binary)
        let result = try SystemdTestSupport.run(binary.path, ["--help-config"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.trimmingCharacters(in: .newlines) == ConfigKey.helpText)
        for key in ConfigKey.allCases {
            #expect(result.stdout.contains("\n  \(key.name) ("), "--help-config does not list \(key.name)")
        }
        #expect(result.stdout.contains("  max_revision_wait_ms (1...3600000; default: 30000; reload)"), "\(result.stdout)")
        #expect(result.stdout.contains("  fsync (always, interval, none; default: always; restart)"), "\(result.stdout)")
        let help = try SystemdTestSupport.run(binary.path, ["--help"])
        #expect(help.stdout.contains("--help-config"), "--help names --help-config")
    }
}

/// `--fsync` and `--log-level` are enums: `--help` lists their values, and
/// the parser refuses any other (exit 64, the values named).
@Suite struct AccessdEnumOptionTests {
    @Test func helpListsTheValuesOfFsyncAndLogLevel() throws {
        let binary = try #require(AccessdBinaryTests.binary)
        let help = try SystemdTestSupport.run(binary.path, ["--help"])
        #expect(help.status == 0)
        let flat = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(flat.contains("(values: always, interval, none)"), "\(help.stdout)")
        #expect(flat.contains("(values: trace, debug, info, notice, warning, error, critical)"), "\(help.stdout)")
    }

    @Test(arguments: [
        (["--fsync", "sometimes"], "The value 'sometimes' is invalid for '--fsync <fsync>'. Please provide one of 'always', 'interval' or 'none'."),
        (["--log-level", "loud"], "The value 'loud' is invalid for '--log-level <log-level>'"),
    ])
    func aBadValueIsRefusedByTheParser(arguments: [String], message: String) throws {
        let binary = try #require(AccessdBinaryTests.binary)
        let directory = SystemdTestSupport.temporaryDirectory("enum-option")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try SystemdTestSupport.run(
            binary.path, arguments + ["--socket", directory + "/run/a.sock", "--state-dir", directory + "/state"])
        #expect(result.status == ExitStatus.usage.code, "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/state"), "it started")
    }

    @Test func aGoodValueIsInForce() throws {
        let binary = try #require(AccessdBinaryTests.binary)
        let result = try SystemdTestSupport.run(binary.path, ["--check-config", "--log-level", "error", "--fsync", "none", "--config", "/dev/null"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("log_level = error"), "\(result.stdout)")
    }
}
