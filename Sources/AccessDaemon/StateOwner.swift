package import AccessStore
import AccessMapping
public import AccessCore
import Foundation
import AccessWire
import AccessServer
import NIOConcurrencyHelpers
public import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// The state and recent events as last published: what every read answers
/// from. One immutable object, so a reader takes it with one lock and one retain.
public final class PublishedState: Sendable {
    public let state: AccessState
    public let history: EventHistory
    /// The log record the state is that of, and its hash (GetStats).
    let lsn: UInt64
    let logHash: LogHash

    init(state: AccessState, history: EventHistory, lsn: UInt64 = 0, logHash: LogHash = .zero) {
        self.state = state
        self.history = history
        self.lsn = lsn
        self.logHash = logHash
    }

    public var revision: UInt64 { state.revision }

    /// The Check lane's decision for a frame (`CheckLane.decide`), made on
    /// the state in place: passing `state` out of the object would copy it.
    func decideCheck(_ frame: UnsafeRawBufferPointer) -> CheckLane.Decided? { CheckLane.decide(frame, in: state) }

    /// Loads the access of the users these hashes name (`CheckLane.userHashes`) into cache, in place.
    func warmAccess(_ hashes: [Int]) -> Int { hashes.withUnsafeBufferPointer { state.warmAccess(hashes: $0) } }
}

extension PublishedState {
    /// The oldest event seq held (GetStats): from the event archive when there is
    /// one, else from memory; 0 when none is.
    func oldestEventSeq(_ log: EventArchive?) -> UInt64 {
        if let log { return log.oldestSeq(head: revision) }
        return history.count > 0 ? history.firstSeq : 0
    }
}

/// One write as the owner runs it.
///
/// Who writes and the command are built at the owner, against the working
/// state as the writes before this one left it, not on the connection's loop
/// against the published state: writes received on a connection are applied
/// in order, so a write may name what an earlier one created (a role named
/// by the write before it in the same read) or an actor by the email an
/// earlier write gave them.
struct WriteCall: Sendable {
    /// The principal the write runs as (an actor resolved, or given).
    var principal: @Sendable (_ state: AccessState) throws(AccessError) -> Principal
    /// The command (ids parsed, names resolved against `state`).
    var command: @Sendable (_ state: AccessState) throws(AccessError) -> Command
    var dryRun: Bool
    /// The same key from the same actor within 24 hours gets the first reply again.
    var idempotencyKey: String
    /// Builds the method's reply from the events and the state after them.
    var reply: @Sendable ([Event], AccessState) -> Data
    /// Past this, the write is not applied (DEADLINE_EXCEEDED).
    var deadline: NIODeadline?
    /// The local peer that made the call, recorded in its events.
    var caller: Caller? = nil
    /// How many first replies of keyed writes may be held (per peer uid, in all).
    var keyLimits: IdempotencyStore.Limits = .unbounded

    init(
        principal: @escaping @Sendable (_ state: AccessState) throws(AccessError) -> Principal,
        command: @escaping @Sendable (_ state: AccessState) throws(AccessError) -> Command,
        dryRun: Bool, idempotencyKey: String, reply: @escaping @Sendable ([Event], AccessState) -> Data,
        deadline: NIODeadline?, caller: Caller? = nil, keyLimits: IdempotencyStore.Limits = .unbounded
    ) {
        self.principal = principal
        self.command = command
        self.dryRun = dryRun
        self.idempotencyKey = idempotencyKey
        self.reply = reply
        self.deadline = deadline
        self.caller = caller
        self.keyLimits = keyLimits
    }

    /// A write whose command and principal are known already (tests, tools).
    init(
        command: Command, principal: Principal, dryRun: Bool, idempotencyKey: String,
        reply: @escaping @Sendable ([Event], AccessState) -> Data, deadline: NIODeadline?, caller: Caller? = nil,
        keyLimits: IdempotencyStore.Limits = .unbounded
    ) {
        self.init(
            principal: { _ throws(AccessError) in principal }, command: { _ throws(AccessError) in command },
            dryRun: dryRun, idempotencyKey: idempotencyKey, reply: reply, deadline: deadline, caller: caller,
            keyLimits: keyLimits)
    }
}

/// The owner's answer to one write: its events, or why it was refused.
enum WriteOutcome: Sendable {
    case applied(reply: Data, revision: UInt64)
    case refused(AccessError)
}

/// The only writer of the state. Its executor is an event loop of its own,
/// which serves no connection: connections hand it whole batches (one hop per
/// batch), and it runs them there and appends them to the log (`EventLog`:
/// the local journal, or a shared log), which of them it does not know.
///
/// A batch is applied to the working state at once and its events go to the
/// log as one record; the replies wait for that record to be durable. The
/// owner does not wait for the disk: the log completes the append from its
/// own thread and the owner goes on on its loop, queuing the batches that
/// arrive meanwhile (one append in flight). Only once the record is durable
/// is the new state published for reads on every loop (and sent to
/// followers), so reads never wait for a sync and never see a write that a
/// crash could still take back. A record the log fails to write rolls the
/// working state back to the last durable one.
public actor StateOwner {
    public nonisolated let loop: any EventLoop
    public nonisolated var unownedExecutor: UnownedSerialExecutor { loop.executor.asUnownedSerialExecutor() }

    /// What writes apply to: ahead of `durable` by the record in flight.
    private var working: DurableState
    /// What the log holds (per its durability): what reads and snapshots see.
    private(set) var durable: DurableState
    private var random = SystemRandomNumberGenerator()
    private let policy: DomainPolicy
    private let clock: @Sendable () -> Timestamp
    private nonisolated let publishedBox: NIOLockedValueBox<PublishedState>
    private let log: (any EventLog)?
    /// Whether a record is being appended: the batches submitted meanwhile wait in `queued`.
    private var appending = false
    /// Called on this loop after each durable record with its lsn (snapshot after M records).
    private var onDurable: (@Sendable (UInt64) -> Void)?

    /// Followers of events (FollowEvents), told on the owner's loop after
    /// every durable batch; each pulls the new events from the published history.
    private var followers: [FollowerKey: @Sendable () -> Void] = [:]

    /// Wakes the reads waiting for `min_revision` as revisions are published.
    public nonisolated let revisions: RevisionSignal

    /// Why writes are refused for good (the log and this host diverged, or the
    /// log holds a record this accessd cannot read): every write fails with it.
    private(set) var writesStopped: StorageError?
    /// Records another host committed that arrived (`applyCommitted`) while
    /// a batch was being appended: applied once the batch is done (`drain`).
    private var arrivedDuringAppend: [LogRecord] = []
    /// The newest event time applied: events get no earlier time, so their
    /// times never go back, whichever host's clock wrote the one before.
    private var latestEventTime: Timestamp

    /// Batches waiting for the next record, in order (see `submit`).
    private var queued: [(calls: [WriteCall], solo: Bool, completion: BatchCompletion)] = []
    /// Whether a drain is scheduled on the loop.
    private var drainScheduled = false

    /// The outcomes of a batch once they may be sent, or the log's error
    /// (then none of the batch was applied). Called on the owner's loop.
    typealias BatchCompletion = @Sendable (Result<[WriteOutcome], any Error>) -> Void

    package init(
        loop: any EventLoop, durable: DurableState, policy: DomainPolicy, log: (any EventLog)? = nil,
        clock: @escaping @Sendable () -> Timestamp = StateOwner.wallClock
    ) {
        self.loop = loop
        self.working = durable
        self.durable = durable
        self.policy = policy
        self.log = log
        self.clock = clock
        self.publishedBox = NIOLockedValueBox(
            PublishedState(state: durable.state, history: durable.history, lsn: durable.lsn, logHash: durable.logHash))
        self.revisions = RevisionSignal(reached: durable.state.revision)
        self.latestEventTime = Self.newestEventTime(in: durable.history) ?? Timestamp(millisecondsSinceEpoch: 0)
    }

    private static func newestEventTime(in history: EventHistory) -> Timestamp? {
        guard history.count > 0 else { return nil }
        return (try? history.events(after: history.lastSeq - 1, limit: 1))?.first?.time
    }

    public init(
        loop: any EventLoop, state: AccessState, history: EventHistory, policy: DomainPolicy,
        clock: @escaping @Sendable () -> Timestamp = StateOwner.wallClock
    ) {
        self.init(loop: loop, durable: DurableState(state: state, history: history), policy: policy, clock: clock)
    }

    /// The latest published state; any thread.
    public nonisolated var published: PublishedState { publishedBox.withLockedValue { $0 } }

    /// The wall clock, in milliseconds since the epoch (`WallClock.now`).
    public static let wallClock: @Sendable () -> Timestamp = WallClock.now

    func setOnDurable(_ callback: @escaping @Sendable (UInt64) -> Void) { onDurable = callback }

    /// Runs a batch of writes, after every batch submitted before it, and
    /// calls `completion` (on this loop) when its outcomes may be sent.
    ///
    /// Group commit happens here: the batch joins a queue, and one drain,
    /// scheduled behind whatever the loop already holds, runs everything
    /// queued as one batch, one log record, one published state. While that
    /// record is being appended (and synced) every batch that connections
    /// send meanwhile is queued, and they go out together as the next record
    /// once it is durable; the work per write (applying it, encoding the
    /// record, publishing) is shared by every write that waited together.
    func submit(_ calls: [WriteCall], completion: @escaping BatchCompletion) {
        queued.append((calls, false, completion))
        scheduleDrain()
    }

    private func scheduleDrain() {
        guard !drainScheduled, !appending, !queued.isEmpty else { return }
        drainScheduled = true
        loop.execute { self.assumeIsolated { $0.drain() } }
    }

    private func drain() {
        drainScheduled = false
        guard !appending, !queued.isEmpty else { return }
        // Everything queued, up to a batch that goes alone (`run`).
        let take = queued[0].solo ? 1 : (queued.firstIndex { $0.solo } ?? queued.count)
        let batches = Array(queued[..<take])
        queued.removeFirst(take)
        let calls = batches.count == 1 ? batches[0].calls : batches.flatMap(\.calls)
        appending = true
        execute(calls) { result in
            // On this loop (see `execute`).
            self.assumeIsolated { owner in
                owner.appending = false
                var start = 0
                for batch in batches {
                    let end = start + batch.calls.count
                    batch.completion(result.map { Array($0[start..<end]) }.mapError { $0 })
                    start = end
                }
                // Whatever way the batch ended (committed, failed, or run again after a conflict and
                // then needing no record), the records other hosts committed meanwhile apply now.
                owner.applyArrived()
                owner.scheduleDrain()
            }
        }
    }

    /// Runs a batch of writes in order, after the batches submitted before
    /// it, and appends what they applied to the log as a record of its own
    /// (`submit` groups batches); `completion` gets the outcomes, on this
    /// loop, once they may be sent. When the log failed, none was applied
    /// (the state is rolled back).
    func run(_ batch: [WriteCall], completion: @escaping @Sendable (Result<[WriteOutcome], StorageError>) -> Void) {
        queued.append(
            (batch, true, { result in completion(result.mapError { $0 as? StorageError ?? StorageError(.io, "\($0)") }) }))
        scheduleDrain()
    }

    /// The body of `run`. The log completes the append on its own thread;
    /// its answer comes back to this loop (`appended`).
    private func execute(
        _ batch: [WriteCall], completion: @escaping @Sendable (Result<[WriteOutcome], StorageError>) -> Void
    ) {
        if let writesStopped { return completion(.failure(writesStopped)) }
        let prepared: Prepared
        switch prepare(batch) {
        case .success(let value): prepared = value
        case .failure(let error): return completion(.failure(error))
        }
        guard prepared.changed else { return completion(.success(prepared.outcomes)) }
        guard let log, let record = prepared.record else {
            becameDurable(working, published: !prepared.events.isEmpty)
            return completion(.success(prepared.outcomes))
        }
        let loop = self.loop
        log.append(record) { result in
            loop.execute {
                self.assumeIsolated { $0.appended(result, prepared: prepared, batch: batch, completion: completion) }
            }
        }
    }

    private func appended(
        _ result: Result<AppendOutcome, StorageError>, prepared: Prepared, batch: [WriteCall],
        completion: @escaping @Sendable (Result<[WriteOutcome], StorageError>) -> Void
    ) {
        switch result {
        case .failure(let error):
            // Forget everything not durable: the writes built on it fail with it.
            working = durable
            if error.kind == .diverged || error.kind == .newerFormat { stopWrites(error) }
            completion(.failure(error))
        case .success(.committed(_, let hash)):
            working.logHash = hash
            becameDurable(working, published: !prepared.events.isEmpty)
            completion(.success(prepared.outcomes))
        case .success(.conflict(let records)):
            // Another writer appended first: take its records, then run the same calls again on the new
            // state. The records that arrived meanwhile stay: the conflict's may end before theirs (read
            // earlier), and those beyond it apply once the batch is done (`drain`), past what it took.
            working = durable
            if let error = catchUp(records) { return completion(.failure(error)) }
            execute(batch, completion: completion)
        }
    }

    /// Records another host committed (the log's follower hands them over,
    /// in lsn order): applied and published as this host's own are. Records
    /// this host holds already are passed over; one that does not follow its
    /// newest stops the writes (DATA_LOSS). While a batch is being appended
    /// they wait until it is done, however it ends (`drain`).
    func applyCommitted(_ records: [LogRecord]) {
        guard writesStopped == nil else { return }
        if appending {
            arrivedDuringAppend += records
            return
        }
        // Past what this host holds, each once: a follower that started again from the durable
        // record hands some over twice while they wait for an append.
        var newer: [LogRecord] = []
        for record in records where record.lsn > (newer.last?.lsn ?? durable.lsn) { newer.append(record) }
        if let error = catchUp(newer, emptyIsError: false) {
            stopWrites(error)
        }
    }

    private func applyArrived() {
        guard !arrivedDuringAppend.isEmpty else { return }
        let arrived = arrivedDuringAppend
        arrivedDuringAppend = []
        applyCommitted(arrived)
    }

    /// The newest durable record and its hash: where a follower of the log resumes, and what it checks there.
    var logPosition: (lsn: UInt64, hash: LogHash) { (durable.lsn, durable.logHash) }

    /// Refuses every write from now on with `error` (DATA_LOSS for a
    /// divergence): reads go on answering from the state as it is.
    func stopWrites(_ error: StorageError) {
        guard writesStopped == nil else { return }
        writesStopped = error
        onWritesStopped?(error)
    }

    /// Told once when the writes stop (the daemon logs it and reports it in the health check).
    private var onWritesStopped: (@Sendable (StorageError) -> Void)?
    func setOnWritesStopped(_ callback: @escaping @Sendable (StorageError) -> Void) { onWritesStopped = callback }

    /// What a batch did to the working state, and the record that makes it durable (nil: nothing to append).
    private struct Prepared: Sendable {
        var outcomes: [WriteOutcome]
        var events: [Event]
        /// Whether the batch applied anything (the working state is one record ahead then).
        var changed: Bool
        /// The record to append, when there is a log.
        var record: LogRecord?
    }

    /// Runs the calls against the working state (which then holds what they
    /// applied) and builds the record of what they applied.
    private func prepare(_ batch: [WriteCall]) -> Result<Prepared, StorageError> {
        var outcomes: [WriteOutcome] = []
        outcomes.reserveCapacity(batch.count)
        var applied: [Event] = []
        var replies: [IdempotencyStore.Entry] = []
        for call in batch {
            let now = max(clock(), latestEventTime)
            let keyed = !call.idempotencyKey.isEmpty && !call.dryRun
            let principal: Principal
            do {
                principal = try call.principal(working.state)
            } catch {
                outcomes.append(.refused(error))
                continue
            }
            let actor = principal.description
            if keyed, let first = working.idempotency.lookup(actor: actor, key: call.idempotencyKey, now: now) {
                // Files of earlier versions may hold a refusal; only applied writes are kept now.
                outcomes.append(first.code == .ok
                    ? .applied(reply: first.payload, revision: first.revision)
                    : .refused(AccessError(first.code, first.message)))
                continue
            }
            if let deadline = call.deadline, deadline < loop.now {
                outcomes.append(.refused(AccessError(.deadlineExceeded, "the deadline passed before the write ran; it was not applied")))
                continue
            }
            if keyed, let reason = working.idempotency.refusal(uid: call.caller?.uid, now: now, limits: call.keyLimits) {
                outcomes.append(.refused(AccessError(.resourceExhausted, reason)))
                continue
            }
            let context = CommandContext(principal: principal, now: now, policy: policy, caller: call.caller)
            let outcome: WriteOutcome
            do {
                let command = try call.command(working.state)
                if call.dryRun {
                    var copy = working.state
                    let events = try copy.execute(command, context: context, using: &random)
                    outcome = .applied(reply: call.reply(events, copy), revision: working.state.revision)
                } else {
                    let events = try working.state.execute(command, context: context, using: &random)
                    working.history.append(events.map(\.withoutSecrets))
                    if let time = events.last?.time, time > latestEventTime { latestEventTime = time }
                    applied += events
                    outcome = .applied(reply: call.reply(events, working.state), revision: working.state.revision)
                }
            } catch {
                // R21: a refused write changes nothing, and keeps no reply: a retry runs it again.
                outcome = .refused(error)
            }
            if keyed, case .applied(let reply, let revision) = outcome {
                let entry = IdempotencyStore.Entry(
                    actor: actor, key: call.idempotencyKey, at: now, code: .ok, message: "", payload: reply,
                    revision: revision, caller: call.caller)
                working.idempotency.insert(entry)
                replies.append(entry)
            }
            outcomes.append(outcome)
        }
        guard !applied.isEmpty || !replies.isEmpty else {
            return .success(Prepared(outcomes: outcomes, events: [], changed: false, record: nil))
        }
        let previousHash = working.logHash
        working.lsn += 1
        guard log != nil else { return .success(Prepared(outcomes: outcomes, events: applied, changed: true, record: nil)) }
        var record = Accessd_V1_JournalRecord()
        record.lsn = working.lsn
        record.events = applied.map(Accessd_V1_Event.init)
        record.idempotentReplies = replies.map(\.wire)
        record.outboxTokens = applied.compactMap { event in
            event.outboxToken.map { found in
                var token = Accessd_V1_OutboxToken()
                token.messageID = found.message.rawValue
                token.token = found.token
                return token
            }
        }
        do {
            let logRecord = try LogRecord(record, batchID: .random(using: &random), previousHash: previousHash)
            return .success(Prepared(outcomes: outcomes, events: applied, changed: true, record: logRecord))
        } catch {
            // Cannot happen for well-formed messages; refuse rather than log less than was applied.
            working = durable
            return .failure(StorageError(.io, "the write could not be encoded for the log: \(error)"))
        }
    }

    /// Applies the records another writer appended after `durable` (their
    /// events published as ours are), or says why they do not follow it.
    private func catchUp(_ records: [LogRecord], emptyIsError: Bool = true) -> StorageError? {
        guard !records.isEmpty else {
            return emptyIsError
                ? StorageError(.io, "the log answered a conflict without the records that caused it; the write was not applied")
                : nil
        }
        var caughtUp = durable
        var failure: StorageError?
        for record in records {
            guard record.lsn == caughtUp.lsn + 1, record.previousHash == caughtUp.logHash else {
                failure = StorageError(
                    .diverged,
                    "the log's record \(record.lsn) does not follow record \(caughtUp.lsn) of this host (hash \(caughtUp.logHash)): this host's state and the log diverged; writes stop (rebuild this host's state with accessd resync)")
                break
            }
            guard record.formatVersion <= JournalFormat.version else {
                failure = StorageError(
                    .newerFormat,
                    "the log's record \(record.lsn) is in journal format \(record.formatVersion); this accessd reads formats up to \(JournalFormat.version): writes stop until this host runs an accessd that knows it")
                break
            }
            do {
                let decoded = try LogRecord.decode(record.bytes, formatVersion: record.formatVersion).decoded
                try StateDirectory.apply(decoded, version: record.formatVersion, to: &caughtUp)
            } catch {
                failure = StorageError(
                    .diverged, "the log's record \(record.lsn) does not apply to this host's state: \(error); writes stop (accessd resync rebuilds it)")
                break
            }
            caughtUp.logHash = record.hash
        }
        if let time = Self.newestEventTime(in: caughtUp.history), time > latestEventTime { latestEventTime = time }
        // What applied before a record that did not stays applied: the log committed it.
        working = caughtUp
        becameDurable(caughtUp, published: caughtUp.state.revision > durable.state.revision)
        if let failure, failure.kind != .io { stopWrites(failure) }
        return failure
    }

    /// `value` is durable; `published` when it holds new events (a record may hold idempotent replies alone).
    private func becameDurable(_ value: DurableState, published: Bool) {
        guard value.lsn > durable.lsn else { return }
        durable = value
        if published {
            let published = PublishedState(state: value.state, history: value.history, lsn: value.lsn, logHash: value.logHash)
            publishedBox.withLockedValue { $0 = published }
            revisions.reached(value.state.revision)
            for follower in followers.values { follower() }
        }
        onDurable?(value.lsn)
    }

    /// Starts telling `wake` (on this loop) after every durable batch, and
    /// once now: the follower pulls what is new from the published history,
    /// so nothing published before the registration is missed.
    func follow(_ key: FollowerKey, wake: @escaping @Sendable () -> Void) {
        followers[key] = wake
        wake()
    }

    func unfollow(_ key: FollowerKey) {
        followers[key] = nil
    }
}

/// Names one following call: its connection and its id.
struct FollowerKey: Hashable, Sendable {
    var connection: ObjectIdentifier
    var id: UInt64
}
