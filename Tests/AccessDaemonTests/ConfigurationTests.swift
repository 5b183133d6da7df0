import AccessDaemon
import AccessPaths
import Foundation
import Testing

/// spec/protocol.md, "Where things are", and the config file.
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
}
