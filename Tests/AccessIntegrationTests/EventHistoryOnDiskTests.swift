import AccessTestSupport
import AccessWire
import Foundation
import NIOConcurrencyHelpers
import SwiftProtobuf
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Events survive snapshots and restarts (README "Event history"): ListEvents
/// and FollowEvents answer from any seq within the retention window, from the
/// event archive on disk where memory no longer holds it; OUT_OF_RANGE only past
/// retention, naming the oldest seq held. The real `accessd`, restarted on
/// the same state directory.
@Suite(.serialized) struct EventHistoryOnDiskTests {
    static let list = Methods.listEvents.path
    static let follow = Methods.followEvents.path

    /// accessd on a state directory that outlives its processes: start, stop, crash, start again.
    final class Daemon {
        let directory: String
        let socket: String
        let config: String
        private(set) var process: DaemonProcess?

        init(config: String) throws {
            directory = SystemdTestSupport.temporaryDirectory("events")
            socket = directory + "/run/accessd.sock"
            self.config = directory + "/accessd.conf"
            try config.write(toFile: self.config, atomically: true, encoding: .utf8)
        }

        var state: String { directory + "/state" }

        func start() throws {
            let process = try DaemonProcess.accessd(
                arguments: ["--socket", socket, "--state-dir", state, "--config", config, "--log-level", "notice", "--fsync", "none"],
                directory: directory)
            guard process.waitForOutput("listening on") else {
                throw RawConnection.Failure(description: "accessd did not start: \(process.stderr)")
            }
            self.process = process
        }

        /// SIGTERM: drain, final snapshot, exit 0.
        func stop() -> Int32 {
            guard let process else { return -1 }
            process.signal(SIGTERM)
            self.process = nil
            return process.wait()
        }

        /// kill -9: no final snapshot, nothing synced beyond what the daemon synced itself.
        func crash() {
            guard let process else { return }
            process.signal(SIGKILL)
            _ = process.wait()
            self.process = nil
        }

        var stderr: String { process?.stderr ?? "" }

        /// The event archive's segments: first seq -> file name.
        func eventSegments() -> [UInt64: String] {
            var found: [UInt64: String] = [:]
            for name in (try? FileManager.default.contentsOfDirectory(atPath: state)) ?? []
            where name.hasPrefix("events-") && name.hasSuffix(".log") {
                found[UInt64(name.dropFirst(7).dropLast(4)) ?? 0] = name
            }
            return found
        }

        /// The first record number of the oldest journal segment left.
        func oldestJournalSegment() -> UInt64? {
            ((try? FileManager.default.contentsOfDirectory(atPath: state)) ?? [])
                .filter { $0.hasPrefix("journal-") && $0.hasSuffix(".log") }
                .compactMap { UInt64($0.dropFirst(8).dropLast(4)) }.min()
        }

        deinit {
            _ = stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Creates `count` accounts, `batch` requests written at a time; returns the revision reached.
    @discardableResult
    static func write(_ count: Int, on connection: RawConnection, from first: Int = 0, batch: Int = 50) throws -> UInt64 {
        var revision: UInt64 = 0
        var n = first
        while n < first + count {
            let ids = (n..<min(first + count, n + batch)).map { UInt64($0 + 1) }
            for id in ids {
                var create = Accessd_V1_CreateAccountRequest()
                create.name = "Account \(id)"
                create.fullAccessLicenses = 1
                create.ownerEmail = "owner\(id)@events.example"
                create.ownerFirstName = "Owner"
                create.ownerLastName = "Number\(id)"
                try connection.send(try Accessd_V1_Request(id: id, method: Methods.createAccount.path, create))
            }
            for _ in ids {
                let response = try connection.readResponse(timeout: 30)
                guard response.code == 0 else { throw RawConnection.Failure(description: "CreateAccount: \(response.message)") }
                revision = max(revision, response.revision)
            }
            n += ids.count
        }
        return revision
    }

    /// Every event after `seq`, a page at a time.
    static func listAll(_ connection: RawConnection, after seq: UInt64 = 0) throws -> [Accessd_V1_Event] {
        var events: [Accessd_V1_Event] = []
        var after = seq
        var id: UInt64 = 1_000_000
        while true {
            var request = Accessd_V1_ListEventsRequest()
            request.afterSeq = after
            request.limit = 1000
            id += 1
            let response = try connection.call(list, request, id: id)
            guard response.code == 0 else { throw RawConnection.Failure(description: "ListEvents after \(after): \(response.code) \(response.message)") }
            let page = try Accessd_V1_ListEventsResponse(serializedBytes: response.payload).events
            guard let last = page.last else { return events }
            events += page
            after = last.seq
        }
    }

    static func oldest(_ connection: RawConnection) throws -> (listed: UInt64, stats: UInt64) {
        var request = Accessd_V1_ListEventsRequest()
        request.afterSeq = .max
        let listed = try Accessd_V1_ListEventsResponse(serializedBytes: try connection.call(list, request, id: 77).payload).oldestSeq
        let stats = try Accessd_V1_GetStatsResponse(
            serializedBytes: try connection.call(Methods.getStats, Accessd_V1_GetStatsRequest(), id: 78).payload)
        return (listed, stats.oldestEventSeq)
    }

    static func snapshot(_ connection: RawConnection) throws {
        let response = try connection.call(Methods.snapshot, Accessd_V1_SnapshotRequest(), id: 99)
        guard response.code == 0 else { throw RawConnection.Failure(description: "Snapshot: \(response.message)") }
    }

    // MARK: - Restarts

    @Test func everyEventWithinRetentionSurvivesSnapshotsACleanRestartAndACrashWithTheSameSeqsAndPayloads() throws {
        let daemon = try Daemon(config: "event_memory_count = 50\nsnapshot_interval_s = 3600\n")
        try daemon.start()
        var connection = try RawConnection(path: daemon.socket)
        try Self.write(60, on: connection)
        try Self.snapshot(connection)
        try Self.write(20, on: connection, from: 60)
        try Self.snapshot(connection)
        let head = try Self.write(5, on: connection, from: 80)
        let before = try Self.listAll(connection)
        #expect(before.map(\.seq) == Array(1...head), "every event, numbered without a gap, before the restart")
        #expect(head > 300)
        // The journal no longer holds the first events: its first segment went once two snapshots covered it.
        let gone = Date().addingTimeInterval(10)
        while daemon.oldestJournalSegment() == 1, Date() < gone { usleep(20_000) }
        #expect((daemon.oldestJournalSegment() ?? 0) > 1, "the oldest journal segment starts at record \(daemon.oldestJournalSegment() ?? 0)")

        #expect(daemon.stop() == 0)
        try daemon.start()
        connection = try RawConnection(path: daemon.socket)
        let restarted = try Self.listAll(connection)
        #expect(restarted == before, "the same seqs and payloads after a clean restart")
        #expect(try Self.oldest(connection) == (1, 1))

        // Events written after the last snapshot and never synced to the event archive: a crash, then the journal fills the gap.
        let newer = try Self.write(10, on: connection, from: 85)
        let beforeCrash = try Self.listAll(connection)
        #expect(beforeCrash.map(\.seq) == Array(1...newer))
        daemon.crash()
        try daemon.start()
        connection = try RawConnection(path: daemon.socket)
        #expect(try Self.listAll(connection) == beforeCrash, "the same events after kill -9")
        // Listing from the middle, and across the join of disk and memory, gives the same events.
        #expect(try Self.listAll(connection, after: 123) == Array(beforeCrash.dropFirst(123)))
    }

    @Test func followingFromAnOldSeqStreamsTheDiskPartThenJoinsTheLiveEventsWithoutAGapOrADuplicate() throws {
        let daemon = try Daemon(config: "event_memory_count = 20\n")
        try daemon.start()
        try Self.write(50, on: try RawConnection(path: daemon.socket))
        #expect(daemon.stop() == 0)
        try daemon.start()

        let follower = try RawConnection(path: daemon.socket)
        try follower.send(try Accessd_V1_Request(id: 1, method: Self.follow, Accessd_V1_FollowEventsRequest()))
        // While the old events stream from disk, new ones are written.
        let socket = daemon.socket
        let head = NIOLockedValueBox<UInt64>(0)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { done.signal() }
            guard let writer = try? RawConnection(path: socket) else { return }
            for round in 0..<10 {
                guard let revision = try? Self.write(3, on: writer, from: 50 + round * 3, batch: 1) else { return }
                head.withLockedValue { $0 = revision }
                usleep(5_000)
            }
        }
        thread.start()
        var seqs: [UInt64] = []
        var finished = false
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if !finished, done.wait(timeout: .now()) == .success { finished = true }
            if finished, seqs.last == head.withLockedValue({ $0 }) { break }
            guard let response = try? follower.readResponse(timeout: 0.5) else { continue }
            #expect(response.id == 1 && response.code == 0 && response.more, "\(response.code) \(response.message)")
            guard response.code == 0 else { break }
            seqs.append(try Accessd_V1_Event(serializedBytes: response.payload).seq)
        }
        let last = head.withLockedValue { $0 }
        #expect(last > 250)
        #expect(seqs == Array(1...last), "each event once, in order: \(seqs.count) of \(last)")
    }

    // MARK: - Retention

    @Test func retentionByCountPrunesWholeSegmentsAndOutOfRangeNamesTheOldestSeqHeld() throws {
        let daemon = try Daemon(config: "event_retention_count = 100\n")
        try daemon.start()
        var connection = try RawConnection(path: daemon.socket)
        let head = try Self.write(80, on: connection)
        let oldest = head - 99

        let refused = try connection.call(Self.list, Accessd_V1_ListEventsRequest(), id: 1)
        #expect(refused.code == 11, "OUT_OF_RANGE: \(refused.message)")
        #expect(refused.message.contains("the oldest event held is \(oldest)"), "\(refused.message)")
        #expect(try Self.oldest(connection) == (oldest, oldest))
        let held = try Self.listAll(connection, after: oldest - 1)
        #expect(held.map(\.seq) == Array(oldest...head))

        var follow = Accessd_V1_Request()
        follow.id = 5
        follow.method = Self.follow
        follow.payload = try Accessd_V1_FollowEventsRequest().serializedBytes()
        try connection.send(follow)
        let ended = try connection.readResponse()
        #expect(ended.id == 5 && ended.code == 11 && ended.message.contains("\(oldest)"), "\(ended.message)")

        // On disk: whole segments of 16 events go (behind the writer); at most one segment's worth more than the count is left.
        func settled(_ segments: [UInt64]) -> Bool {
            segments.count <= 100 / 16 + 2 && segments.first.map { $0 <= oldest && $0 + 16 > oldest } == true
        }
        let pruned = Date().addingTimeInterval(15)
        while !settled(daemon.eventSegments().keys.sorted()), Date() < pruned { usleep(20_000) }
        let segments = daemon.eventSegments().keys.sorted()
        #expect(segments.count <= 100 / 16 + 2, "\(segments)")
        #expect(segments.first.map { $0 <= oldest && $0 + 16 > oldest } == true, "the oldest segment starts at \(segments.first ?? 0)")

        #expect(daemon.stop() == 0)
        try daemon.start()
        connection = try RawConnection(path: daemon.socket)
        #expect(try Self.oldest(connection) == (oldest, oldest))
        #expect(try Self.listAll(connection, after: oldest - 1) == held)
    }

    @Test func retentionByAgeDropsEventsOlderThanItEvenWhileMemoryStillHoldsThem() throws {
        let daemon = try Daemon(config: "event_retention_s = 1\n")
        try daemon.start()
        let connection = try RawConnection(path: daemon.socket)
        let head = try Self.write(5, on: connection)
        #expect(try Self.oldest(connection) == (1, 1))
        // The writer prunes while idle too: a second later nothing is held.
        usleep(1_600_000)
        #expect(try Self.oldest(connection) == (0, 0))
        let none = try connection.call(Self.list, Accessd_V1_ListEventsRequest(), id: 1)
        #expect(none.code == 11 && none.message.contains("no event is"), "\(none.message)")
        let newer = try Self.write(1, on: connection, from: 5)
        var request = Accessd_V1_ListEventsRequest()
        let refused = try connection.call(Self.list, request, id: 2)
        #expect(refused.code == 11 && refused.message.contains("the oldest event held is \(head + 1)"), "\(refused.message)")
        request.afterSeq = head
        let held = try Accessd_V1_ListEventsResponse(serializedBytes: try connection.call(Self.list, request, id: 3).payload)
        #expect(held.events.map(\.seq) == Array(head + 1...newer))
        #expect(held.oldestSeq == head + 1)
    }

    // MARK: - Peers and clients

    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
    func aReadOnlyPeerReadsOldEventsFromDisk() throws {
        let daemon = try Daemon(config: "default_peer_class = read-only\nevent_memory_count = 10\n")
        try daemon.start()
        let head = try Self.write(20, on: try RawConnection(path: daemon.socket))
        chmod(daemon.directory, 0o755)
        chmod(daemon.directory + "/run", 0o755)
        chmod(daemon.socket, 0o666)
        let listed = try AdministratorPeerTests().accessctlAsNobody([
            "events", "list", "--socket", daemon.socket, "--json", "--limit", "1000",
        ])
        #expect(listed.status == 0, "\(listed.output)")
        #expect(try Self.seqs(ofList: listed.output) == Array(1...head), "a read-only peer lists from the oldest held, the disk part included")
        let refused = try AdministratorPeerTests().accessctlAsNobody([
            "accounts", "create", "--name", "X", "--owner-email", "x@x.example", "--owner-first-name", "X",
            "--owner-last-name", "X", "--socket", daemon.socket,
        ])
        #expect(refused.status == 2 && refused.output.contains("PERMISSION_DENIED"), "and may not write: \(refused.output)")
    }

    @Test func accessctlEventsFollowSurvivesACrashAndARestartOfTheDaemonAndPrintsEachEventOnce() throws {
        let daemon = try Daemon(config: "event_memory_count = 10\n")
        try daemon.start()
        try Self.write(5, on: try RawConnection(path: daemon.socket))
        let accessctl = try #require(AdministratorPeerTests.accessctl).path
        let follower = try DaemonProcess(
            executable: accessctl, arguments: ["events", "follow", "--socket", daemon.socket, "--json"], directory: daemon.directory)
        defer {
            follower.signal(SIGKILL)
            _ = follower.wait()
        }
        func printed() -> [UInt64] {
            follower.stdout.split(separator: "\n").compactMap { line in
                Self.seq(ofEvent: String(line))
            }
        }
        func waitFor(_ seq: UInt64) -> Bool {
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                if printed().last == seq { return true }
                usleep(50_000)
            }
            return false
        }
        var head = try Self.write(1, on: try RawConnection(path: daemon.socket), from: 5)
        #expect(waitFor(head), "printed \(printed().suffix(3)) of \(head)")
        daemon.crash()
        try daemon.start()
        head = try Self.write(5, on: try RawConnection(path: daemon.socket), from: 6)
        #expect(waitFor(head), "after kill -9 it printed up to \(printed().last ?? 0) of \(head): \(follower.stderr)")
        #expect(daemon.stop() == 0)
        try daemon.start()
        head = try Self.write(5, on: try RawConnection(path: daemon.socket), from: 11)
        #expect(waitFor(head), "after a restart it printed up to \(printed().last ?? 0) of \(head): \(follower.stderr)")
        #expect(printed() == Array(1...head), "each event exactly once, in order")
        #expect(follower.process.isRunning)
        #expect(follower.stderr.contains("lost accessd at \(daemon.socket)"), "\(follower.stderr)")
        #expect(follower.stderr.contains("reconnected to accessd"), "\(follower.stderr)")
    }

    @Test func accessctlEventsListStartsFromTheOldestEventHeldAndFollowGivesUpOnlyPastRetention() throws {
        let daemon = try Daemon(config: "event_retention_count = 100\n")
        try daemon.start()
        let head = try Self.write(40, on: try RawConnection(path: daemon.socket))
        let accessctl = try #require(AdministratorPeerTests.accessctl).path
        let listed = try SystemdTestSupport.run(accessctl, ["events", "list", "--socket", daemon.socket, "--json"])
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(try Self.seqs(ofList: listed.stdout) == Array(head - 99...head))
        let past = try SystemdTestSupport.run(accessctl, ["events", "follow", "--socket", daemon.socket, "--after", "3"])
        #expect(past.status == 2, "the daemon refused the call")
        #expect(past.stderr.contains("error: OUT_OF_RANGE: ") && past.stderr.contains("the oldest event held is \(head - 99)"), "\(past.stderr)")
    }

    /// The seqs of `accessctl events list --json` (one document: numbers as numbers, as jq reads them).
    static func seqs(ofList json: String) throws -> [UInt64] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let events = try #require(object["events"] as? [[String: Any]], "\(json)")
        return try events.map { try #require(($0["seq"] as? NSNumber)?.uint64Value, "\($0)") }
    }

    /// The seq of one line of `accessctl events follow --json`, when it is an event.
    static func seq(ofEvent line: String) -> UInt64? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else { return nil }
        return (object["seq"] as? NSNumber)?.uint64Value
    }

    // MARK: - Not in the way

    @Test func aCheckIsAnsweredWhileABigListEventsIsReadFromDisk() throws {
        let daemon = try Daemon(config: "event_memory_count = 10\nmax_frame_bytes = 67108864\n")
        try daemon.start()
        var connection = try RawConnection(path: daemon.socket)
        let head = try Self.write(5000, on: connection, batch: 100)
        #expect(daemon.stop() == 0)
        try daemon.start()
        connection = try RawConnection(path: daemon.socket)
        var create = Accessd_V1_CreateAccountRequest()
        create.name = "Checked"
        create.fullAccessLicenses = 1
        create.ownerEmail = "checked@events.example"
        create.ownerFirstName = "C"
        create.ownerLastName = "D"
        let creation = try connection.call(Methods.createAccount, create, id: 1)
        #expect(creation.code == 0, "\(creation.message)")
        let created = try Accessd_V1_CreateAccountResponse(serializedBytes: creation.payload)
        let newest = creation.revision

        // One write: a ListEvents of every event (from disk), then a Check, on the same connection.
        var all = Accessd_V1_ListEventsRequest()
        all.limit = UInt32(head + 10)
        var check = Accessd_V1_CheckRequest()
        check.user = created.owner.id
        check.accountID = created.account.id
        check.permission = .editAccountSettings
        var frames: [UInt8] = []
        for (id, method, payload) in [
            (UInt64(10), Self.list, try all.serializedBytes() as [UInt8]),
            (UInt64(11), Methods.check.path, try check.serializedBytes() as [UInt8]),
        ] {
            var request = Accessd_V1_Request()
            request.id = id
            request.method = method
            request.payload = Data(payload)
            var frame = Accessd_V1_ClientFrame()
            frame.request = request
            let bytes: [UInt8] = try frame.serializedBytes()
            let length = UInt32(bytes.count)
            frames += [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)] + bytes
        }
        let started = Date()
        try connection.writeBytes(frames)
        let first = try connection.readResponse(timeout: 30)
        let second = try connection.readResponse(timeout: 60)
        let seconds = Date().timeIntervalSince(started)
        #expect(first.id == 11 && first.code == 0, "the Check behind it was answered first, the disk read being off the loop: \(first.message)")
        #expect(second.id == 10 && second.code == 0, "\(second.message)")
        let listed = try Accessd_V1_ListEventsResponse(serializedBytes: second.payload).events
        #expect(listed.map(\.seq) == Array(1...newest), "every event of the \(head) before the restart and those after")
        print("RESULT name=list_events_from_disk events=\(listed.count) bytes=\(second.payload.count) s=\(String(format: "%.3f", seconds))")

        // Coarse: Checks from another connection stay quick while four connections read the whole log from disk.
        let stop = NIOLockedValueBox(false)
        let readers = DispatchGroup()
        let socket = daemon.socket
        let everything = all
        for n in 0..<4 {
            readers.enter()
            Thread {
                defer { readers.leave() }
                guard let reader = try? RawConnection(path: socket) else { return }
                let all = everything
                var id: UInt64 = 0
                while !stop.withLockedValue({ $0 }) {
                    id += 1
                    _ = try? reader.call(Self.list, all, id: id + UInt64(n) * 1_000_000)
                }
            }.start()
        }
        let checker = try RawConnection(path: daemon.socket)
        var slowest = 0.0
        let end = Date().addingTimeInterval(3)
        var id: UInt64 = 0
        var refused = 0
        while Date() < end {
            id += 1
            let sent = Date()
            if try checker.call(Methods.check, check, id: id).code != 0 { refused += 1 }
            slowest = max(slowest, Date().timeIntervalSince(sent))
        }
        #expect(refused == 0)
        stop.withLockedValue { $0 = true }
        readers.wait()
        print("RESULT name=check_during_disk_reads checks=\(id) max_ms=\(Int(slowest * 1000))")
        #expect(slowest < 1, "a Check took \(Int(slowest * 1000)) ms while ListEvents read from disk")
    }

    // MARK: - Formats

    @Test func aStateDirectoryOfThePreviousFormatsGetsAnEventArchiveFromItsJournalWithoutATokenInIt() throws {
        let tokens = try StateFixture.tokens()
        let (root, state) = try StateFixture.copy()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let binary = AccessdBinaryTests()
        let daemon = try binary.start(directory: root)
        let connection = try RawConnection(path: daemon.socket)
        var request = Accessd_V1_ListEventsRequest()
        request.limit = 100
        let response = try connection.call(Self.list, request, id: 1)
        #expect(response.code == 0, "\(response.message)")
        let events = try Accessd_V1_ListEventsResponse(serializedBytes: response.payload)
        #expect(events.events.map(\.seq) == Array(1...11), "every event its journal holds")
        #expect(events.oldestSeq == 1)
        #expect(StateFixture.everyToken(in: response.payload, tokens).isEmpty, "no activation token in any event")
        #expect(binary.stop(daemon) == 0)
        let names = try FileManager.default.contentsOfDirectory(atPath: state)
        #expect(names.contains("events-00000000000000000001.log"), "\(names)")
    }

    @Test func aDamagedRecordInAnOlderSegmentIsDataLossNamingTheFileAndTheEventsAroundItStillRead() throws {
        let daemon = try Daemon(config: "event_retention_count = 160\nevent_memory_count = 10\n")
        try daemon.start()
        let head = try Self.write(30, on: try RawConnection(path: daemon.socket))
        #expect(daemon.stop() == 0)
        // Segments of 16 events: flip a byte inside the payload of the third record of the second one.
        let second = try #require(daemon.eventSegments()[17])
        let path = daemon.state + "/" + second
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var offset = 32
        for _ in 0..<2 {
            let length = Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            offset += 20 + length
        }
        bytes[offset + 25] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        try daemon.start()
        let connection = try RawConnection(path: daemon.socket)
        let damaged = try connection.call(Self.list, Accessd_V1_ListEventsRequest(), id: 1)
        #expect(damaged.code == 15, "DATA_LOSS: \(damaged.message)")
        #expect(damaged.message.contains(second) && damaged.message.contains("offset \(offset)"), "\(damaged.message)")
        var first = Accessd_V1_ListEventsRequest()
        first.limit = 18
        #expect(try Accessd_V1_ListEventsResponse(serializedBytes: try connection.call(Self.list, first, id: 2).payload).events.map(\.seq) == Array(1...18))
        #expect(try Self.listAll(connection, after: 32).map(\.seq) == Array(33...head), "the segments after it read")
    }
}
