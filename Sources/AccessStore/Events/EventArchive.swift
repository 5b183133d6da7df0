public import AccessCore
import AccessWire
package import Foundation
public import Logging
package import NIOCore
import NIOPosix

/// The event history on disk, so that ListEvents and FollowEvents answer from
/// any seq within the retention window whatever memory, a snapshot or a
/// restart left (README "Event history").
///
/// The log is derived data: the journal is what makes an event durable, and
/// the log copies the events the owner publishes, on a thread of its own and
/// without a sync per write (segments are synced when they end, at each
/// snapshot and at shutdown). Two rules keep it whole:
/// - the journal keeps a segment until the log has synced its events
///   (`sync(through:)` before `JournalWriter.removeSegments`), so
/// - at start the log takes what it lacks from the journal: after a crash its
///   unsynced tail, after an upgrade everything the journal holds.
///
/// Segments (`EventArchiveFormat`) hold at most a sixteenth of the retention
/// count (16...65,536 events), 16 MiB, and a sixteenth of the retention age,
/// so whole segments go as the window moves. An index in memory (every
/// segment's first seq, and a mark every 32 KiB: one per ~100 events) finds a
/// seq with one binary search and reads at most 32 KiB before it.
///
/// Reads run on a pool of their own threads, never on an event loop.
public final class EventArchive: @unchecked Sendable {
    /// What is kept: the newest `count` events, and none older than `milliseconds`
    /// (whichever keeps less).
    public struct Retention: Sendable, Equatable {
        public var count: Int
        public var milliseconds: Int64

        public init(count: Int, milliseconds: Int64) {
            self.count = max(1, count)
            self.milliseconds = max(1, milliseconds)
        }

        /// Events per segment at most.
        package var segmentEvents: Int { min(65_536, max(16, count / 16)) }
        /// How long after its first event a segment stops taking events.
        package var segmentSpanMilliseconds: Int64 { max(1, milliseconds / 16) }

        /// The oldest seq the count keeps when the newest is `head`.
        package func countFloor(head: UInt64) -> UInt64 { head >= UInt64(count) ? head - UInt64(count) + 1 : 1 }
    }

    package static let segmentBytes = 16 * 1024 * 1024
    package static let markEvery = 32 * 1024
    /// Bytes appended in one write at most.
    package static let writeBytes = 1024 * 1024

    /// Where a record starts.
    package struct Mark: Sendable, Equatable {
        package var seq: UInt64
        package var offset: Int
    }

    package struct Segment: Sendable {
        package var firstSeq: UInt64
        package var firstTime: Int64
        package var name: String
        /// Bytes of whole records: nothing past it is read.
        package var length: Int
        /// Its newest event's seq and time, once known (read or written in this run).
        package var lastSeq: UInt64?
        package var lastTime: Int64?
        /// Where records start, about every `markEvery` bytes; nil until the segment is read once.
        package var marks: [Mark]?
        /// Why the records stop holding at `length`, when they do (a damaged older segment).
        package var damage: String?
    }

    package let storage: any Storage
    package let directory: String
    public let retention: Retention
    private let logger: Logger
    private let clock: @Sendable () -> Int64

    private let condition = NSCondition()
    // Guarded by `condition`:
    private var segments: [Segment] = []
    /// The newest seq in the log (0: none yet); the next one appended is `written + 1`.
    private var written: UInt64 = 0
    /// The oldest seq the log holds or will hold: pruning moves it.
    private var start: UInt64 = 1
    private var syncedThrough: UInt64 = 0
    private var syncWanted: UInt64 = 0
    private var wakeRequested = false
    private var stopping = false
    private var failing = false
    private var source: (@Sendable () -> EventHistory)?
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)

    // The writer's (the thread's, or `open`'s before the thread starts):
    private var file: (any AppendableFile)?
    private var activeEvents = 0
    private var activeFirstTime: Int64 = 0
    private var lastMarkOffset = 0

    /// Reads from disk run here, off the event loops.
    private let readers = NIOThreadPool(numberOfThreads: 2)

    package init(storage: any Storage, directory: String, retention: Retention, clock: @escaping @Sendable () -> Int64, logger: Logger) {
        self.storage = storage
        self.directory = directory
        self.retention = retention
        self.clock = clock
        self.logger = logger
    }

    private func path(_ name: String) -> String { directory + "/" + name }

    // MARK: - Opening

    /// Opens the log of a state directory whose state is at `head` (after
    /// recovery): cuts a torn tail of the newest segment, drops events past
    /// `head` (a state restored from before them), takes what it lacks from
    /// the journal, prunes, and syncs. A damaged log never stops the start: it
    /// loses history, saying what.
    public static func open(
        storage: any Storage, directory: String, retention: Retention, head: UInt64,
        clock: @escaping @Sendable () -> Int64 = { WallClock.now().millisecondsSinceEpoch }, logger: Logger
    ) throws(StorageError) -> EventArchive {
        let log = EventArchive(storage: storage, directory: directory, retention: retention, clock: clock, logger: logger)
        let started = NIODeadline.now()
        try log.load(head: head)
        log.readers.start()
        let status = log.status
        logger.info(
            "opened the event archive",
            metadata: .accessd([
                .segments: "\(status.segments)", .firstSeq: "\(log.oldestSeq(head: head))", .lastSeq: "\(status.written)",
                .bytes: "\(status.indexBytes)", .milliseconds: "\((NIODeadline.now() - started).nanoseconds / 1_000_000)",
            ]))
        return log
    }

    private func load(head: UInt64) throws(StorageError) {
        let names = try storage.list(directory).compactMap { name in
            EventArchiveFormat.firstSeq(ofSegmentNamed: name).map { (seq: $0, name: name) }
        }.sorted { $0.seq < $1.seq }
        var found: [Segment] = []
        for entry in names {
            guard let reader = try storage.openForReading(path(entry.name)) else { continue }
            let bytes = try reader.read(at: 0, count: EventArchiveFormat.headerLength)
            reader.close()
            let reason: String
            do throws(EventArchiveFormat.BadHeader) {
                let header = try EventArchiveFormat.parseHeader(bytes)
                if header.firstSeq == entry.seq {
                    found.append(Segment(firstSeq: entry.seq, firstTime: header.firstTimeMilliseconds, name: entry.name, length: 0))
                    continue
                }
                reason = "its header says it starts at event \(header.firstSeq)"
            } catch {
                reason = error.reason
            }
            // The history before a segment that cannot be read does not join what follows it.
            let dropped = found.map(\.name) + [entry.name]
            logger.warning(
                "an event archive segment cannot be read; removing it and the older segments: the event history up to it is lost",
                metadata: .accessd([.file: "\(path(entry.name))", .reason: "\(reason)", .segments: "\(dropped.joined(separator: ", "))"]))
            for name in dropped { try storage.remove(path(name)) }
            found = []
        }
        // The newest segment: read whole, cut where it stops holding, and drop events past `head`.
        while let newest = found.last {
            let scanned = try scan(newest, stopAfter: head)
            if let cut = scanned.cut {
                logger.warning(
                    "cutting the newest event archive segment where it stops holding (the journal still holds what follows)",
                    metadata: .accessd([.file: "\(path(newest.name))", .offset: "\(cut.offset)", .reason: "\(cut.reason)"]))
                try storage.truncate(path(newest.name), to: cut.offset)
            }
            if scanned.segment.lastSeq == nil {
                try storage.remove(path(newest.name))
                found.removeLast()
                continue
            }
            found[found.count - 1] = scanned.segment
            break
        }
        segments = found
        written = found.last?.lastSeq ?? 0
        if let last = found.last {
            file = try storage.openForAppend(path(last.name))
            activeEvents = Int(written - last.firstSeq + 1)
            activeFirstTime = last.firstTime
            lastMarkOffset = last.marks?.last?.offset ?? EventArchiveFormat.headerLength
        }
        if written < head {
            let missing = try JournalEvents.read(storage: storage, directory: directory, after: written, through: head)
            let first = missing.first?.seq ?? head + 1
            if first != written + 1 {
                if !segments.isEmpty {
                    logger.warning(
                        "the event archive ends before the events the journal holds, and the events between are gone; removing the older event archive so that the history has no gap",
                        metadata: .accessd([.firstSeq: "\(segments[0].firstSeq)", .lastSeq: "\(written)", .reason: "the journal holds events from \(first) on"]))
                    closeActive()
                    for segment in segments { try storage.remove(path(segment.name)) }
                    segments = []
                } else if first > 1 {
                    logger.notice(
                        "the event history starts where the journal does: it holds nothing older", metadata: .accessd([.firstSeq: "\(first)"]))
                }
                written = first - 1
            }
            if !missing.isEmpty {
                try append(missing)
                logger.info(
                    "the event archive took the events it lacked from the journal",
                    metadata: .accessd([.events: "\(missing.count)", .lastSeq: "\(written)"]))
            }
        }
        start = segments.first?.firstSeq ?? written + 1
        prune(now: clock())
        try file?.sync()
        syncedThrough = written
    }

    /// Reads one segment whole: its marks, its newest event, its length, and
    /// where it stops holding (a bad record, a gap in the seqs, or an event
    /// past `stopAfter`), if it does.
    private func scan(_ segment: Segment, stopAfter: UInt64 = .max) throws(StorageError)
        -> (segment: Segment, cut: (offset: Int, reason: String)?)
    {
        var result = segment
        result.marks = []
        result.lastSeq = nil
        result.length = EventArchiveFormat.headerLength
        guard let reader = try storage.openForReading(path(segment.name)) else { return (result, nil) }
        defer { reader.close() }
        var cursor = SegmentCursor(file: reader, from: EventArchiveFormat.headerLength, end: nil)
        var expected = segment.firstSeq
        var lastMark = -Self.markEvery
        var lastPayload: [UInt8]?
        var cut: (offset: Int, reason: String)?
        reading: while true {
            switch try cursor.next(payload: false) {
            case .end:
                break reading
            case .bad(let offset, let reason):
                cut = (offset, "the event archive segment \(path(segment.name)) stops holding at offset \(offset): \(reason)")
                break reading
            case .record(let seq, let offset, let payload):
                guard seq == expected else {
                    cut = (offset, "the event archive segment \(path(segment.name)) jumps from event \(expected - 1) to \(seq) at offset \(offset)")
                    break reading
                }
                guard seq <= stopAfter else {
                    cut = (offset, "the event archive segment \(path(segment.name)) holds events past \(stopAfter), the newest of the state (restored from before them)")
                    break reading
                }
                if offset - lastMark >= Self.markEvery {
                    result.marks!.append(Mark(seq: seq, offset: offset))
                    lastMark = offset
                }
                result.lastSeq = seq
                lastPayload = payload.map(Array.init)
                result.length = cursor.offset
                expected += 1
            }
        }
        result.lastTime = lastPayload.flatMap { try? Accessd_V1_Event(serializedBytes: $0).timeMs }
        return (result, cut)
    }

    // MARK: - Writing

    /// Starts the writer: it appends every event `source` (the published
    /// history) holds past the log, each time `wake` is called.
    public func start(source: @escaping @Sendable () -> EventHistory) {
        condition.withLock {
            self.source = source
            wakeRequested = true
        }
        let thread = Thread { self.loop() }
        thread.name = "accessd-events"
        condition.withLock { self.thread = thread }
        thread.start()
    }

    /// New events were published (the owner calls it after every durable batch).
    public func wake() {
        condition.withLock {
            wakeRequested = true
            condition.broadcast()
        }
    }

    /// Waits until every event up to `seq` is in the log and synced; false
    /// after `timeout` seconds or when the log cannot write. The journal's
    /// segments holding those events may go only after it returned true.
    public func sync(through seq: UInt64, timeout: Double = 30) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard seq > syncedThrough else { return true }
        syncWanted = max(syncWanted, seq)
        condition.broadcast()
        let deadline = Date().addingTimeInterval(timeout)
        while syncedThrough < seq, !stopping, !failing {
            guard condition.wait(until: deadline) else { break }
        }
        return syncedThrough >= seq
    }

    /// Appends what is left, syncs, stops the writer and the readers. Once.
    public func close() {
        let (first, running) = condition.withLock { () -> (Bool, Bool) in
            defer { stopping = true }
            condition.broadcast()
            return (!stopping, thread != nil)
        }
        guard first else { return }
        if running {
            finished.wait()
        } else {
            // Never started (a start that failed): what `open` wrote is synced already.
            closeActive()
        }
        try? readers.syncShutdownGracefully()
    }

    private func loop() {
        var retryAt: Date?
        while true {
            condition.lock()
            let idle = Date().addingTimeInterval(min(60, Double(retention.segmentSpanMilliseconds) / 1000))
            let until = min(retryAt ?? idle, idle)
            while !wakeRequested, !stopping, syncWanted <= syncedThrough || failing {
                guard condition.wait(until: until) else { break }
            }
            wakeRequested = false
            let stop = stopping
            let source = self.source
            condition.unlock()

            var ok = true
            if let source {
                if stop || retryAt.map({ Date() >= $0 }) ?? true {
                    ok = catchUp(source)
                    retryAt = ok ? nil : Date().addingTimeInterval(1)
                } else {
                    ok = false
                }
            }
            prune(now: clock())
            if ok, condition.withLock({ syncWanted > syncedThrough }) || stop {
                do {
                    try file?.sync()
                    condition.withLock { syncedThrough = max(syncedThrough, written) }
                } catch {
                    logger.error("cannot sync the event archive; journal segments are kept until it can", metadata: .accessd([.error: "\(error)"]))
                    ok = false
                    retryAt = Date().addingTimeInterval(1)
                }
            }
            condition.withLock {
                failing = !ok
                condition.broadcast()
            }
            if stop {
                closeActive()
                finished.signal()
                return
            }
        }
    }

    /// Appends what the published history holds past the log (or, when the
    /// log fell behind it, the journal); false when a write failed.
    private func catchUp(_ source: @Sendable () -> EventHistory) -> Bool {
        while true {
            let history = source()
            let from = condition.withLock { written }
            guard history.lastSeq > from else { return true }
            var events: [EncodedEvent]
            do {
                events = try history.events(after: from, limit: 4096).map(EncodedEvent.init)
            } catch {
                // Fell behind what memory holds: the journal still has it (its segments wait for this log),
                // all of it in one read (each read decodes the journal from the segment that holds `from`).
                events =
                    (try? JournalEvents.read(storage: storage, directory: directory, after: from, through: history.firstSeq - 1)) ?? []
                guard events.first?.seq == from + 1 else {
                    logger.error(
                        "neither memory nor the journal holds the event the archive needs next; it cannot go on",
                        metadata: .accessd([.lastSeq: "\(from)", .firstSeq: "\(history.firstSeq)"]))
                    return false
                }
            }
            do {
                try append(events)
            } catch {
                logger.error("cannot append to the event archive; retrying in a second", metadata: .accessd([.error: "\(error)"]))
                return false
            }
            prune(now: clock())
            // A snapshot waits for a sync: give it one now rather than once writes pause.
            let syncDue = condition.withLock { () -> Bool in
                guard syncWanted > syncedThrough, written >= syncWanted else { return false }
                wakeRequested = true
                return true
            }
            if syncDue { return true }
        }
    }

    /// Appends events that follow `written` in order, starting new segments
    /// as they fill; the index and `written` move after each write.
    private func append(_ events: [EncodedEvent]) throws(StorageError) {
        var buffer: [UInt8] = []
        var marks: [Mark] = []
        var last: EncodedEvent?
        func flush() throws(StorageError) {
            guard let file, let newest = last, !buffer.isEmpty else { return }
            try file.append(buffer)
            let length = file.length
            condition.withLock {
                let index = segments.count - 1
                segments[index].length = length
                segments[index].lastSeq = newest.seq
                segments[index].lastTime = newest.timeMilliseconds
                segments[index].marks = (segments[index].marks ?? []) + marks
                written = newest.seq
                condition.broadcast()
            }
            buffer = []
            marks = []
        }
        for event in events {
            if file == nil || activeEvents >= retention.segmentEvents
                || (file?.length ?? 0) + buffer.count >= Self.segmentBytes
                || event.timeMilliseconds - activeFirstTime >= retention.segmentSpanMilliseconds
            {
                try flush()
                try startSegment(with: event)
            }
            let offset = file!.length + buffer.count
            if offset - lastMarkOffset >= Self.markEvery || offset == EventArchiveFormat.headerLength {
                marks.append(Mark(seq: event.seq, offset: offset))
                lastMarkOffset = offset
            }
            EventArchiveFormat.appendRecord(seq: event.seq, payload: event.bytes, to: &buffer)
            activeEvents += 1
            last = event
            if buffer.count >= Self.writeBytes { try flush() }
        }
        try flush()
    }

    /// Ends the active segment (synced: every segment but the newest is whole
    /// on disk) and starts one with `event`.
    private func startSegment(with event: EncodedEvent) throws(StorageError) {
        if let file {
            try file.sync()
            file.close()
            self.file = nil
            condition.withLock { syncedThrough = max(syncedThrough, written) }
        }
        let name = EventArchiveFormat.segmentName(firstSeq: event.seq)
        try storage.writeAtomically(
            EventArchiveFormat.header(firstSeq: event.seq, firstTimeMilliseconds: event.timeMilliseconds), to: path(name))
        file = try storage.openForAppend(path(name))
        activeEvents = 0
        activeFirstTime = event.timeMilliseconds
        lastMarkOffset = EventArchiveFormat.headerLength - Self.markEvery
        condition.withLock {
            segments.append(
                Segment(firstSeq: event.seq, firstTime: event.timeMilliseconds, name: name, length: EventArchiveFormat.headerLength, marks: []))
        }
    }

    private func closeActive() {
        file?.close()
        file = nil
    }

    /// Removes the oldest segments the retention no longer keeps: every event
    /// in them is past the count, or older than the age.
    private func prune(now: Int64) {
        let cutoff = now - retention.milliseconds
        var removed: [String] = []
        var activeGone = false
        condition.withLock {
            let floor = retention.countFloor(head: written)
            while let first = segments.first {
                let isNewest = segments.count == 1
                let lastSeq = isNewest ? written : segments[1].firstSeq - 1
                let lastTime = first.lastTime ?? (isNewest ? nil : segments[1].firstTime)
                guard lastSeq < floor || (lastTime.map { $0 < cutoff } ?? false) else { break }
                removed.append(first.name)
                segments.removeFirst()
                start = lastSeq + 1
                if isNewest {
                    activeGone = true
                    // Past retention, those events need neither the log nor the journal.
                    syncedThrough = max(syncedThrough, written)
                }
            }
        }
        if activeGone { closeActive() }
        for name in removed {
            do {
                try storage.remove(path(name))
                logger.info("removed an event archive segment past retention", metadata: .accessd([.segment: "\(name)"]))
            } catch {
                logger.warning("cannot remove an event archive segment", metadata: .accessd([.segment: "\(name)", .error: "\(error)"]))
            }
        }
    }

    // MARK: - Reading

    /// The oldest seq that may be read when the newest is `head`: past both
    /// the count and what pruning removed (by age). Above `head` when none is.
    package func floor(head: UInt64) -> UInt64 {
        max(condition.withLock { start }, retention.countFloor(head: head))
    }

    /// The oldest seq held when the newest is `head`; 0 when none is.
    public func oldestSeq(head: UInt64) -> UInt64 {
        let floor = self.floor(head: head)
        return floor <= head ? floor : 0
    }

    /// OUT_OF_RANGE for events after `seq`, naming the oldest held.
    package func outOfRange(after seq: UInt64, head: UInt64) -> AccessError {
        let floor = self.floor(head: head)
        let window = "event_retention_count \(retention.count), event_retention_s \(retention.milliseconds / 1000)"
        guard floor <= head else {
            return AccessError(
                .outOfRange,
                "events after \(seq) are no longer held: no event is (the newest, \(head), is older than the retention: \(window)); follow after \(head) for new ones")
        }
        return AccessError(
            .outOfRange,
            "events after \(seq) are no longer held: the oldest event held is \(floor) (\(window)); read after \(floor - 1), and rebuild what came before from a snapshot of the state")
    }

    /// One event read for a reply.
    package struct Record: Sendable {
        package var seq: UInt64
        package var payload: [UInt8]
    }

    /// Up to `limit` events after `seq`, oldest first, from disk and then
    /// from `memory` (the published history, whose newest is `head`), at most
    /// `maxBytes` of payload (at least one event). Blocks: run it on
    /// `readers`. OUT_OF_RANGE past retention; DATA_LOSS when a segment does
    /// not hold; UNAVAILABLE when the log lags memory for more than 2 s.
    package func read(after seq: UInt64, limit: Int, maxBytes: Int, memory: EventHistory, head: UInt64) throws(AccessError) -> [Record] {
        guard seq < head else { return [] }
        guard seq + 1 >= floor(head: head) else { throw outOfRange(after: seq, head: head) }
        var out: [Record] = []
        var bytes = 0
        var next = seq
        while out.count < limit, next < head, bytes < maxBytes {
            if memory.count > 0, next + 1 >= memory.firstSeq {
                for event in try memory.events(after: next, limit: limit - out.count) {
                    let payload: [UInt8] = (try? Accessd_V1_Event(event).serializedBytes()) ?? []
                    guard out.isEmpty || bytes + payload.count <= maxBytes else { break }
                    out.append(Record(seq: event.seq, payload: payload))
                    bytes += payload.count
                }
                break
            }
            let (got, full) = try readDisk(after: next, limit: limit - out.count, maxBytes: maxBytes - bytes, first: out.isEmpty)
            if full && !got.isEmpty || full && !out.isEmpty {
                out += got
                break
            }
            if got.isEmpty {
                // The writer has not reached it yet (it lags memory by a batch or two).
                let reached = condition.withLock { () -> Bool in
                    let deadline = Date().addingTimeInterval(2)
                    while written <= next, !stopping {
                        guard condition.wait(until: deadline) else { break }
                    }
                    return written > next
                }
                guard reached else {
                    guard seq + 1 >= floor(head: head) else { throw outOfRange(after: seq, head: head) }
                    throw AccessError(.unavailable, "the event archive on disk has not reached event \(next + 1) yet; try again")
                }
                continue
            }
            out += got
            bytes += got.reduce(0) { $0 + $1.payload.count }
            next = got.last!.seq
        }
        return out
    }

    /// Events after `seq` from the segments on disk, as far as they go;
    /// `full` when the next one would pass `maxBytes`.
    private func readDisk(after seq: UInt64, limit: Int, maxBytes: Int, first: Bool) throws(AccessError)
        -> (records: [Record], full: Bool)
    {
        var out: [Record] = []
        var bytes = 0
        var next = seq + 1
        while out.count < limit {
            // The segment holding `next`, indexed.
            let found = condition.withLock { () -> (Int, Segment)? in
                guard next <= written, let index = segments.lastIndex(where: { $0.firstSeq <= next }) else { return nil }
                return (index, segments[index])
            }
            guard let (index, found) = found else { break }
            var segment = found
            if segment.marks == nil {
                do {
                    let scanned = try scan(segment)
                    segment.marks = scanned.segment.marks
                    segment.lastTime = scanned.segment.lastTime
                    segment.length = scanned.cut?.offset ?? scanned.segment.length
                    // Reading stops there with the reason (DATA_LOSS).
                    segment.damage = scanned.cut?.reason
                } catch {
                    throw AccessError(.unavailable, "cannot read the event archive segment \(path(segment.name)): \(error)")
                }
                let indexed = segment
                condition.withLock {
                    if index < segments.count, segments[index].name == indexed.name, segments[index].marks == nil {
                        segments[index] = indexed
                    }
                }
            }
            let marks = segment.marks ?? []
            var low = 0
            var high = marks.count
            while low < high {
                let middle = (low + high) / 2
                if marks[middle].seq <= next { low = middle + 1 } else { high = middle }
            }
            let from = low > 0 ? marks[low - 1].offset : EventArchiveFormat.headerLength
            let reader: (any ReadableFile)?
            do {
                reader = try storage.openForReading(path(segment.name))
            } catch {
                throw AccessError(.unavailable, "cannot read the event archive segment \(path(segment.name)): \(error)")
            }
            guard let reader else {
                // Pruned meanwhile.
                if next < floor(head: written) { throw outOfRange(after: next - 1, head: written) }
                throw AccessError(.dataLoss, "the event archive segment \(path(segment.name)) is missing; events from \(next) on cannot be read")
            }
            defer { reader.close() }
            var cursor = SegmentCursor(file: reader, from: from, end: segment.length)
            reading: while out.count < limit {
                let step: SegmentCursor.Next
                do {
                    step = try cursor.next(payload: true)
                } catch {
                    throw AccessError(.unavailable, "cannot read the event archive segment \(path(segment.name)): \(error)")
                }
                switch step {
                case .end:
                    if let damage = segment.damage {
                        throw AccessError(
                            .dataLoss,
                            "\(damage); events from \(next) on cannot be read from it. Move it aside and restart accessd to keep the history after it")
                    }
                    break reading
                case .bad(let offset, let reason):
                    throw damaged(segment, offset: offset, reason: reason, from: next)
                case .record(let found, let offset, let payload):
                    if found < next { continue }
                    guard found == next, let payload else {
                        throw damaged(segment, offset: offset, reason: "it holds event \(found) where \(next) belongs", from: next)
                    }
                    guard (first && out.isEmpty) || bytes + payload.count <= maxBytes else { return (out, true) }
                    out.append(Record(seq: found, payload: Array(payload)))
                    bytes += payload.count
                    next += 1
                }
            }
            if out.count < limit {
                // The segment is read to its end: the next one must start at `next`.
                let following = condition.withLock { () -> UInt64? in
                    segments.first(where: { $0.firstSeq > segment.firstSeq })?.firstSeq
                }
                if let following, following != next {
                    throw damaged(segment, offset: segment.length, reason: "it ends before event \(next), and the next segment starts at \(following)", from: next)
                }
                if following == nil { break }
            }
        }
        return (out, false)
    }

    private func damaged(_ segment: Segment, offset: Int, reason: String, from seq: UInt64) -> AccessError {
        AccessError(
            .dataLoss,
            "the event archive segment \(path(segment.name)) is damaged at offset \(offset) (\(reason)); events from \(seq) on cannot be read from it. Move it aside and restart accessd to keep the history after it")
    }

    /// Runs `read` on the readers' pool; the future completes on `loop`.
    package func readLater(
        after seq: UInt64, limit: Int, maxBytes: Int, memory: EventHistory, head: UInt64, on loop: any EventLoop
    ) -> EventLoopFuture<[Record]> {
        readers.runIfActive(eventLoop: loop) { [self] in
            do {
                return try read(after: seq, limit: limit, maxBytes: maxBytes, memory: memory, head: head)
            } catch {
                throw error
            }
        }.flatMapErrorThrowing { error in
            if let error = error as? AccessError { throw error }
            throw AccessError(.unavailable, "accessd is shutting down; read again once it is back")
        }
    }

    /// Where the next events of a stream at `after` come from.
    package enum StreamSource: Equatable {
        /// The published history (or nothing new yet).
        case memory
        /// The disk: read on the pool.
        case disk
        /// Past retention.
        case refused(AccessError)
    }

    package func streamSource(after seq: UInt64, memory: EventHistory, head: UInt64) -> StreamSource {
        guard seq < head else { return .memory }
        guard seq + 1 >= floor(head: head) else { return .refused(outOfRange(after: seq, head: head)) }
        return memory.count > 0 && seq + 1 >= memory.firstSeq ? .memory : .disk
    }

    // MARK: - Replies

    /// ListEvents answered by the daemon: from memory on the loop when memory
    /// holds the start, else from disk on the readers' pool.
    package enum ListAnswer {
        case now(Result<Data, AccessError>)
        case later(EventLoopFuture<Data>)
    }

    package func list(_ payload: Data, memory: EventHistory, head: UInt64, maxBytes: Int, on loop: any EventLoop) -> ListAnswer {
        guard let request = try? Accessd_V1_ListEventsRequest(serializedBytes: payload) else {
            return .now(.failure(AccessError(.invalidArgument, "the payload does not decode as accessd.v1.ListEventsRequest")))
        }
        let limit = request.limit == 0 ? 1000 : Int(request.limit)
        let seq = request.afterSeq
        let oldest = oldestSeq(head: head)
        if seq >= head || (memory.count > 0 && seq + 1 >= memory.firstSeq) {
            do {
                return .now(.success(Self.listReply(try read(after: seq, limit: limit, maxBytes: maxBytes, memory: memory, head: head), oldest: oldest)))
            } catch {
                return .now(.failure(error))
            }
        }
        if seq + 1 < floor(head: head) { return .now(.failure(outOfRange(after: seq, head: head))) }
        return .later(
            readLater(after: seq, limit: limit, maxBytes: maxBytes, memory: memory, head: head, on: loop).map { records in
                Self.listReply(records, oldest: oldest)
            })
    }

    /// A `ListEventsResponse` written from the events' bytes (as swift-protobuf would).
    package static func listReply(_ records: [Record], oldest: UInt64) -> Data {
        var out: [UInt8] = []
        out.reserveCapacity(records.reduce(16) { $0 + $1.payload.count + 6 })
        func varint(_ value: UInt64) {
            var value = value
            while value >= 0x80 {
                out.append(UInt8(truncatingIfNeeded: value) | 0x80)
                value >>= 7
            }
            out.append(UInt8(value))
        }
        for record in records {
            out.append(0x0A)  // field 1 (events), length-delimited
            varint(UInt64(record.payload.count))
            out += record.payload
        }
        if oldest != 0 {
            out.append(0x10)  // field 2 (oldest_seq), varint
            varint(oldest)
        }
        return Data(out)
    }

    // MARK: - What it holds

    /// Segments and events on disk, and the index in memory.
    public struct Status: Sendable {
        public var segments: Int
        public var first: UInt64
        public var written: UInt64
        /// Marks in the index (of the segments read so far).
        public var marks: Int
        /// What the index holds: its marks and one entry per segment.
        public var indexBytes: Int {
            marks * MemoryLayout<Mark>.stride + segments * (MemoryLayout<Segment>.stride + 32)
        }
    }

    public var status: Status {
        condition.withLock {
            Status(
                segments: segments.count, first: segments.first?.firstSeq ?? 0, written: written,
                marks: segments.reduce(0) { $0 + ($1.marks?.count ?? 0) })
        }
    }
}
