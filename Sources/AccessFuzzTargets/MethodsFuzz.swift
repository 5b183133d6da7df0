import AccessMapping
import AccessCore
import AccessServer
import AccessWire
import Foundation
import NIOCore
import SwiftProtobuf

/// The `methods` target: up to four calls against `Fixture.shared`, each
/// `[method] [actor] [length] [payload]` (a length of 255: the rest of the
/// input). The method byte indexes the table's paths in order; the actor byte
/// picks the administrator, no one, a fixture user by email or by id, or
/// someone unknown. Reads answer from the state (Check also through its fast
/// path, which must answer the same bytes); writes decode their command
/// against the state and run decide and apply, as `StateOwner.run` does.
/// What must hold: nothing crashes; a refused write leaves the state equal
/// to before (R21); the events of an applied write, through their wire form
/// (as the journal keeps them), replay on the state before to the state
/// after; and the final state restores from its records to itself.
enum MethodsFuzz {
    /// Every path of the table, in order: an input's method byte indexes it.
    static let paths: [String] = MethodTable.handlers.keys.sorted()

    /// Who a call acts for, as the actor byte picks it.
    enum Actor {
        case administrator
        case anonymous
        case named(String)
    }

    static func actor(_ byte: UInt8, in fixture: Fixture) -> Actor {
        let users = fixture.actors
        let choice = Int(byte & 0x0F)
        var text: String
        switch choice {
        case 0: return .administrator
        case 1: return .anonymous
        case 2..<(2 + users.count): text = users[choice - 2].email
        case (2 + users.count)..<(2 + 2 * users.count): text = users[choice - 2 - users.count].id
        case 14: text = "nobody@nowhere.example"
        default: text = "usr_zz9"
        }
        if byte & 0x10 != 0 { text = text.uppercased() }
        if byte & 0x20 != 0 { text = " \(text)\t" }
        return .named(text)
    }

    static func run(_ bytes: [UInt8]) throws(Violation) {
        let fixture = Fixture.shared
        var input = InputReader(bytes)
        var state = fixture.state
        var history = fixture.history
        var now = fixture.now
        var rng = SplitMix(seed: 0x5EED)
        var wrote = false
        var calls = 0
        while !input.isAtEnd && calls < 4 {
            calls += 1
            let path = paths[Int(input.byte()) % paths.count]
            let actor = actor(input.byte(), in: fixture)
            let length = Int(input.byte())
            let payload = length == 255 ? input.rest() : input.take(length)
            let principal: Principal
            switch actor {
            case .administrator: principal = .administrator
            case .anonymous: principal = .anonymous
            case .named(let text):
                do {
                    principal = try state.principal(forActor: text)
                } catch {
                    continue  // the daemon refuses the call before any handler runs
                }
            }
            guard let handler = MethodTable.handlers[path] else { throw Violation("\(path) has no handler") }
            switch handler {
            case .read(let read, let shortcut):
                let context = ReadContext(state: state, history: history, principal: principal)
                let answer = Result { () throws(AccessError) -> Data in try read(Data(payload), context) }
                if shortcut == .checkFastPath {
                    try checkFastPath(payload, state: state, answer: answer)
                }
                if shortcut == .batchCheckFastPath {
                    try batchCheckFastPath(payload, state: state, limit: context.batchCheckLimit, answer: answer)
                }
            case .write(let makeCommand, let makeReply):
                let before = state
                let events: [Event]
                do throws(AccessError) {
                    let command = try makeCommand(Data(payload), state)
                    events = try state.execute(command, context: CommandContext(principal: principal, now: now), using: &rng)
                } catch {
                    try check(state == before, "a refused \(path) (\(error.code): \(error.message)) changed the state")
                    continue
                }
                _ = makeReply(events, state)
                try replay(events, on: before, gives: state, path: path)
                history.append(events)
                now = now.adding(milliseconds: 1000)
                wrote = wrote || !events.isEmpty
            case .daemon:
                continue  // Snapshot, GetStats, FollowEvents: the daemon's own calls
            }
        }
        if wrote {
            let restored: AccessState
            do {
                restored = try AccessState(restoring: state.records)
            } catch {
                throw Violation("the state after the calls does not restore from its records: \(error)")
            }
            try check(restored == state, "the state after the calls restores from its records to another state")
        }
    }

    /// The events of a write, encoded as the journal stores them and decoded
    /// back (the activation tokens kept beside them, as the journal's record
    /// does), applied to the state before it, give the state after it; and
    /// the wire form carries no token.
    static func replay(_ events: [Event], on before: AccessState, gives after: AccessState, path: String) throws(Violation) {
        var replayed = before
        do {
            var decoded: [Event] = []
            for event in events {
                let bytes: [UInt8] = try Accessd_V1_Event(event).serializedBytes()
                let back = try Event(wire: Accessd_V1_Event(serializedBytes: bytes))
                try check(back == event.withoutSecrets, "the event \(event) does not survive its wire form: it became \(back)")
                decoded.append(event.outboxToken.map { back.withToken($0.token) } ?? back)
            }
            try check(decoded == events, "the events of \(path) do not survive their wire form: \(events) became \(decoded)")
            try replayed.apply(decoded)
        } catch let violation as Violation {
            throw violation
        } catch {
            throw Violation("the events of \(path) do not replay: \(error); events \(events)")
        }
        try check(replayed == after, "the events of \(path) replay to another state; events \(events)")
    }

    /// BatchCheck's fast path answers what the table answers, byte for byte.
    static func batchCheckFastPath(
        _ payload: [UInt8], state: AccessState, limit: Int, answer: Result<Data, AccessError>
    ) throws(Violation) {
        guard let fast = BatchCheckFastPath.answer(ByteBuffer(bytes: payload), in: state, limit: limit) else { return }
        switch (fast, answer) {
        case (.success(let items), .success(let data)):
            var buffer = ByteBuffer()
            ProtoWriter.write(BatchCheckFastPath.length(of: items), to: &buffer) { BatchCheckFastPath.write(items, to: &$0) }
            try check(
                Array(buffer.readableBytesView) == Array(data),
                "BatchCheck's fast path answers \(Array(buffer.readableBytesView)), the table \(Array(data)); payload \(payload)")
        case (.failure(let fastError), .failure(let error)):
            try check(fastError == error, "BatchCheck's fast path refuses with \(fastError), the table with \(error); payload \(payload)")
        default:
            throw Violation("BatchCheck's fast path answers \(fast), the table \(answer); payload \(payload)")
        }
    }

    /// Check's fast path (the daemon's codec) answers what the table answers, byte for byte.
    static func checkFastPath(_ payload: [UInt8], state: AccessState, answer: Result<Data, AccessError>) throws(Violation) {
        guard let request = CheckFastPath.request(ByteBuffer(bytes: payload)) else { return }
        let fast = Result { () throws(AccessError) -> CheckResult in try MethodTable.checkResult(request, in: state) }
        switch (fast, answer) {
        case (.success(let result), .success(let data)):
            var buffer = ByteBuffer()
            ProtoWriter.write(CheckFastPath.length(of: result), to: &buffer) { CheckFastPath.write(result, to: &$0) }
            try check(
                Array(buffer.readableBytesView) == Array(data),
                "Check's fast path answers \(Array(buffer.readableBytesView)), the table \(Array(data)); payload \(payload)")
        case (.failure(let fastError), .failure(let error)):
            try check(
                fastError.code == error.code && fastError.message == error.message,
                "Check's fast path refuses with \(fastError), the table with \(error); payload \(payload)")
        default:
            throw Violation("Check's fast path answers \(fast), the table \(answer); payload \(payload)")
        }
    }
}
