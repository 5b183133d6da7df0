import AccessCore
import AccessWire
import Foundation
import SwiftProtobuf
import AccessTestSupport
import Testing

@testable import AccessServer

/// Drives the method table as the daemon does, without a socket: a read gets
/// a `ReadContext`; a write decodes its command, runs `execute` with a seeded
/// generator and the harness's clock, and replies from the events and the
/// state after them. Requests and replies go through their encodings.
struct TableHarness {
    var state = AccessState()
    var history = EventHistory()
    var rng = SeededGenerator(seed: 0xACCE55)
    var now = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
    /// The paths that answered OK at least once.
    var answered: Set<String> = []

    /// The principal an actor string names, as the daemon resolves it ("" is an administrator).
    func principal(_ actor: String) throws -> Principal {
        actor.isEmpty ? .administrator : try state.principal(forActor: actor)
    }

    /// Runs a method, by its path, on raw payload bytes.
    mutating func callRaw(path: String, _ payload: Data, as principal: Principal) throws(AccessError) -> Data {
        guard let handler = MethodTable.handlers[path] else {
            throw AccessError(.unimplemented, "no handler for \(path)")
        }
        let reply: Data
        switch handler {
        case .read(let read, _):
            reply = try read(payload, ReadContext(state: state, history: history, principal: principal))
        case .write(let command, let makeReply):
            let decided = try command(payload, state)
            let events = try state.execute(decided, context: CommandContext(principal: principal, now: now), using: &rng)
            history.append(events.map(\.withoutSecrets))  // as the daemon keeps them
            now = now.adding(milliseconds: 1000)
            reply = makeReply(events, state)
        case .daemon:
            throw AccessError(.unimplemented, "\(path) is served by the daemon")
        }
        answered.insert(path)
        return reply
    }

    /// Runs a method with a request message and decodes its reply.
    mutating func call<Request, Response>(_ method: Method<Request, Response>, _ request: Request, as actor: String = "")
        throws -> Response
    {
        let payload: Data = try request.serializedBytes()
        let data = try callRaw(path: method.path, payload, as: try principal(actor))
        return try Response(serializedBytes: data)
    }

    /// Runs a method that must fail; returns its error, and checks that the
    /// failure changed nothing.
    mutating func failure(
        _ path: String, payload: Data, as actor: String = "",
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> AccessError? {
        let before = state
        let principal: Principal
        do { principal = try self.principal(actor) } catch {
            Issue.record("unknown actor \(actor): \(error)", sourceLocation: sourceLocation)
            return nil
        }
        do {
            _ = try callRaw(path: path, payload, as: principal)
            Issue.record("\(path) was expected to fail but answered OK", sourceLocation: sourceLocation)
            return nil
        } catch {
            #expect(state == before, "a refused call changes nothing (R21)", sourceLocation: sourceLocation)
            return error
        }
    }

    mutating func failure<Request, Response>(
        _ method: Method<Request, Response>, _ request: Request, as actor: String = "",
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> AccessError? {
        let payload: Data
        do { payload = try request.serializedBytes() } catch {
            Issue.record("the request does not encode: \(error)", sourceLocation: sourceLocation)
            return nil
        }
        return failure(method.path, payload: payload, as: actor, sourceLocation: sourceLocation)
    }
}

extension TableHarness: MethodCaller {
    mutating func callBytes(_ path: String, _ payload: [UInt8], actor: String) async throws -> [UInt8] {
        Array(try callRaw(path: path, Data(payload), as: try principal(actor)))
    }
}
