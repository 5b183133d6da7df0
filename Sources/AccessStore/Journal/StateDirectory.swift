import AccessMapping
public import AccessCore
package import AccessWire
import Foundation
public import Logging

#if canImport(Glibc)
    import Glibc
#endif

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
        /// What kind of problem it is: it decides the exit status (`ExitStatus.forStateError`).
        public var kind: Kind = .damaged

        public enum Kind: Sendable, Equatable {
            /// Damage, a gap, a format this accessd does not read: exit 65.
            case damaged
            /// A state file accessd's user may not read (a permission, not damage): exit 74.
            case unreadable
            /// A snapshot or journal segment under a name accessd does not load, and nothing else to start from: exit 78.
            case misplaced
            /// Recovery was asked to stop (SIGTERM while starting): nothing on disk changed; exit 0.
            case stopped
        }

        /// Recovery stopped because `shouldStop` said so.
        package static let stopped = RecoveryError(
            description: "recovery stopped before it finished (a shutdown was asked for); the state directory is unchanged",
            kind: .stopped)
    }

    /// A state file accessd's user may not open: not damage, and never a
    /// reason to pass the file over or to start with --accept-data-loss.
    package static func unreadable(_ path: String, _ error: StorageError) -> RecoveryError {
        let user = OwnedDirectory.userName(geteuid()) ?? String(geteuid())
        return RecoveryError(
            description:
                "\(error). The file is not damaged, only out of reach of the user accessd runs as: give it to that user (chown \(user): \(path)) and start again. Do not start with --accept-data-loss for this: it would leave the file's records out",
            kind: .unreadable)
    }

    /// What recovery found.
    public struct Recovered: Sendable {
        public var durable: DurableState
        /// The snapshot loaded, if any, and the journal record it holds.
        public var snapshot: String?
        public var snapshotLSN: UInt64
        /// The loaded snapshot's revision and when it was written (ms since the epoch); 0 without one.
        public var snapshotRevision: UInt64
        public var snapshotWrittenAtMilliseconds: Int64
        /// Journal records replayed after it.
        public var replayed: Int
        /// Things an operator should know (a fallback, a torn tail cut off, a loss accepted).
        public var warnings: [String]
    }

    /// A snapshot recovery does not load is renamed with one of these
    /// suffixes, once the start succeeds: kept for inspection, never listed
    /// as a snapshot again, so never counted among the two kept.
    package static let damagedSuffix = ".damaged"
    package static let unknownVersionSuffix = ".unknown-version"

    package struct Files {
        package var snapshots: [(lsn: UInt64, name: String)]  // newest first
        package var segments: [(lsn: UInt64, name: String)]  // oldest first
        package var temporaries: [String]
        /// Snapshots an earlier start set aside.
        package var setAside: [String]
        /// Snapshots and segments under names accessd does not load (a backup copied in as `backup.snap`).
        package var strays: [Stray] = []
    }

    /// A regular file whose first bytes are a snapshot's or a journal
    /// segment's header, under a name accessd does not load: never read as
    /// state, but named at every start and by check-state, since it is
    /// almost always a backup copied in by hand under the wrong name.
    package struct Stray: Sendable, Equatable {
        package var name: String
        package var kind: Kind
        package enum Kind: Sendable, Equatable {
            case snapshot(version: UInt32, lsn: UInt64)
            case segment(version: UInt32, firstLSN: UInt64)
        }

        /// The name accessd would load it by.
        package var rightName: String {
            switch kind {
            case .snapshot(_, let lsn): SnapshotFile.name(lsn: lsn)
            case .segment(_, let first): JournalFormat.segmentName(firstLSN: first)
            }
        }

        package var what: String {
            switch kind {
            case .snapshot(let version, let lsn): "a snapshot (format \(version), journal record \(lsn))"
            case .segment(let version, let first): "a journal segment (format \(version), from record \(first))"
            }
        }

        /// The header of a snapshot or segment at the start of `bytes`, if any.
        package static func kind(ofFileStarting bytes: [UInt8]) -> Kind? {
            guard bytes.count >= 24 else { return nil }
            func number(_ offset: Int, _ count: Int) -> UInt64 { bytes[offset..<offset + count].reduce(0) { $0 << 8 | UInt64($1) } }
            let magic = Array(bytes[0..<8])
            if magic == SnapshotFile.magic { return .snapshot(version: UInt32(number(8, 4)), lsn: number(12, 8)) }
            if magic == JournalFormat.magic { return .segment(version: UInt32(number(8, 4)), firstLSN: number(16, 8)) }
            return nil
        }
    }

    package func files() throws(StorageError) -> Files {
        var files = Files(snapshots: [], segments: [], temporaries: [], setAside: [])
        for name in try storage.list(path) {
            if let lsn = SnapshotFile.lsn(ofSnapshotNamed: name) {
                files.snapshots.append((lsn, name))
            } else if let lsn = JournalFormat.firstLSN(ofSegmentNamed: name) {
                files.segments.append((lsn, name))
            } else if name.hasSuffix(".tmp") {
                files.temporaries.append(name)
            } else if name.hasPrefix("snapshot-"), name.hasSuffix(Self.damagedSuffix) || name.hasSuffix(Self.unknownVersionSuffix) {
                files.setAside.append(name)
            } else if name != "lock",
                // A file that cannot be read is not looked into: only what accessd will load has to be readable.
                let head = try? storage.readPrefix(file(name), count: 32), let kind = Stray.kind(ofFileStarting: head)
            {
                files.strays.append(Stray(name: name, kind: kind))
            }
        }
        files.snapshots.sort { $0.lsn > $1.lsn }
        files.segments.sort { $0.lsn < $1.lsn }
        files.setAside.sort()
        files.strays.sort { $0.name < $1.name }
        return files
    }

    private func file(_ name: String) -> String { path + "/" + name }

    /// A snapshot recovery passed over on its way to an older one.
    private struct PassedOver {
        var path: String
        /// The journal record its name says it holds.
        var lsn: UInt64
        /// The format version it names when that is not ours; nil when it is damaged.
        var unknownVersion: UInt32?
        /// Why it was not loaded.
        var reason: String
    }

    /// What recovery changes on disk, done only once it has decided to
    /// start: a refused start changes nothing.
    private struct Changes {
        var setAside: [(from: String, to: String)] = []
        var cut: (path: String, length: Int)?
        var removals: [String] = []
    }

    /// Loads the state: the newest snapshot that holds, then every journal
    /// record after it.
    ///
    /// A damaged snapshot is passed over for the next older one (saying
    /// which), and a snapshot of a format version this accessd does not read
    /// (a newer accessd's, or a damaged header) too, but only when the older
    /// snapshot and the journal after it hold every record the passed-over
    /// one does; otherwise the start stops naming the snapshot (for a damaged
    /// one `acceptLoss` starts anyway, saying which records are lost; for an
    /// unknown version never: run the accessd that wrote it, or move that
    /// snapshot aside). Snapshots passed over are renamed aside (`.damaged`,
    /// `.unknown-version`) so that the next snapshot keeps the newest two that
    /// hold.
    ///
    /// A torn last record of the newest segment is cut off with a warning. A
    /// damaged record (in a segment that is not the newest, even its last
    /// one: the writer synced it before starting the next), a gap in the
    /// records or an unknown format version stops the recovery with a message
    /// naming the file and offset, unless `acceptLoss` is set: then the
    /// journal is cut at the damage and later segments are dropped, loudly.
    /// `readOnly` (check-state) changes nothing on disk; otherwise too the
    /// disk changes only once recovery has succeeded.
    ///
    /// `shouldStop` is asked before each snapshot, segment and journal record
    /// (one lock, against a record's decoding) and before the disk is changed:
    /// once it says yes, recovery throws `RecoveryError.stopped` and leaves
    /// the directory as it found it (SIGTERM during a long recovery).
    public func recover(
        acceptLoss: Bool = false, eventRetention: Int = 100_000, readOnly: Bool = false, logger: Logger,
        shouldStop: () -> Bool = { false }
    ) throws(RecoveryError) -> Recovered {
        func stopIfAsked() throws(RecoveryError) {
            if shouldStop() { throw RecoveryError.stopped }
        }
        let files: Files
        do {
            if !readOnly { try storage.createDirectory(path, mode: 0o700) }
            files = try self.files()
        } catch {
            throw RecoveryError(
                description: "cannot read the state directory \(path): \(error)",
                kind: error.kind == .permissionDenied ? .unreadable : .damaged)
        }
        var warnings: [String] = []
        func warn(_ text: String) {
            warnings.append(text)
            // The sentence is the operator's (check-state prints it too); the directory goes in metadata.
            logger.warning("\(text)", metadata: .accessd([.file: "\(path)"]))
        }
        var changes = Changes()
        // Snapshots or segment headers that never got renamed into place.
        changes.removals = files.temporaries.map(file)

        // A snapshot copied in under another name is never loaded: say so, and
        // never start empty beside one, which would look like a lost state.
        if files.snapshots.isEmpty && files.segments.isEmpty, let stray = files.strays.first {
            let others = files.strays.dropFirst().map { "\(file($0.name)) (\($0.what), named \($0.rightName) to load)" }
            throw RecoveryError(
                description:
                    "the state directory \(path) has no snapshot or journal segment under the names accessd loads, but \(file(stray.name)) is \(stray.what)\(others.isEmpty ? "" : ", and so are \(others.joined(separator: ", "))"): starting would start an empty state and ignore it. To load it, give it its name (mv \(file(stray.name)) \(file(stray.rightName)); or install a backup with accessd restore FILE --state-dir \(path)); to start empty, move it out of the directory",
                kind: .misplaced)
        }
        for stray in files.strays {
            warn(
                "\(file(stray.name)) is \(stray.what) under a name accessd does not load (it loads \(stray.rightName)): ignored. Rename it to have it loaded, or move it out of the state directory")
        }

        // The newest snapshot that holds.
        var durable = DurableState(state: AccessState(), history: EventHistory(retention: eventRetention))
        var loaded: (path: String, lsn: UInt64, revision: UInt64, writtenAt: Int64)?
        var passedOver: [PassedOver] = []
        for (index, snapshot) in files.snapshots.enumerated() {
            try stopIfAsked()
            let name = file(snapshot.name)
            let older = files.snapshots.dropFirst(index + 1).first.map { file($0.name) }
            let fallback = older.map { "falling back to \($0)" } ?? "no older snapshot to fall back to"
            let bytes: [UInt8]
            do {
                guard let read = try storage.read(name) else { continue }
                bytes = read
            } catch {
                // Out of reach is not damage: passing it over could start from less than it holds.
                if error.kind == .permissionDenied { throw Self.unreadable(name, error) }
                let reason = "the snapshot \(name) cannot be read (\(error))"
                passedOver.append(PassedOver(path: name, lsn: snapshot.lsn, unknownVersion: nil, reason: reason))
                warn("\(reason); \(fallback)")
                continue
            }
            if let header = SnapshotFile.header(bytes), !SnapshotFile.readableVersions.contains(header.version) {
                let origin = header.version > SnapshotFile.formatVersion ? "a newer accessd wrote it" : "a format this accessd no longer reads"
                let readable = SnapshotFile.readableVersions
                let reason =
                    "the snapshot \(name) has format version \(header.version); this accessd reads versions \(readable.lowerBound) to \(readable.upperBound) (\(origin), or its header is damaged)"
                passedOver.append(PassedOver(path: name, lsn: snapshot.lsn, unknownVersion: header.version, reason: reason))
                warn(
                    "\(reason); "
                        + (older.map { "trying \($0), used only if it and the journal after it hold every record this one does" }
                            ?? "no older snapshot to fall back to"))
                continue
            }
            do {
                let decoded = try SnapshotFile.decode(bytes, path: name, eventRetention: eventRetention)
                durable = decoded.durable
                loaded = (name, durable.lsn, durable.state.revision, decoded.writtenAtMilliseconds)
                break
            } catch {
                let reason = "the snapshot \(name) is damaged (\(error.reason))"
                passedOver.append(PassedOver(path: name, lsn: snapshot.lsn, unknownVersion: nil, reason: reason))
                warn("\(reason); \(fallback)")
            }
        }
        let unknown = passedOver.filter { $0.unknownVersion != nil }
        /// Refuses to pass over a snapshot of an unknown version: `why` the fallback would lose something.
        func refuseUnknownVersion(_ why: String) -> RecoveryError {
            let names = unknown.map(\.path).joined(separator: " and ")
            return RecoveryError(
                description: "\(unknown.map(\.reason).joined(separator: "; ")), and \(why). Run the accessd that wrote it, or move \(names) aside to start from what is older (losing what only it holds)")
        }
        if loaded == nil && !passedOver.isEmpty {
            guard unknown.isEmpty else { throw refuseUnknownVersion("no older snapshot holds") }
            guard acceptLoss else {
                throw RecoveryError(
                    description: "no snapshot in \(path) holds: \(passedOver.map(\.reason).joined(separator: "; ")). Restore one from a backup, or start with --accept-data-loss to rebuild from the journal alone")
            }
            warn("no snapshot holds; rebuilding from the journal alone (--accept-data-loss)")
        }
        for snapshot in passedOver {
            let suffix = snapshot.unknownVersion == nil ? Self.damagedSuffix : Self.unknownVersionSuffix
            changes.setAside.append((snapshot.path, snapshot.path + suffix))
        }

        // The journal after it.
        var expected = durable.lsn + 1
        var replayed = 0
        // The hash of record `expected - 1`, once known: from the snapshot (before
        // the chain, snapshots have none) or the journal; record 1 follows the zero hash.
        var known: LogHash? = durable.lsn == 0 || durable.logHash != .zero ? durable.logHash : nil
        func replay() throws(RecoveryError) {
            var segments = files.segments[...]
            while let segment = segments.popFirst() {
                try stopIfAsked()
                let name = file(segment.name)
                let bytes: [UInt8]
                do {
                    bytes = try storage.read(name) ?? []
                } catch {
                    if error.kind == .permissionDenied { throw Self.unreadable(name, error) }
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
                        changes.removals.append(name)
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
                    changes.removals += [name] + segments.map { file($0.name) }
                    return
                }
                for record in scan.records {
                    try stopIfAsked()
                    let payload = Array(record.payload)
                    let decoded: Accessd_V1_JournalRecord
                    do {
                        decoded = try Accessd_V1_JournalRecord(serializedBytes: payload)
                    } catch {
                        throw RecoveryError(
                            description: "the journal segment \(name) has a record at offset \(record.offset) whose checksum holds but which does not decode. Restore the state directory from a backup")
                    }
                    let logRecord: LogRecord
                    do {
                        logRecord = try LogRecord(decoded: decoded, bytes: payload, formatVersion: scan.version)
                    } catch {
                        throw RecoveryError(
                            description: "the journal segment \(name) has a record at offset \(record.offset) whose checksum holds but which is \(error.reason). Restore the state directory from a backup")
                    }
                    if decoded.lsn < expected {
                        // A snapshot already holds it; the record it ends with is where the chain goes on.
                        if decoded.lsn == expected - 1 { known = logRecord.hash }
                        continue
                    }
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
                    if scan.version >= 3, let known, logRecord.previousHash != known {
                        let broken =
                            "the journal segment \(name) has record \(decoded.lsn) at offset \(record.offset) naming the previous hash \(logRecord.previousHash), but record \(decoded.lsn - 1) has the hash \(known): it was not written after it (a record of another history)"
                        guard acceptLoss else {
                            throw RecoveryError(
                                description: "\(broken). Restore the state directory from a backup, or start with --accept-data-loss to keep only what comes before it")
                        }
                        warn("\(broken); keeping only what comes before it (--accept-data-loss)")
                        stopAt = record.offset
                        break
                    }
                    do {
                        try Self.apply(decoded, version: scan.version, to: &durable)
                    } catch {
                        throw RecoveryError(
                            description: "the journal segment \(name) has a record at offset \(record.offset) (record \(decoded.lsn)) that does not apply to the state: \(error). Restore the state directory from a backup")
                    }
                    known = logRecord.hash
                    expected += 1
                    replayed += 1
                }
                if stopAt == nil {
                    switch scan.end {
                    case .clean:
                        break
                    case .torn(let offset, let reason) where isLast:
                        warn("the journal segment \(name) ends in a torn record at offset \(offset) (\(reason)): an append a crash cut short, never acknowledged; cutting it off")
                        stopAt = offset
                    case .torn(let offset, let reason), .damaged(let offset, let reason):
                        // Only the newest segment can end torn: the writer syncs a segment before it starts the next.
                        let after = isLast ? "with \(bytes.count - offset) bytes after it" : "and later segments follow"
                        guard acceptLoss else {
                            throw RecoveryError(
                                description: "the journal segment \(name) is damaged at offset \(offset): \(reason), \(after). Restore the state directory from a backup, or start with --accept-data-loss to keep only the records before offset \(offset)")
                        }
                        let later = segments.isEmpty ? "" : " (\(segments.map(\.name).joined(separator: ", ")))"
                        warn("the journal segment \(name) is damaged at offset \(offset) (\(reason)); dropping the \(bytes.count - offset) bytes from there on and every later segment\(later) (--accept-data-loss)")
                        stopAt = offset
                    }
                }
                if let stopAt {
                    changes.cut = (name, stopAt)
                    changes.removals += segments.map { file($0.name) }
                    return
                }
            }
        }
        do {
            try replay()
        } catch {
            guard unknown.isEmpty else { throw refuseUnknownVersion("falling back to \(loaded?.path ?? "nothing") stops: \(error)") }
            throw error
        }
        if let known { durable.logHash = known }

        // Passing over a snapshot must not lose what it held.
        if let newest = passedOver.first, newest.lsn > durable.lsn {
            let reach =
                (loaded.map { "the older snapshot \($0.path) and the journal after it reach" } ?? "the journal alone reaches")
                + " only record \(durable.lsn)"
            let lost = "records \(durable.lsn + 1)...\(newest.lsn)"
            if unknown.contains(where: { $0.lsn > durable.lsn }) {
                throw refuseUnknownVersion("\(reach), so falling back would lose \(lost)")
            }
            guard acceptLoss else {
                throw RecoveryError(
                    description: "\(newest.reason), and \(reach): \(lost) would be lost. Restore the snapshot from a backup, or start with --accept-data-loss to start from record \(durable.lsn)")
            }
            warn("\(newest.reason), and \(reach): \(lost) are lost (--accept-data-loss)")
        }

        for (from, to) in changes.setAside {
            warn(
                readOnly
                    ? "a start would move \(from) aside as \(to)"
                    : "moved \(from) aside as \(to): kept for inspection, never loaded")
        }
        try stopIfAsked()
        if !readOnly {
            do throws(StorageError) {
                for (from, to) in changes.setAside { try storage.rename(from, to: to) }
                if let cut = changes.cut { try storage.truncate(cut.path, to: cut.length) }
                for name in changes.removals { try storage.remove(name) }
            } catch {
                throw RecoveryError(description: "cannot change the state directory \(path) as recovery requires: \(error)")
            }
        }
        return Recovered(
            durable: durable, snapshot: loaded?.path, snapshotLSN: loaded?.lsn ?? 0,
            snapshotRevision: loaded?.revision ?? 0, snapshotWrittenAtMilliseconds: loaded?.writtenAt ?? 0, replayed: replayed,
            warnings: warnings)
    }

    /// `inspect` for `accessctl check-state` on the real filesystem: the
    /// directory opened and checked as accessd opens it (its owner and mode,
    /// a link at its path), and no link inside it followed; a missing one is
    /// what accessd would create. Changes nothing.
    public static func inspect(path: String) -> (lines: [String], ok: Bool) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return StateDirectory(path: path).inspect() }
        let owned: OwnedDirectory
        do {
            // Its owner is checked against nothing here: check-state does not know the user accessd runs as.
            owned = try OwnedDirectory.open(path, create: false, user: nil)
        } catch {
            return (["state directory: \(path)", "problem: \(error)"], false)
        }
        var report = StateDirectory(storage: PosixStorage(directory: owned), path: path).inspect()
        report.lines.insert(
            "owner \(OwnedDirectory.who(owned.owner)), mode \(OwnedDirectory.octal(mode_t(owned.mode))): accessd must run as that user or root",
            at: 1)
        return report
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
        if files.snapshots.isEmpty && files.segments.isEmpty && files.strays.isEmpty {
            lines.append("no snapshot and no journal: the daemon starts empty")
        }
        for snapshot in files.snapshots.reversed() {
            let name = file(snapshot.name)
            do {
                let bytes = try storage.read(name) ?? []
                let value = try SnapshotFile.decode(bytes, path: name).durable
                lines.append(
                    "snapshot \(snapshot.name): journal record \(value.lsn), revision \(value.state.revision), \(value.state.accounts.count) accounts, \(value.state.users.count) users, \(bytes.count) bytes, checksum ok")
            } catch {
                lines.append("snapshot \(snapshot.name): \(error)")
            }
        }
        for name in files.setAside { lines.append("snapshot \(name): set aside by an earlier start, never loaded") }
        for stray in files.strays {
            lines.append("stray \(stray.name): \(stray.what) under a name accessd does not load; accessd loads it only as \(stray.rightName)")
        }
        // The hash of the record before the next one, to check the chain across segments.
        var chain: (lsn: UInt64, hash: LogHash)?
        for (index, segment) in files.segments.enumerated() {
            let name = file(segment.name)
            do {
                let bytes = try storage.read(name) ?? []
                let scan = try JournalFormat.scan(bytes)
                var lsns: [UInt64] = []
                var broken: UInt64?
                for record in scan.records {
                    let decoded = try? LogRecord.decode(Array(record.payload), formatVersion: scan.version).record
                    lsns.append(decoded?.lsn ?? 0)
                    guard let decoded else { continue }
                    if scan.version >= 3, let before = chain, before.lsn + 1 == decoded.lsn, before.hash != decoded.previousHash,
                        broken == nil
                    {
                        broken = decoded.lsn
                    }
                    chain = (decoded.lsn, decoded.hash)
                }
                var range = lsns.isEmpty ? "no records" : "records \(lsns.first!)...\(lsns.last!) (\(lsns.count))"
                range = "format \(scan.version), " + range
                if let broken {
                    range += ", hash chain BROKEN at record \(broken) (it does not follow the record before it)"
                } else if scan.version >= 3, !lsns.isEmpty {
                    range += ", hash chain holds"
                }
                let end: String
                switch scan.end {
                case .clean: end = "ends cleanly"
                case .torn(let offset, let reason) where index == files.segments.count - 1:
                    end = "torn at offset \(offset) (\(reason))"
                case .torn(let offset, let reason):
                    // Only the newest segment can end torn.
                    end = "DAMAGED at offset \(offset) (\(reason), in a segment later ones follow)"
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
                "recovery: \(recovered.snapshot.map { "snapshot " + ($0 as NSString).lastPathComponent } ?? "no snapshot") + \(recovered.replayed) journal records = journal record \(recovered.durable.lsn) (hash \(recovered.durable.logHash.description.prefix(16))), revision \(recovered.durable.state.revision), \(recovered.durable.state.accounts.count) accounts, \(recovered.durable.state.users.count) users")
            return (lines, true)
        } catch {
            lines.append("problem: \(error)")
            return (lines, false)
        }
    }

    /// Applies one journal record to a recovered state.
    /// Applies one journal record (of segment format `version`) to a recovered state.
    package static func apply(_ record: Accessd_V1_JournalRecord, version: UInt32 = JournalFormat.version, to durable: inout DurableState) throws {
        var events = try record.events.map { wire throws in try Event(wire: wire) }
        if !record.outboxTokens.isEmpty {
            // The tokens kept beside the events go back into their outbox messages.
            let tokens = Dictionary(record.outboxTokens.map { ($0.messageID, $0.token) }, uniquingKeysWith: { first, _ in first })
            events = events.map { event in
                guard case .outboxMessageQueued(let message) = event.change, let token = tokens[message.id.rawValue] else { return event }
                return event.withToken(token)
            }
        }
        try durable.state.apply(events)
        // The history is what reads and streams serve: no secrets (format 1 kept tokens in events).
        durable.history.append(events.map(\.withoutSecrets))
        for reply in record.idempotentReplies {
            if version >= 2 {
                durable.idempotency.insert(IdempotencyStore.Entry(wire: reply))
            } else if let entry = FormatVersions.legacyReply(reply) {
                durable.idempotency.insert(entry)
            }
        }
        durable.lsn = record.lsn
    }

    /// Writes a snapshot of `value` (temporary file, sync, rename, directory
    /// sync), keeps the newest two and returns the lsn of the older one kept:
    /// journal segments wholly before it may go. Recovery renames aside every
    /// snapshot it passed over, so the two kept are snapshots that held at
    /// the start or were written since, never a damaged one.
    public func writeSnapshot(_ value: DurableState, writtenAt: Timestamp) throws -> (name: String, bytes: Int, keepFrom: UInt64) {
        try writeSnapshot(bytes: try SnapshotFile.encode(value, writtenAt: writtenAt), lsn: value.lsn)
    }

    /// Writes a snapshot's encoded bytes (`SnapshotFile.encode`) as `writeSnapshot` does.
    package func writeSnapshot(bytes: [UInt8], lsn: UInt64) throws(StorageError) -> (name: String, bytes: Int, keepFrom: UInt64) {
        let name = SnapshotFile.name(lsn: lsn)
        try storage.writeAtomically(bytes, to: file(name))
        let snapshots = try files().snapshots
        for old in snapshots.dropFirst(2) { try storage.remove(file(old.name)) }
        let kept = snapshots.prefix(2)
        return (name, bytes.count, kept.last?.lsn ?? lsn)
    }
}

extension StateDirectory {
    /// The newest journal record the directory holds, read cheaply (the
    /// newest snapshot's lsn, or the last whole record of the newest
    /// segment, whichever is later) without recovering: whether this host
    /// is behind what a shared log keeps. 0 for an empty directory.
    package func newestLSN() throws(StorageError) -> UInt64 {
        let files = try files()
        var newest = files.snapshots.first?.lsn ?? 0
        if let segment = files.segments.last, let bytes = try storage.read(path + "/" + segment.name),
            let scan = try? JournalFormat.scan(bytes)
        {
            newest = max(newest, segment.lsn - 1)
            if let last = scan.records.last,
                let record = try? LogRecord.decode(Array(last.payload), formatVersion: scan.version).record
            {
                newest = max(newest, record.lsn)
            }
        }
        return newest
    }
}
