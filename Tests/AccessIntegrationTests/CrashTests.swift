import AccessTestSupport
import AccessWire
import Foundation
import NIOConcurrencyHelpers
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// kill -9 at a random moment under write load, then a restart finds every
/// write that was acknowledged OK (protocol.md "Durability promise").
/// `ACCESSD_CRASH_ROUNDS` makes it longer (scripts/crash-test.sh).
@Suite(.serialized) struct CrashTests {
    let binary = AccessdBinaryTests()

    static var rounds: Int { Int(ProcessInfo.processInfo.environment["ACCESSD_CRASH_ROUNDS"] ?? "") ?? 20 }

    /// Writers that each create accounts one after another until the
    /// connection breaks; what they got OK for, by account id -> name.
    final class Writers: @unchecked Sendable {
        let acknowledged = NIOLockedValueBox<[String: String]>([:])
        let snapshots = NIOLockedValueBox(0)
        /// A Snapshot call is sent and not yet answered.
        let snapshotInFlight = NIOLockedValueBox(false)
        private var threads: [Thread] = []
        private let done = DispatchGroup()

        func start(socket: String, connections: Int, round: Int, snapshotting: Bool) {
            for connection in 0..<connections {
                done.enter()
                let thread = Thread { [self] in
                    defer { done.leave() }
                    guard let raw = try? RawConnection(path: socket) else { return }
                    var n = 0
                    while true {
                        n += 1
                        let name = "r\(round)-c\(connection)-n\(n)"
                        var create = Accessd_V1_CreateAccountRequest()
                        create.name = name
                        create.fullAccessLicenses = 1
                        create.ownerEmail = "\(name)@crash.example"
                        create.ownerFirstName = "Crash"
                        create.ownerLastName = "Test"
                        guard let response = try? raw.call(Methods.createAccount, create, id: UInt64(n)),
                            response.code == 0,
                            let reply = try? Accessd_V1_CreateAccountResponse(serializedBytes: response.payload)
                        else { return }
                        acknowledged.withLockedValue { $0[reply.account.id] = name }
                    }
                }
                threads.append(thread)
                thread.start()
            }
            if snapshotting {
                done.enter()
                let thread = Thread { [self] in
                    defer { done.leave() }
                    guard let raw = try? RawConnection(path: socket) else { return }
                    var n: UInt64 = 0
                    while true {
                        n += 1
                        snapshotInFlight.withLockedValue { $0 = true }
                        guard let response = try? raw.call(Methods.snapshot, Accessd_V1_SnapshotRequest(), id: n),
                            response.code == 0
                        else { return }
                        snapshotInFlight.withLockedValue { $0 = false }
                        snapshots.withLockedValue { $0 += 1 }
                    }
                }
                threads.append(thread)
                thread.start()
            }
        }

        func wait() { done.wait() }
    }

    func run(snapshotting: Bool) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("accessd-crash-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var acknowledged: [String: String] = [:]
        var snapshots = 0
        var killedDuringSnapshot = 0
        for round in 1...Self.rounds {
            var random = SeededGenerator(seed: UInt64(round) &* 7919 &+ (snapshotting ? 1 : 0))
            let daemon = try binary.start(directory: directory, arguments: snapshotting ? [] : [])
            // What was acknowledged before is all there after the restart.
            try verify(acknowledged, socket: daemon.socket, round: round)
            let writers = Writers()
            writers.start(socket: daemon.socket, connections: 8, round: round, snapshotting: snapshotting)
            usleep(UInt32.random(in: 20_000...250_000, using: &random))
            if writers.snapshotInFlight.withLockedValue({ $0 }) { killedDuringSnapshot += 1 }
            kill(daemon.process.processIdentifier, SIGKILL)
            daemon.process.waitUntilExit()
            writers.wait()
            acknowledged.merge(writers.acknowledged.withLockedValue { $0 }) { first, _ in first }
            snapshots += writers.snapshots.withLockedValue { $0 }
        }
        let daemon = try binary.start(directory: directory)
        try verify(acknowledged, socket: daemon.socket, round: Self.rounds + 1)
        #expect(binary.stop(daemon) == 0)
        #expect(acknowledged.count >= Self.rounds * 8, "the writers got enough acknowledged to mean something (\(acknowledged.count))")
        if snapshotting {
            #expect(killedDuringSnapshot > 0, "some kills landed while a snapshot was being written (\(killedDuringSnapshot) of \(Self.rounds); \(snapshots) snapshots finished)")
        }
    }

    func verify(_ acknowledged: [String: String], socket: String, round: Int) throws {
        let raw = try RawConnection(path: socket)
        var lost: [String] = []
        for (n, (id, name)) in acknowledged.enumerated() {
            var get = Accessd_V1_GetAccountRequest()
            get.accountID = id
            let response = try raw.call(Methods.getAccount, get, id: UInt64(n + 1))
            if response.code != 0 || (try? Accessd_V1_Account(serializedBytes: response.payload).name) != name {
                lost.append("\(id) \(name): \(response.code) \(response.message)")
            }
        }
        #expect(lost.isEmpty, "before round \(round), \(lost.count) of \(acknowledged.count) acknowledged writes are gone: \(lost.prefix(5))")
    }

    @Test func everyAcknowledgedWriteSurvivesKillNineUnderLoad() throws {
        try run(snapshotting: false)
    }

    @Test func everyAcknowledgedWriteSurvivesKillNineDuringSnapshots() throws {
        try run(snapshotting: true)
    }
}
