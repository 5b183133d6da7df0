import AccessStore
import AccessDaemon
import AccessPaths
import Foundation
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

    /// The C client validates a config file against the same keys (clients/c/src/discovery.c).
    @Test func theCClientKnowsEveryConfigKey() throws {
        let source = try String(
            contentsOf: SystemdTestSupport.packageRoot.appendingPathComponent("clients/c/src/discovery.c"), encoding: .utf8)
        let start = try #require(source.range(of: "config_keys[] = {"))
        let end = try #require(source.range(of: "};", range: start.upperBound..<source.endIndex))
        let list = source[start.upperBound..<end.lowerBound]
        let keys = Set(list.split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) })
        #expect(keys == ConfigFile.keys)
    }

    /// Every key of the config file is in the README's configuration reference.
    @Test func theReadmeDocumentsEveryConfigKey() throws {
        let readme = try String(contentsOf: SystemdTestSupport.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let missing = ConfigFile.keys.sorted().filter { !readme.contains("`\($0)`") }
        #expect(missing.isEmpty, "the README does not say what these do: \(missing)")
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
