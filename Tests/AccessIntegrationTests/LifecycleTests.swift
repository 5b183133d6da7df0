import AccessStore
import AccessTestSupport
import AccessWire
import Foundation
import Logging
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's lifecycle through the real binary and its ServiceGroup
/// (docs/ARCHITECTURE.md, "The daemon's life"): SIGTERM while recovering stops
/// at once, exit 0, nothing written; SIGTERM while a snapshot is being written
/// leaves a whole snapshot or none. (SIGTERM during a stream:
/// `ShutdownTests.sigtermDuringAStreamSendsGoAwayWritesTheFinalSnapshotAndExitsZero`.)
@Suite(.serialized) struct LifecycleTests {
    /// A state directory holding `accounts` accounts in its journal alone (no
    /// snapshot): written through the daemon with fsync off, pipelined, then
    /// the daemon killed with SIGKILL so that no final snapshot is written.
    static func journalOnlyState(accounts: Int, in directory: String) throws -> String {
        let state = directory + "/state"
        let socket = directory + "/build.sock"
        try "snapshot_interval_s = 86400\nsnapshot_every_records = 1000000000\n"
            .write(toFile: directory + "/build.conf", atomically: true, encoding: .utf8)
        let builder = try DaemonProcess.accessd(
            arguments: ["--socket", socket, "--state-dir", state, "--config", directory + "/build.conf", "--fsync", "none", "--log-level", "warning"],
            directory: directory)
        #expect(builder.waitForOutput("listening on"), "\(builder.stderr)")
        let connection = try RawConnection(path: socket)
        var next = 0
        while next < accounts {
            let batch = min(100, accounts - next)  // under max_calls_in_flight (128)
            var requests: [Accessd_V1_Request] = []
            for n in next..<next + batch {
                var create = Accessd_V1_CreateAccountRequest()
                create.name = "Account \(n)"
                create.fullAccessLicenses = 2
                create.ownerEmail = "owner\(n)@example.com"
                create.ownerFirstName = "Owner"
                create.ownerLastName = "Number\(n)"
                requests.append(try Accessd_V1_Request(id: UInt64(n + 1), method: Methods.createAccount.path, create))
            }
            try connection.writeBytes(try RawConnection.frames(requests))
            for _ in 0..<batch {
                let reply = try connection.readResponse(timeout: 30)
                #expect(reply.code == 0, "\(reply.message)")
                if reply.code != 0 { throw RawConnection.Failure(description: reply.message) }
            }
            next += batch
        }
        builder.signal(SIGKILL)
        _ = builder.wait()
        unlink(socket)
        return state
    }

    /// Every file of a directory and its bytes.
    static func contents(_ directory: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            files[name] = FileManager.default.contents(atPath: directory + "/" + name)
        }
        return files
    }

    @Test func sigtermWhileRecoveringStopsWithinSecondsExitsZeroAndWritesNothing() throws {
        let directory = SystemdTestSupport.temporaryDirectory("life-recover")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let state = try Self.journalOnlyState(accounts: 30_000, in: directory)
        let before = try Self.contents(state)
        #expect(!before.keys.contains { $0.hasPrefix("snapshot-") }, "the journal alone: \(before.keys.sorted())")

        let daemon = try DaemonProcess.accessd(
            arguments: ["--socket", directory + "/run/accessd.sock", "--state-dir", state], directory: directory)
        #expect(daemon.waitForOutput("recovering the state", timeout: 20), "\(daemon.stderr)")
        daemon.signal(SIGTERM)
        let asked = Date()
        let status = daemon.wait(timeout: 10)
        #expect(status == 0, "\(daemon.stderr)")
        #expect(Date().timeIntervalSince(asked) < 5, "stopped within a few seconds")
        #expect(daemon.stderr.contains("stopped while recovering; nothing was written"), "\(daemon.stderr)")
        #expect(!daemon.stdout.contains("listening on"), "never served")
        let after = try Self.contents(state)
        #expect(after.keys.sorted() == before.keys.sorted(), "no file made or removed: \(after.keys.sorted())")
        // `lock` holds the pid of whoever holds it (it is the state directory's flock, not state).
        for (name, bytes) in before where name != "lock" { #expect(after[name] == bytes, "\(name) unchanged") }

        // And the next start recovers everything.
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let recovered = try StateDirectory(path: state).recover(readOnly: true, logger: logger)
        #expect(recovered.durable.state.accounts.count == 30_000)
    }

    @Test func sigtermDuringASnapshotLeavesAWholeSnapshotOrNoneAndTheStateLoads() throws {
        let directory = SystemdTestSupport.temporaryDirectory("life-snapshot")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let state = try Self.journalOnlyState(accounts: 10_000, in: directory)
        let socket = directory + "/run/accessd.sock"
        let daemon = try DaemonProcess.accessd(arguments: ["--socket", socket, "--state-dir", state], directory: directory)
        #expect(daemon.waitForOutput("listening on", timeout: 60), "\(daemon.stderr)")
        // AdminService.Snapshot, and SIGTERM while it is being written.
        let admin = try RawConnection(path: socket)
        try admin.send(try Accessd_V1_Request(id: 1, method: Methods.snapshot.path, Accessd_V1_SnapshotRequest()))
        usleep(20_000)
        daemon.signal(SIGTERM)
        // The call is answered (the drain waits for it), then GoAway and the close.
        var answer: Accessd_V1_Response?
        while let frame = try admin.readFrame(timeout: 30) {
            if case .response(let response) = frame.kind, response.id == 1 { answer = response }
        }
        #expect(answer?.code == 0, "the snapshot in flight completes: \(String(describing: answer))")
        #expect(daemon.wait(timeout: 60) == 0, "\(daemon.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: state)
        #expect(!names.contains { $0.hasSuffix(".tmp") }, "no partial file: \(names.sorted())")
        #expect(names.contains { $0.hasPrefix("snapshot-") }, "\(names.sorted())")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let recovered = try StateDirectory(path: state).recover(readOnly: true, logger: logger)
        #expect(recovered.snapshot != nil, "the newest snapshot holds")
        #expect(recovered.durable.state.accounts.count == 10_000)
    }
}
