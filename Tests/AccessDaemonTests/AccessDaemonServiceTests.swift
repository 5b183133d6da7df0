import AccessStore
import AccessTestSupport
import AccessWire
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import Testing

@testable import AccessDaemon

/// `AccessDaemonService` in this process, on a simulated disk (no signals
/// trapped): how its run ends. The library never exits the process: a
/// failure is a `DaemonFailure` the executable maps to its exit status
/// (docs/ARCHITECTURE.md, "The daemon's life"). `LifecycleTests` drives the
/// real binary with signals.
@Suite(.serialized) struct AccessDaemonServiceTests {
    static let silent = Logger(label: "service-tests", factory: { _ in SwiftLogNoOpLogHandler() })

    /// How `run` ended, or nil when it did not within `seconds` (it is cancelled then, which stops it). Generous:
    /// the suites beside this one block the concurrency pool's threads now and then (their sockets, their processes).
    static func outcome(of run: Task<Void, any Error>, within seconds: Double) async -> Result<Void, any Error>? {
        let timedOut = NIOLockedValueBox(false)
        let timeout = Task {
            try await Task.sleep(for: .seconds(seconds))
            timedOut.withLockedValue { $0 = true }
            run.cancel()
        }
        let result = await run.result
        timeout.cancel()
        return timedOut.withLockedValue { $0 } ? nil : result
    }

    /// A service over a fresh simulated disk and a temporary socket; `listening` yields the socket's path once it answers.
    struct Rig {
        let disk = SimulatedDisk()
        let run: String
        let service: AccessDaemonService
        let listening: AsyncStream<String>

        init(socket: ((String) throws -> Void)? = nil) rethrows {
            run = SystemdTestSupport.temporaryDirectory("service")
            var configuration = DaemonConfiguration(socketPath: run + "/accessd.sock", stateDirectory: JournalRig.directory)
            configuration.storage = disk
            configuration.snapshotIntervalSeconds = 3600
            try socket?(configuration.socketPath)
            let (listening, seen) = AsyncStream.makeStream(of: String.self)
            self.listening = listening
            service = AccessDaemonService(
                configuration: configuration, listener: nil, environment: [:], logger: AccessDaemonServiceTests.silent,
                listening: { seen.yield($0) }, reload: { _ in }, signals: [])
        }

        var snapshots: [String] {
            ((try? disk.list(JournalRig.directory)) ?? []).filter { $0.hasPrefix("snapshot-") }
        }

        func createAccount(_ connection: RawConnection, _ n: Int) throws -> UInt32 {
            var create = Accessd_V1_CreateAccountRequest()
            create.name = "Account \(n)"
            create.fullAccessLicenses = 1
            create.ownerEmail = "owner\(n)@acme.example"
            create.ownerFirstName = "Olga"
            create.ownerLastName = "Owner"
            return try connection.call(Methods.createAccount, create, id: UInt64(n)).code
        }
    }

    @Test func aFatalFsyncWhileServingEndsTheRunWithFatalSyncStatus74AndNoSnapshot() async throws {
        let rig = Rig()
        defer { try? FileManager.default.removeItem(atPath: rig.run) }
        let run = Task { try await rig.service.run() }
        var listening = rig.listening.makeAsyncIterator()
        let path = try #require(await listening.next())
        let connection = try RawConnection(path: path)
        #expect(try rig.createAccount(connection, 1) == 0)

        // Every sync of the journal fails from now on (the event archive's, on the same disk, still work).
        rig.disk.failSyncsOfFilesNamed = "journal-"
        let code = try? rig.createAccount(connection, 2)
        #expect(code != 0, "a write whose fsync failed is never acknowledged (UNAVAILABLE, or the connection closed first)")
        let result = await Self.outcome(of: run, within: 60)
        guard case .failure(let error) = result, let failure = error as? DaemonFailure, case .fatalSync = failure else {
            Issue.record("the run ends with DaemonFailure.fatalSync, not \(String(describing: result))")
            return
        }
        #expect(failure.exitStatus == .stateIO && failure.exitStatus.code == 74)
        #expect(rig.snapshots.isEmpty, "released without a snapshot: \(rig.snapshots)")
        #expect(!FileManager.default.fileExists(atPath: path), "the socket it bound is removed")
    }

    @Test func theGroupsGracefulShutdownWhileServingDrainsWritesTheFinalSnapshotAndReturns() async throws {
        let rig = Rig()
        defer { try? FileManager.default.removeItem(atPath: rig.run) }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [.init(service: rig.service)], logger: Self.silent))
        let run = Task { try await group.run() }
        var listening = rig.listening.makeAsyncIterator()
        let path = try #require(await listening.next())
        #expect(try rig.createAccount(try RawConnection(path: path), 1) == 0)
        #expect(rig.snapshots.isEmpty)

        await group.triggerGracefulShutdown()
        let result = await Self.outcome(of: run, within: 60)
        guard case .success = result else {
            Issue.record("a clean stop returns: \(String(describing: result))")
            return
        }
        #expect(rig.snapshots.count == 1, "the final snapshot")
        #expect(!FileManager.default.fileExists(atPath: path), "the socket it bound is removed")
    }

    @Test func aSocketThatWillNotListenEndsTheRunWithItsStartStatus() async throws {
        let rig = try Rig { socket in
            try FileManager.default.createDirectory(
                atPath: (socket as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o750])
            #expect(FileManager.default.createFile(atPath: socket, contents: Data("a file".utf8)))
        }
        defer { try? FileManager.default.removeItem(atPath: rig.run) }
        do {
            try await rig.service.run()
            Issue.record("the run returned")
        } catch let failure as DaemonFailure {
            guard case .start(let status, let what, let error) = failure else {
                Issue.record("\(failure)")
                return
            }
            #expect(status == .socketUnusable && what == "cannot listen on the socket", "\(failure)")
            #expect(error.contains("is not a socket"), "\(error)")
        }
        #expect(rig.snapshots.isEmpty, "released, nothing written")
    }
}
