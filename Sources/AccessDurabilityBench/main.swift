// accessd-durability-bench: the durability figures of issue 4, one RESULT line each.
//
//   state  --dir D --users N --accounts M --journal K
//       builds N users in M accounts through the core, writes a snapshot of
//       them into D (size, time), appends K journal records after it through
//       the daemon's journal writer, then recovers D as accessd
//       does at start (time). Leaves D ready for `accessd --state-dir D`, and
//       D/bench-ids with (user, account) pairs for `pause`.
//   pause  --socket S --ids FILE [--conns 8] [--seconds 6] [--backup FILE]
//       Check calls on C-1 connections and writes on one, against a running
//       accessd; a snapshot is requested a third of the way in (with
//       --backup: a backup streamed into FILE as `accessctl backup` writes
//       it). Reports the longest call wait while the snapshot was written (the
//       backup streamed) and outside it.
//   recover --dir D
//       recovery alone (read-only), of a directory `state` left.
//   fsync  --dir D [--seconds 2]
//       the raw rate of 64-byte append + fdatasync on D's filesystem.
// (Durable writes per second come from `accessd-bench --mix writes`.)

import AccessStore
import AccessMapping
import AccessBenchSupport
import AccessClient
import AccessCore
import AccessDaemon
import AccessServer
import AccessWire
import Foundation
import Logging
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#endif

struct Arguments {
    var values: [String: String] = [:]

    init(_ arguments: ArraySlice<String>) {
        var iterator = arguments.makeIterator()
        while let flag = iterator.next() {
            guard flag.hasPrefix("--"), let value = iterator.next() else { fatalError("expected --flag value, got \(flag)") }
            values[String(flag.dropFirst(2))] = value
        }
    }

    func string(_ key: String, _ fallback: String? = nil) -> String {
        guard let value = values[key] ?? fallback else { fatalError("--\(key) is required") }
        return value
    }

    func int(_ key: String, _ fallback: Int) -> Int { values[key].flatMap(Int.init) ?? fallback }
    func double(_ key: String, _ fallback: Double) -> Double { values[key].flatMap(Double.init) ?? fallback }
}

func milliseconds(since start: ContinuousClock.Instant) -> Double {
    seconds(ContinuousClock.now - start) * 1000
}

func quietLogger() -> Logger {
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    return logger
}

// MARK: state

func buildState(_ arguments: Arguments) throws {
    let directory = arguments.string("dir")
    let users = arguments.int("users", 100_000)
    let accounts = arguments.int("accounts", max(1, users / 10))
    let journalRecords = arguments.int("journal", 100_000)
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)

    var clock = ContinuousClock.now
    let population = Population.build(users: users, accounts: accounts, withBigAccount: false)
    report("build", [("users", "\(users)"), ("accounts", "\(accounts)"), ("s", format(milliseconds(since: clock) / 1000))])

    // The snapshot, written as the daemon writes it.
    var history = EventHistory()
    history.skip(to: population.state.revision)
    let durable = DurableState(state: population.state, history: history)
    let stateDirectory = StateDirectory(path: directory)
    clock = .now
    let written = try stateDirectory.writeSnapshot(durable, writtenAt: population.now)
    report(
        "snapshot_write",
        [("users", "\(users)"), ("bytes", "\(written.bytes)"), ("bytes_per_user", format(Double(written.bytes) / Double(users))),
         ("ms", format(milliseconds(since: clock)))])

    // K journal records after it: EditUser writes run through the core, their
    // events journaled by the daemon's journal writer, one record each.
    let journal = JournalWriter(
        storage: PosixStorage(), directory: directory, policy: .none, logger: quietLogger(), onFatalSync: { _ in exit(74) })
    var state = population.state
    var rng = Random(state: 9)
    var now = population.now
    let pairs = population.owners
    var previousHash = LogHash.zero
    clock = .now
    for n in 0..<journalRecords {
        let pair = pairs[n % pairs.count]
        now = now.adding(milliseconds: 1)
        let events = try state.execute(
            .editUser(EditUser(user: pair.owner, firstName: "Renamed\(n)")),
            context: CommandContext(principal: .user(pair.owner), now: now), using: &rng)
        var record = Accessd_V1_JournalRecord()
        record.lsn = UInt64(n + 1)
        record.events = events.map(Accessd_V1_Event.init)
        // Chained as the daemon chains its records (journal format 3).
        let logRecord = try LogRecord(record, batchID: .random(using: &rng), previousHash: previousHash)
        previousHash = logRecord.hash
        if case .failure(let error) = journal.append(lsn: record.lsn, payload: logRecord.bytes, generation: 0) {
            fatalError("journal append failed: \(error)")
        }
    }
    journal.close()
    let journalBytes = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("journal-") }
        .reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: directory + "/" + $1)[.size] as? Int) ?? 0) }
    report(
        "journal_append",
        [("records", "\(journalRecords)"), ("bytes", "\(journalBytes)"), ("ms", format(milliseconds(since: clock))),
         ("fsync", "none")])

    // Recovery, as accessd does at start.
    let before = residentBytes()
    clock = .now
    let recovered = try stateDirectory.recover(logger: quietLogger())
    let recoveryMilliseconds = milliseconds(since: clock)
    precondition(recovered.replayed == journalRecords && recovered.durable.state.users.count == users, "recovery lost records")
    report(
        "recovery",
        [("users", "\(users)"), ("journal_records", "\(recovered.replayed)"), ("ms", format(recoveryMilliseconds)),
         ("rss_growth_bytes_per_user", format(Double(residentBytes() - before) / Double(users)))])

    // Pairs for Check calls: every hundredth user with its account.
    var lines: [String] = []
    for account in recovered.durable.state.accounts.values.prefix(2000) {
        if let user = recovered.durable.state.users.values.first(where: { $0.account == account.id && $0.status == .active }) {
            lines.append("\(user.id.rawValue) \(account.id.rawValue)")
        }
        if lines.count >= 1000 { break }
    }
    try lines.joined(separator: "\n").write(toFile: directory + "/bench-ids", atomically: false, encoding: .utf8)
}

// MARK: pause

/// Longest waits while a snapshot is written, against a running accessd.
func snapshotPause(_ arguments: Arguments) async throws {
    let socket = arguments.string("socket")
    let pairs = try String(contentsOfFile: arguments.string("ids"), encoding: .utf8).split(separator: "\n").map {
        $0.split(separator: " ").map(String.init)
    }
    precondition(!pairs.isEmpty, "no ids to check with")
    let connections = arguments.int("conns", 8)
    let duration = arguments.double("seconds", 6)
    let start = ContinuousClock.now
    let end = start + .seconds(duration)

    /// (when the call started, when it ended, a write?) per call.
    let samples = NIOLockedValueBox<[(Double, Double, Bool)]>([])
    func record(_ begin: ContinuousClock.Instant, _ finish: ContinuousClock.Instant, write: Bool) {
        let entry = (seconds(begin - start), seconds(finish - start), write)
        samples.withLockedValue { $0.append(entry) }
    }

    let admin = try await AccessClient.connect(socketPath: socket)
    var create = Accessd_V1_CreateAccountRequest()
    create.name = "Pause writer \(getpid())"
    create.fullAccessLicenses = 1
    create.ownerEmail = "pause-\(getpid())@bench.example"
    create.ownerFirstName = "Pause"
    create.ownerLastName = "Writer"
    let writerAccount = try await admin.call(
        Methods.createAccount, create)

    var snapshotWindow = (0.0, 0.0)
    var snapshotResponse = Accessd_V1_SnapshotResponse()
    let backupPath = arguments.values["backup"]
    var backupFields: [(String, String)] = []
    try await withThrowingTaskGroup(of: Void.self) { group in
        for connection in 0..<connections {
            group.addTask {
                let client = try await AccessClient.connect(socketPath: socket)
                var n = connection
                while ContinuousClock.now < end {
                    let begin = ContinuousClock.now
                    if connection == 0 {
                        var set = Accessd_V1_SetLicenseCountRequest()
                        set.accountID = writerAccount.account.id
                        set.count = UInt32(2 + n % 2)
                        _ = try await client.call(
                            Methods.setLicenseCount, set)
                    } else {
                        var check = Accessd_V1_CheckRequest()
                        let pair = pairs[n % pairs.count]
                        check.user = pair[0]
                        check.accountID = pair[1]
                        check.permission = .viewBilling
                        _ = try await client.call(Methods.check, check)
                    }
                    record(begin, .now, write: connection == 0)
                    n += connections
                }
                await client.close()
            }
        }
        try await Task.sleep(for: .seconds(duration / 3))
        let begin = ContinuousClock.now
        if let backupPath {
            // As accessctl backup: streamed into a file, then checked and renamed (the check does not involve the daemon).
            let writer = try BackupFile.Writer(path: backupPath)
            var header = Accessd_V1_BackupHeader()
            var trailer = Accessd_V1_BackupTrailer()
            for try await chunk in try admin.stream(
                Methods.backup, Accessd_V1_BackupRequest())
            {
                switch chunk.part {
                case .header(let value): header = value
                case .data(let bytes): try writer.write(bytes)
                case .trailer(let value): trailer = value
                case nil: break
                }
            }
            let streamed = ContinuousClock.now
            snapshotWindow = (seconds(begin - start), seconds(streamed - start))
            let summary = try writer.commit(size: header.size, sha256: [UInt8](trailer.sha256))
            snapshotResponse.revision = header.revision
            backupFields = [
                ("bytes", "\(header.size)"), ("users", "\(summary.users)"),
                ("verify_ms", format(milliseconds(since: streamed))),
            ]
        } else {
            snapshotResponse = try await admin.call(
                Methods.snapshot, Accessd_V1_SnapshotRequest())
            snapshotWindow = (seconds(begin - start), seconds(ContinuousClock.now - start))
        }
        try await group.waitForAll()
    }
    await admin.close()
    let all = samples.withLockedValue { $0 }
    func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }
    // A call overlapping the snapshot's window counts as during it.
    func waits(writes: Bool, during: Bool) -> [Double] {
        all.filter { $0.2 == writes && ($0.1 >= snapshotWindow.0 && $0.0 <= snapshotWindow.1) == during }.map { $0.1 - $0.0 }
    }
    var fields: [(String, String)] = [
        ("revision", "\(snapshotResponse.revision)"),
        (backupPath == nil ? "snapshot_ms" : "backup_ms", format((snapshotWindow.1 - snapshotWindow.0) * 1000)),
    ] + backupFields
    for (kind, writes) in [("reads", false), ("writes", true)] {
        let during = waits(writes: writes, during: true)
        let outside = waits(writes: writes, during: false)
        fields += [
            ("\(kind)_during", "\(during.count)"), ("\(kind)_max_wait_during_ms", format((during.max() ?? 0) * 1000, 2)),
            ("\(kind)_p99_during_ms", format(percentile(during, 0.99) * 1000, 2)),
            ("\(kind)_max_wait_outside_ms", format((outside.max() ?? 0) * 1000, 2)),
            ("\(kind)_p99_outside_ms", format(percentile(outside, 0.99) * 1000, 2)),
        ]
    }
    report(backupPath == nil ? "snapshot_pause" : "backup_pause", fields)
}

// MARK: fsync

/// The raw rate of small appends each followed by fdatasync.
func rawFsync(_ arguments: Arguments) throws {
    let path = arguments.string("dir") + "/fsync-probe"
    let duration = arguments.double("seconds", 2)
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    precondition(fd >= 0, "cannot create \(path)")
    defer {
        close(fd)
        unlink(path)
    }
    let record = [UInt8](repeating: 0x5A, count: 64)
    var latencies: [Double] = []
    let start = ContinuousClock.now
    while seconds(ContinuousClock.now - start) < duration {
        let begin = ContinuousClock.now
        precondition(record.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == 64)
        precondition(fdatasync(fd) == 0)
        latencies.append(seconds(ContinuousClock.now - begin))
    }
    latencies.sort()
    report(
        "raw_fdatasync",
        [("syncs_per_s", format(Double(latencies.count) / seconds(ContinuousClock.now - start), 0)),
         ("p50_us", format(latencies[latencies.count / 2] * 1e6, 0)),
         ("p99_us", format(latencies[min(latencies.count - 1, latencies.count * 99 / 100)] * 1e6, 0))])
}

let command = CommandLine.arguments.dropFirst().first ?? ""
let arguments = Arguments(CommandLine.arguments.dropFirst(2))
switch command {
case "state": try buildState(arguments)
case "pause": try await snapshotPause(arguments)
case "fsync": try rawFsync(arguments)
case "recover":
    // Recovery alone, of a directory `state` left (for profiling).
    let clock = ContinuousClock.now
    let recovered = try StateDirectory(path: arguments.string("dir")).recover(readOnly: true, logger: quietLogger())
    report(
        "recovery", [("users", "\(recovered.durable.state.users.count)"), ("journal_records", "\(recovered.replayed)"),
                     ("ms", format(milliseconds(since: clock)))])
default:
    FileHandle.standardError.write(Data("usage: accessd-durability-bench state|pause|recover|fsync --flag value ...\n".utf8))
    exit(64)
}
