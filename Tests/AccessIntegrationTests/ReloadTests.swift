import AccessStore
import AccessDaemon
import AccessTestSupport
import AccessWire
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 5: SIGHUP reloads the config (log level, limits, administrators,
/// intervals) without dropping connections and logs what changed; a config
/// error keeps the old config and says why; RELOADING=1 ... READY=1 around it.
@Suite(.serialized) struct ReloadTests {
    struct Setup {
        let directory: String
        let configPath: String
        let socketPath: String
        let notify: NotifySocket
        let daemon: DaemonProcess
    }

    func start(config: String, name: String) throws -> Setup {
        let directory = SystemdTestSupport.temporaryDirectory(name)
        let configPath = directory + "/accessd.conf"
        let socketPath = directory + "/run/accessd.sock"
        try (config + "\nsocket = \(socketPath)\nstate_dir = \(directory)/state\n").write(
            toFile: configPath, atomically: true, encoding: .utf8)
        let notify = try NotifySocket(path: directory + "/notify.sock")
        let daemon = try DaemonProcess.accessd(
            arguments: ["--config", configPath], environment: ["NOTIFY_SOCKET": notify.path], directory: directory)
        #expect(notify.waitFor("READY=1") != nil, "\(daemon.stderr)")
        return Setup(directory: directory, configPath: configPath, socketPath: socketPath, notify: notify, daemon: daemon)
    }

    /// Sends SIGHUP and waits for RELOADING=1, then READY=1.
    func reload(_ setup: Setup, config: String) throws {
        try config.write(toFile: setup.configPath, atomically: true, encoding: .utf8)
        setup.daemon.signal(SIGHUP)
        #expect(setup.notify.waitFor("RELOADING=1") != nil, "RELOADING=1 never came: \(setup.daemon.stderr)")
        #expect(setup.notify.waitFor("READY=1") != nil, "READY=1 never followed RELOADING=1: \(setup.daemon.stderr)")
    }

    /// A frame longer than the limit gets RESOURCE_EXHAUSTED with id 0.
    func frameOf(_ size: Int, isRefusedOn connection: RawConnection) throws -> Bool {
        try connection.writeFrame([UInt8](repeating: 0x0A, count: size))
        let response = try connection.readResponse()
        return response.id == 0 && response.code == 8
    }

    @Test func sighupAppliesAChangedConfigToConnectionsAlreadyOpenAndLogsTheChangedKeys() throws {
        let setup = try start(config: "log_level = warning\nmax_frame_bytes = 4194304", name: "reload")
        defer { try? FileManager.default.removeItem(atPath: setup.directory) }
        let connection = try RawConnection(path: setup.socketPath)
        let before = try connection.call(Methods.getStats, Accessd_V1_GetStatsRequest(), id: 1)
        #expect(before.code == 0)
        #expect(!setup.daemon.stderr.contains("accessd.method=/accessd.v1.AdminService/GetStats"), "no call lines at warning")

        try reload(
            setup,
            config: """
                log_level = debug
                max_frame_bytes = 1024
                socket = \(setup.socketPath)
                state_dir = \(setup.directory)/elsewhere
                """)
        #expect(setup.daemon.waitForOutput("reloaded the configuration"), "\(setup.daemon.stderr)")
        #expect(setup.daemon.stderr.contains("changed=log_level,max_frame_bytes"), "\(setup.daemon.stderr)")
        #expect(setup.daemon.stderr.contains("keys=state_dir"), "a state_dir change is reported and not applied: \(setup.daemon.stderr)")

        // The same connection: still open, now logged at debug, now limited to 1024-byte frames.
        let after = try connection.call(Methods.getStats, Accessd_V1_GetStatsRequest(), id: 2)
        #expect(after.code == 0)
        let stats = try Accessd_V1_GetStatsResponse(serializedBytes: after.payload)
        #expect(stats.stateDirectory == setup.directory + "/state", "the state directory stays until a restart")
        #expect(setup.daemon.waitForOutput("accessd.method=/accessd.v1.AdminService/GetStats"), "debug call lines after the reload")
        // Log metadata: namespaced keys, the connection's number and the call's values as metadata, not in the message.
        let callLine = setup.daemon.stderr.split(separator: "\n").first { $0.contains("accessd.method=/accessd.v1.AdminService/GetStats") }
        #expect(callLine.map { $0.contains(" call ") || $0.contains(">call ") || $0.contains(": call ") } == true, "\(callLine ?? "")")
        #expect(callLine?.contains("accessd.connection=") == true && callLine?.contains("accessd.status=OK") == true, "\(callLine ?? "")")
        #expect(try frameOf(2000, isRefusedOn: connection), "the new max_frame_bytes applies to an open connection")

        setup.daemon.signal(SIGTERM)
        #expect(setup.daemon.wait() == 0, "\(setup.daemon.stderr)")
    }

    @Test func sighupWithABrokenConfigKeepsTheOldOneAndSaysWhereItIsBroken() throws {
        let setup = try start(config: "log_level = warning\nmax_frame_bytes = 1024", name: "reload-bad")
        defer { try? FileManager.default.removeItem(atPath: setup.directory) }
        let connection = try RawConnection(path: setup.socketPath)

        try reload(setup, config: "log_level = warning\nmax_frame_bytes = 4194304\nmax_connections = lots\n")
        #expect(setup.daemon.waitForOutput("reload failed; keeping the old configuration"), "\(setup.daemon.stderr)")
        #expect(setup.daemon.stderr.contains("\(setup.configPath):3: max_connections"), "\(setup.daemon.stderr)")

        try reload(setup, config: "log_level = chatty\n")
        #expect(setup.daemon.waitForOutput("\(setup.configPath):1: unknown log level 'chatty'"), "\(setup.daemon.stderr)")

        let stats = try connection.call(Methods.getStats, Accessd_V1_GetStatsRequest(), id: 1)
        #expect(stats.code == 0, "the connection stays open")
        #expect(try frameOf(2000, isRefusedOn: connection), "the old max_frame_bytes (1024) is still in force")
        #expect(!setup.daemon.stderr.contains("reloaded the configuration"))

        setup.daemon.signal(SIGTERM)
        #expect(setup.daemon.wait() == 0, "\(setup.daemon.stderr)")
    }

    @Test func theChangeBetweenTwoConfigurationsNamesFileKeys() {
        let old = DaemonConfiguration(socketPath: "/a", stateDirectory: "/s")
        var new = old
        new.administratorGIDs = [27]
        new.snapshotIntervalSeconds = 5
        new.socketPath = "/b"
        let change = ConfigurationChange(from: old, to: new)
        #expect(change.applied == ["admin_gids", "snapshot_interval_s"])
        #expect(change.fixed == ["socket"])
        let live = LiveConfiguration(old)
        let generation = live.generation
        live.replace(with: new)
        #expect(live.generation != generation)
        #expect(live.current.administratorGIDs == [27])
        #expect(live.current.socketPath == "/a", "the socket stays until a restart")
    }
}
