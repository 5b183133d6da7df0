public import AccessCore
import AccessServer
import AccessWire
import Foundation
public import Logging

/// The daemon's files in its state directory: snapshots
/// (`snapshot-<lsn>.snap`, the newest two kept) and journal segments
/// (`journal-<first lsn>.log`). Recovery loads the newest snapshot whose
/// checksum holds and replays the journal after it; nothing damaged is ever
/// loaded and nothing is dropped silently.
public struct StateDirectory: Sendable {
    public let storage: any Storage
    public let path: String

    public init(storage: any Storage = PosixStorage(), path: String) {
        self.storage = storage
        self.path = path
    }

    /// Why the state cannot be recovered, with where and what to do.
    public struct RecoveryError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// What recovery found.
    public struct Recovered: Sendable {
        public var durable: DurableState
        /// The snapshot loaded, if any, and the journal record it holds.
        public var snapshot: String?
        public var snapshotLSN: UInt64
        /// Journal records replayed after it.
        public var replayed: Int
        /// Things an operator should know (a fallback, a torn tail cut off, a loss accepted).
        public var warnings: [String]
    }

    struct Files {
        var snapshots: [(lsn: UInt64, name: String)]  // newest first
        var segments: [(lsn: UInt64, name: String)]  // oldest first
        var temporaries: [String]
    }

    func files() throws(StorageError) -> Files {
        var files = Files(snapshots: [], segments: [], temporaries: [])
        for name in try storage.list(path) {
            if let lsn = SnapshotFile.lsn(ofSnapshotNamed: name) {
                files.snapshots.append((lsn, name))
            } else if let lsn = JournalFormat.firstLSN(ofSegmentNamed: name) {
                files.segments.append((lsn, name))
            } else if name.hasSuffix(".tmp") {
                files.temporaries.append(name)
            }
        }
        files.snapshots.sort { $0.lsn > $1.lsn }
        files.segments.sort { $0.lsn < $1.lsn }
        return files
    }

    private func file(_ name: String) -> String { path + "/" + name }

    /// Loads the state: the newest snapshot that holds (falling back to an
    /// older one, saying why), then every journal record after it. A torn
    /// last record is cut off with a warning. A damaged record with data
    /// after it, a gap in the records or an unknown format version stops the
    /// recovery with a message naming the file and offset, unless
    /// `acceptLoss` is set: then the journal is cut at the damage, loudly.
    /// `readOnly` (check-state) changes nothing on disk: no torn tail is cut.
    public func recover(acceptLoss: Bool = false, eventRetention: Int = 100_000, readOnly: Bool = false, logger: Logger)
        throws(RecoveryError) -> Recovered
    {
        let files: Files
        do {
            if !readOnly { try storage.createDirectory(path, mode: 0o700) }
            files = try self.files()
        } catch {
            throw RecoveryError(description: "cannot read the state directory \(path): \(error)")
        }
        for name in files.temporaries where !readOnly {
            // A snapshot or segment header that never got renamed into place.
            try? storage.remove(file(name))
        }
        var warnings: [String] = []
        func warn(_ text: String) {
            warnings.append(text)
            logger.warning("\(text)")
        }

        // The newest snapshot that holds.
        var durable = DurableState(state: AccessState(), history: EventHistory(retention: eventRetention))
        var loaded: String?
        var loadedLSN: UInt64 = 0
        var problems: [String] = []
        for snapshot in files.snapshots {
            let name = file(snapshot.name)
            do {
                guard let bytes = try storage.read(name) else { continue }
                if let header = SnapshotFile.header(bytes), header.version != SnapshotFile.formatVersion {
                    throw RecoveryError(
                        description: "the snapshot \(name) has format version \(header.version); this accessd reads version \(SnapshotFile.formatVersion). Run the accessd that wrote it, or move the state directory aside to start empty")
                }
                durable = try SnapshotFile.decode(bytes, path: name, eventRetention: eventRetention)
                loaded = name
                loadedLSN = durable.lsn
                break
            } catch let error as RecoveryError {
                throw error
            } catch {
                problems.append("\(error)")
                warn("\(error); falling back to an older snapshot")
            }
        }
        if loaded == nil && !files.snapshots.isEmpty {
            guard acceptLoss else {
                throw RecoveryError(
                    description: "no snapshot in \(path) holds: \(problems.joined(separator: "; ")). Restore one from a backup, or start with --accept-data-loss to rebuild from the journal alone")
            }
            warn("no snapshot holds; rebuilding from the journal alone (--accept-data-loss)")
        }

        // The journal after it.
        var expected = durable.lsn + 1
        var replayed = 0
        var segments = files.segments[...]
        while let segment = segments.popFirst() {
            let name = file(segment.name)
            let bytes: [UInt8]
            do {
                bytes = try storage.read(name) ?? []
            } catch {
                throw RecoveryError(description: "cannot read the journal segment \(name): \(error)")
            }
            let scan: JournalFormat.Scan
            do {
                scan = try JournalFormat.scan(bytes)
            } catch {
                if error.unknownVersion == nil, segments.isEmpty, bytes.count < JournalFormat.headerLength
                    || bytes.allSatisfy({ $0 == 0 })
                {
                    // A segment whose header never reached the disk: nothing was acknowledged from it.
                    warn("the journal segment \(name) has no complete header (a crash while it was created); removing it")
                    if !readOnly { try? storage.remove(name) }
                    continue
                }
                let advice = error.unknownVersion != nil
                    ? "Run the accessd that wrote it, or move the state directory aside to start empty"
                    : "Restore the state directory from a backup, or move the segment aside and start with --accept-data-loss"
                throw RecoveryError(description: "the journal segment \(name) cannot be read: \(error). \(advice)")
            }
            let isLast = segments.isEmpty
            var stopAt: Int?
            if scan.firstLSN > expected {
                let gap = "the journal segment \(name) starts at record \(scan.firstLSN) but the state holds only up to \(expected - 1): records are missing"
                guard acceptLoss else {
                    throw RecoveryError(
                        description: "\(gap). Restore the state directory from a backup, or start with --accept-data-loss to keep only what comes before the gap")
                }
                warn("\(gap); keeping only what comes before it (--accept-data-loss)")
                do {
                    if !readOnly {
                        try storage.remove(name)
                        for later in segments { try storage.remove(file(later.name)) }
                    }
                } catch {
                    throw RecoveryError(description: "cannot remove the journal segments from \(name) on: \(error)")
                }
                break
            }
            for record in scan.records {
                let decoded: Accessd_V1_JournalRecord
                do {
                    decoded = try Accessd_V1_JournalRecord(serializedBytes: Array(record.payload))
                } catch {
                    throw RecoveryError(
                        description: "the journal segment \(name) has a record at offset \(record.offset) whose checksum holds but which does not decode. Restore the state directory from a backup")
                }
                if decoded.lsn < expected { continue }  // a snapshot already holds it
                guard decoded.lsn == expected else {
                    let gap = "the journal segment \(name) jumps from record \(expected - 1) to \(decoded.lsn) at offset \(record.offset): records are missing"
                    guard acceptLoss else {
                        throw RecoveryError(
                            description: "\(gap). Restore the state directory from a backup, or start with --accept-data-loss to keep only what comes before the gap")
                    }
                    warn("\(gap); keeping only what comes before it (--accept-data-loss)")
                    stopAt = record.offset
                    break
                }
                do {
                    try Self.apply(decoded, to: &durable)
                } catch {
                    throw RecoveryError(
                        description: "the journal segment \(name) has a record at offset \(record.offset) (record \(decoded.lsn)) that does not apply to the state: \(error). Restore the state directory from a backup")
                }
                expected += 1
                replayed += 1
            }
            if stopAt == nil {
                switch scan.end {
                case .clean:
                    break
                case .torn(let offset, let reason):
                    guard isLast else {
                        throw RecoveryError(
                            description: "the journal segment \(name) ends early at offset \(offset) (\(reason)) but later segments follow. Restore the state directory from a backup, or start with --accept-data-loss to keep only what comes before it")
                    }
                    warn("the journal segment \(name) ends in a torn record at offset \(offset) (\(reason)): an append a crash cut short, never acknowledged; cutting it off")
                    stopAt = offset
                case .damaged(let offset, let reason):
                    guard acceptLoss else {
                        throw RecoveryError(
                            description: "the journal segment \(name) is damaged at offset \(offset): \(reason), with \(bytes.count - offset) bytes after it. Restore the state directory from a backup, or start with --accept-data-loss to keep only the records before offset \(offset)")
                    }
                    warn("the journal segment \(name) is damaged at offset \(offset) (\(reason)); dropping the \(bytes.count - offset) bytes from there on and every later segment (--accept-data-loss)")
                    stopAt = offset
                }
            }
            if let stopAt, !readOnly {
                do {
                    try storage.truncate(name, to: stopAt)
                    for later in segments { try storage.remove(file(later.name)) }
                    segments = []
                } catch {
                    throw RecoveryError(description: "cannot cut the journal segment \(name) at offset \(stopAt): \(error)")
                }
            }
        }
        return Recovered(durable: durable, snapshot: loaded, snapshotLSN: loadedLSN, replayed: replayed, warnings: warnings)
    }

    /// What the directory holds, for `accessctl check-state`: one line per
    /// snapshot and journal segment, then what recovery would load or the
    /// first problem it finds. Changes nothing.
    public func inspect() -> (lines: [String], ok: Bool) {
        var lines = ["state directory: \(path)"]
        let files: Files
        do {
            files = try self.files()
        } catch {
            return (lines + ["problem: cannot list the directory: \(error)"], false)
        }
        if files.snapshots.isEmpty && files.segments.isEmpty { lines.append("no snapshot and no journal: the daemon starts empty") }
        for snapshot in files.snapshots.reversed() {
            let name = file(snapshot.name)
            do {
                let bytes = try storage.read(name) ?? []
                let value = try SnapshotFile.decode(bytes, path: name)
                lines.append(
                    "snapshot \(snapshot.name): journal record \(value.lsn), revision \(value.state.revision), \(value.state.accounts.count) accounts, \(value.state.users.count) users, \(bytes.count) bytes, checksum ok")
            } catch {
                lines.append("snapshot \(snapshot.name): \(error)")
            }
        }
        for segment in files.segments {
            let name = file(segment.name)
            do {
                let bytes = try storage.read(name) ?? []
                let scan = try JournalFormat.scan(bytes)
                var lsns: [UInt64] = []
                for record in scan.records {
                    lsns.append((try? Accessd_V1_JournalRecord(serializedBytes: Array(record.payload)).lsn) ?? 0)
                }
                let range = lsns.isEmpty ? "no records" : "records \(lsns.first!)...\(lsns.last!) (\(lsns.count))"
                let end: String
                switch scan.end {
                case .clean: end = "ends cleanly"
                case .torn(let offset, let reason): end = "torn at offset \(offset) (\(reason))"
                case .damaged(let offset, let reason): end = "DAMAGED at offset \(offset) (\(reason))"
                }
                lines.append("journal \(segment.name): \(range), \(bytes.count) bytes, \(end)")
            } catch {
                lines.append("journal \(segment.name): \(error)")
            }
        }
        var logger = Logger(label: "accessd.check-state")
        logger.logLevel = .critical
        do {
            let recovered = try recover(readOnly: true, logger: logger)
            for warning in recovered.warnings { lines.append("warning: \(warning)") }
            lines.append(
                "recovery: \(recovered.snapshot.map { "snapshot " + ($0 as NSString).lastPathComponent } ?? "no snapshot") + \(recovered.replayed) journal records = journal record \(recovered.durable.lsn), revision \(recovered.durable.state.revision), \(recovered.durable.state.accounts.count) accounts, \(recovered.durable.state.users.count) users")
            return (lines, true)
        } catch {
            lines.append("problem: \(error)")
            return (lines, false)
        }
    }

    /// Applies one journal record to a recovered state.
    static func apply(_ record: Accessd_V1_JournalRecord, to durable: inout DurableState) throws {
        let events = try record.events.map { wire throws in try Event(wire: wire) }
        try durable.state.apply(events)
        durable.history.append(events)
        for reply in record.idempotentReplies { durable.idempotency.insert(IdempotencyStore.Entry(wire: reply)) }
        durable.lsn = record.lsn
    }

    /// Writes a snapshot of `value` (temporary file, sync, rename, directory
    /// sync), keeps the newest two and returns the lsn of the older one kept:
    /// journal segments wholly before it may go.
    public func writeSnapshot(_ value: DurableState, writtenAt: Timestamp) throws -> (name: String, bytes: Int, keepFrom: UInt64) {
        let bytes = try SnapshotFile.encode(value, writtenAt: writtenAt)
        let name = SnapshotFile.name(lsn: value.lsn)
        try storage.writeAtomically(bytes, to: file(name))
        let snapshots = try files().snapshots
        for old in snapshots.dropFirst(2) { try storage.remove(file(old.name)) }
        let kept = snapshots.prefix(2)
        return (name, bytes.count, kept.last?.lsn ?? value.lsn)
    }
}
