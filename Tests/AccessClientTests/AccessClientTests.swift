import AccessStatus
import AccessClient
import AccessWire
import Foundation
import Testing

/// The client against an in-process frame server (docs/protocol.md, "Frames").
@Suite(.timeLimit(.minutes(1))) struct AccessClientTests {
    static let method = Methods.getUser.path
    static let unavailable = StatusCode.unavailable

    enum ReplyOrder: String, CaseIterable, Sendable {
        case reversed, shuffled
    }

    @Test(arguments: ReplyOrder.allCases)
    func twoHundredConcurrentCallsAreEachMatchedToTheirCaller(order: ReplyOrder) async throws {
        let count = 200
        let held = Locked<[Accessd_V1_Request]>([])
        // The server answers nothing until all 200 requests are in, then all at
        // once in reverse or shuffled order; each reply echoes its request's payload.
        let script: Script = { frame, connection in
            guard case .request(let request) = frame.kind else { return }
            let batch: [Accessd_V1_Request]? = held.withLock { held in
                held.append(request)
                return held.count == count ? held : nil
            }
            guard let batch else { return }
            let ordered = order == .reversed ? Array(batch.reversed()) : batch.shuffled()
            connection.send(
                ordered.map { .response(id: $0.id, payload: Array($0.payload) + [0xAA], revision: $0.id) })
        }
        try await withServer(script: script) { server, client in
            let revisions = try await withThrowingTaskGroup(of: UInt64.self) { group in
                for index in 0 ..< count {
                    group.addTask {
                        let payload = withUnsafeBytes(of: UInt32(index).bigEndian) { Array($0) }
                        let reply = try await client.call(Self.method, payload: payload)
                        #expect(reply.payload == payload + [0xAA])
                        return reply.revision
                    }
                }
                var revisions: [UInt64] = []
                for try await revision in group { revisions.append(revision) }
                return revisions
            }
            // Each reply's revision is its id: the ids were 1...200, each used once.
            #expect(revisions.sorted() == Array(1 ... UInt64(count)))
            #expect(Set(server.requests.map(\.id)) == Set(1 ... UInt64(count)))
            #expect(client.callsInFlight == 0)
        }
    }

    @Test func idsAreAllocatedFromOneUpward() async throws {
        try await withServer(script: { frame, connection in
            if case .request(let request) = frame.kind { connection.respond(id: request.id) }
        }) { server, client in
            for _ in 0 ..< 3 { _ = try await client.call(Self.method, payload: []) }
            _ = try await collect(client.stream(Self.method, payload: []))
            #expect(server.requests.map(\.id) == [1, 2, 3, 4])
        }
    }

    @Test func everyRequestFieldReachesTheServer() async throws {
        try await withServer(script: { frame, connection in
            if case .request(let request) = frame.kind {
                connection.respond(id: request.id, payload: [1, 2, 3], revision: 42)
            }
        }) { server, client in
            let reply = try await client.call(
                Methods.addUser.path, payload: [9, 8], options: CallOptions(actor: "ann@example.com", timeoutMilliseconds: 1500, metadata: ["trace": "t-1"], minRevision: 17, dryRun: true, idempotencyKey: "key-1"))
            #expect(reply == Reply(payload: [1, 2, 3], revision: 42))
            let request = try #require(server.requests.first)
            #expect(request.id == 1)
            #expect(request.method == Methods.addUser.path)
            #expect(request.payload == Data([9, 8]))
            #expect(request.actor == "ann@example.com")
            #expect(request.timeoutMs == 1500)
            #expect(request.metadata == ["trace": "t-1"])
            #expect(request.minRevision == 17)
            #expect(request.dryRun)
            #expect(request.idempotencyKey == "key-1")
        }
    }

    @Test func theTypedCallEncodesTheRequestAndDecodesTheReply() async throws {
        // A GetUserRequest goes in, a User (the catalogue's response type) comes back.
        try await withServer(script: { frame, connection in
            guard case .request(let request) = frame.kind,
                let asked = try? Accessd_V1_GetUserRequest(serializedBytes: request.payload)
            else { return }
            var answer = Accessd_V1_User()
            answer.id = asked.userID
            answer.firstName = "asked for \(asked.userID) as \(request.actor)"
            connection.respond(id: request.id, payload: (try? answer.serializedBytes()) ?? [], revision: 3)
        }) { _, client in
            var asked = Accessd_V1_GetUserRequest()
            asked.userID = "usr_77"
            let answer = try await client.call(Methods.getUser, asked, options: CallOptions(actor: "u1"))
            #expect(answer.firstName == "asked for usr_77 as u1")
            #expect(answer.id == "usr_77")

            let reply = try await client.reply(Methods.getUser, asked)
            #expect(try reply.decode(as: Accessd_V1_User.self).id == "usr_77")
            #expect(reply.revision == 3)
        }
    }

    @Test func aReplyThatDoesNotDecodeIsInternal() async throws {
        try await withServer(script: { frame, connection in
            if case .request(let request) = frame.kind { connection.respond(id: request.id, payload: [0xFF, 0xFF]) }
        }) { _, client in
            let error = await #expect(throws: CallError.self) {
                _ = try await client.call(Methods.getUser, Accessd_V1_GetUserRequest())
            }
            #expect(error?.code == StatusCode.internal)
        }
    }

    @Test func aNonOKResponseThrowsCallErrorWithItsCodeAndMessage() async throws {
        try await withServer(script: { frame, connection in
            if case .request(let request) = frame.kind {
                connection.respond(id: request.id, code: 5, message: "no user u9 (R8)")
            }
        }) { _, client in
            await #expect(throws: CallError(code: .notFound, message: "no user u9 (R8)")) {
                _ = try await client.call(Self.method, payload: [], options: CallOptions(actor: "u1"))
            }
            // The connection is still fine for the next call.
            await #expect(throws: CallError(code: .notFound, message: "no user u9 (R8)")) {
                _ = try await client.call(Self.method, payload: [])
            }
            #expect(client.connectionState == .ready)
        }
    }

    @Test func aStreamYieldsEveryMoreMessageThenFinishesOnTheFinalOK() async throws {
        try await withServer(script: { frame, connection in
            guard case .request(let request) = frame.kind else { return }
            let messages: [Accessd_V1_ServerFrame] = (1 ... 4).map { (n: Int) in
                .response(id: request.id, payload: [UInt8(n)], more: true, revision: UInt64(10 + n))
            }
            connection.send(messages + [.response(id: request.id, revision: 15)])
        }) { _, client in
            var replies: [Reply] = []
            for try await reply in client.stream(Self.method, payload: [], options: CallOptions(actor: "u1")) {
                replies.append(reply)
            }
            let expected: [Reply] = (1 ... 4).map { (n: Int) in Reply(payload: [UInt8(n)], revision: UInt64(10 + n)) }
            #expect(replies == expected)
            #expect(client.callsInFlight == 0)
        }
    }

    @Test func aStreamEndingNonOKThrowsAfterItsElements() async throws {
        try await withServer(script: { frame, connection in
            guard case .request(let request) = frame.kind else { return }
            connection.send([
                .response(id: request.id, payload: [1], more: true),
                .response(id: request.id, payload: [2], more: true),
                .response(id: request.id, code: 4, message: "deadline exceeded"),
            ])
        }) { _, client in
            var payloads: [[UInt8]] = []
            let error = await #expect(throws: CallError.self) {
                for try await reply in client.stream(Self.method, payload: [], options: CallOptions(timeoutMilliseconds: 10)) {
                    payloads.append(reply.payload)
                }
            }
            #expect(error == CallError(code: .deadlineExceeded, message: "deadline exceeded"))
            #expect(payloads == [[1], [2]])
        }
    }

    @Test func streamsAndUnaryCallsInterleaveOnOneConnection() async throws {
        // Stream messages and unary replies for different ids arrive interleaved.
        let held = Locked<[Accessd_V1_Request]>([])
        try await withServer(script: { frame, connection in
            guard case .request(let request) = frame.kind else { return }
            let batch: [Accessd_V1_Request]? = held.withLock { held in
                held.append(request)
                return held.count == 3 ? held : nil
            }
            guard let batch else { return }
            let stream = batch.first { $0.method.hasSuffix("Stream") }!
            let unary = batch.filter { !$0.method.hasSuffix("Stream") }
            connection.send([
                .response(id: stream.id, payload: [1], more: true),
                .response(id: unary[1].id, payload: Array(unary[1].payload)),
                .response(id: stream.id, payload: [2], more: true),
                .response(id: unary[0].id, payload: Array(unary[0].payload)),
                .response(id: stream.id),
            ])
        }) { _, client in
            async let first = client.call(Self.method, payload: [0xA])
            async let second = client.call(Self.method, payload: [0xB])
            let elements = try await collect(client.stream("/accessd.v1.X/Stream", payload: []))
            #expect(elements.map(\.payload) == [[1], [2]])
            #expect(try await first.payload == [0xA])
            #expect(try await second.payload == [0xB])
        }
    }

    @Test func cancellingAStreamConsumerSendsCancelForItsID() async throws {
        try await withServer(script: { frame, connection in
            switch frame.kind {
            case .request(let request):
                connection.respond(id: request.id, payload: [1], more: true)
            case .cancel(let cancel):
                // As the daemon does: the stream ends with CANCELLED.
                connection.respond(id: cancel.id, code: 1, message: "cancelled")
            case nil:
                break
            }
        }) { server, client in
            _ = try await client.call(Self.method, payload: [])  // id 1 is answered with one message
            let received = Locked(0)
            let consumer = Task {
                for try await _ in client.stream(Self.method, payload: []) {
                    received.withLock { $0 += 1 }
                }
            }
            try await eventually("the first stream message") { received.value == 1 }
            consumer.cancel()
            _ = await consumer.result
            try await eventually("the Cancel frame") { server.cancelledIDs == [2] }
            #expect(server.requests.map(\.id) == [1, 2])
            try await eventually("the call table to empty") { client.callsInFlight == 0 }
        }
    }

    @Test func droppingAStreamSendsCancelForItsID() async throws {
        try await withServer { server, client in
            _ = client.stream(Self.method, payload: [])
            try await eventually("the Cancel frame") { server.cancelledIDs == [1] }
            #expect(server.requests.map(\.id) == [1])
            #expect(client.callsInFlight == 0)
        }
    }

    @Test func cancellingAUnaryCallSendsCancelAndThrowsCancellationError() async throws {
        // The server never answers.
        try await withServer { server, client in
            let call = Task { try await client.call(Self.method, payload: []) }
            try await eventually("the request") { server.requests.count == 1 }
            call.cancel()
            await #expect(throws: CancellationError.self) { _ = try await call.value }
            try await eventually("the Cancel frame") { server.cancelledIDs == [1] }
            #expect(client.callsInFlight == 0)
            // A late reply for the cancelled id is ignored; the connection goes on.
            server.connection?.respond(id: 1, code: 1, message: "cancelled")
            #expect(client.connectionState == .ready)
        }
    }

    @Test func aCallStartedInACancelledTaskSendsNothing() async throws {
        try await withServer(script: { frame, connection in
            if case .request(let request) = frame.kind { connection.respond(id: request.id) }
        }) { server, client in
            let call = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await client.call(Self.method, payload: [])
            }
            await #expect(throws: CancellationError.self) { _ = try await call.value }
            _ = try await client.call(Self.method, payload: [])
            // Only the second call's request (id 2) went out; no Cancel at all.
            #expect(server.requests.map(\.id) == [2])
            #expect(server.cancelledIDs == [])
        }
    }

    @Test func anID0ResponseFailsEveryCallInFlightWithItsCodeAndMessage() async throws {
        let expected = CallError(code: .resourceExhausted, message: "a frame of 5000000 bytes is longer than the maximum")
        let count = Locked(0)
        try await withServer(script: { frame, connection in
            guard case .request = frame.kind else { return }
            if count.withLock({ $0 += 1; return $0 }) == 4 {
                connection.respond(id: 0, code: expected.code.wire, message: expected.message)
            }
        }) { _, client in
            let stream = client.stream(Self.method, payload: [])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0 ..< 3 {
                    group.addTask {
                        await #expect(throws: expected) { _ = try await client.call(Self.method, payload: []) }
                    }
                }
                try await group.waitForAll()
            }
            await #expect(throws: expected) { for try await _ in stream {} }
            let error = await #expect(throws: CallError.self) { _ = try await client.call(Self.method, payload: []) }
            #expect(error?.code == Self.unavailable)
            #expect(client.callsInFlight == 0)
        }
    }

    @Test func afterAGoAwayNewCallsFailWithUnavailableAndCallsInFlightAreAnswered() async throws {
        try await withServer(script: { frame, connection in
            if case .request(let request) = frame.kind {
                connection.goAway(reason: "shutting down", lastAcceptedID: request.id)
            }
        }) { server, client in
            let inFlight = Task { try await client.call(Self.method, payload: [1]) }
            try await eventually("the GoAway") { client.connectionState == .goingAway(reason: "shutting down") }

            let error = await #expect(throws: CallError.self) { _ = try await client.call(Self.method, payload: []) }
            #expect(error?.code == Self.unavailable)
            let streamError = await #expect(throws: CallError.self) {
                for try await _ in client.stream(Self.method, payload: []) {}
            }
            #expect(streamError?.code == Self.unavailable)
            #expect(server.requests.map(\.id) == [1])  // nothing more was sent

            server.connection?.respond(id: 1, payload: [7], revision: 9)
            #expect(try await inFlight.value == Reply(payload: [7], revision: 9))
        }
    }

    @Test func aPeerCloseFailsCallsInFlightWithUnavailable() async throws {
        let count = Locked(0)
        try await withServer(script: { frame, connection in
            guard case .request = frame.kind else { return }
            if count.withLock({ $0 += 1; return $0 }) == 3 { connection.close() }
        }) { _, client in
            let stream = client.stream(Self.method, payload: [])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0 ..< 2 {
                    group.addTask {
                        let error = await #expect(throws: CallError.self) {
                            _ = try await client.call(Self.method, payload: [])
                        }
                        #expect(error?.code == Self.unavailable)
                    }
                }
                try await group.waitForAll()
            }
            let streamError = await #expect(throws: CallError.self) { for try await _ in stream {} }
            #expect(streamError?.code == Self.unavailable)
            let error = await #expect(throws: CallError.self) { _ = try await client.call(Self.method, payload: []) }
            #expect(error?.code == Self.unavailable)
            guard case .closed = client.connectionState else {
                Issue.record("the client should be closed, is \(client.connectionState)")
                return
            }
        }
    }

    @Test func closeFailsCallsInFlightWithUnavailable() async throws {
        try await withServer { server, client in
            let inFlight = Task { try await client.call(Self.method, payload: []) }
            try await eventually("the request") { server.requests.count == 1 }
            await client.close()
            let error = await #expect(throws: CallError.self) { _ = try await inFlight.value }
            #expect(error?.code == Self.unavailable)
            let later = await #expect(throws: CallError.self) { _ = try await client.call(Self.method, payload: []) }
            #expect(later?.code == Self.unavailable)
            await client.close()  // twice is fine
        }
    }

    @Test func anOversizeRequestFailsAloneWithoutBeingSent() async throws {
        try await withServer(maximumFrameLength: 1024, script: { frame, connection in
            if case .request(let request) = frame.kind { connection.respond(id: request.id) }
        }) { server, client in
            let error = await #expect(throws: CallError.self) {
                _ = try await client.call(Self.method, payload: Array(repeating: 1, count: 2000))
            }
            #expect(error?.code == StatusCode.resourceExhausted)
            _ = try await client.call(Self.method, payload: Array(repeating: 1, count: 100))
            #expect(server.requests.map(\.payload.count) == [100])
        }
    }

    @Test func connectingToNoSocketThrowsUnavailable() async throws {
        let error = await #expect(throws: CallError.self) {
            _ = try await AccessClient.connect(socketPath: "/tmp/accessd-client-test-missing-\(getpid()).sock")
        }
        #expect(error?.code == Self.unavailable)
    }

    // MARK: Whom the client trusts (SocketTrust, README "Where things are")

    /// Listens in a fresh directory of mode `directoryMode`, runs
    /// `prepare(directory, socket)`, then connects: the CallError thrown,
    /// or nil when the client connected (it is closed again).
    func connectError(directoryMode: mode_t, prepare: (String, String) -> Void = { _, _ in }) async throws
        -> (error: CallError?, server: FrameServer, directory: String)
    {
        let directory = try FrameServer.temporaryDirectory()
        let server = try await FrameServer.start(in: directory)
        chmod(directory, directoryMode)
        prepare(directory, server.path)
        var thrown: CallError?
        do {
            let client = try await AccessClient.connect(socketPath: server.path)
            await client.close()
        } catch let error as CallError {
            thrown = error
        }
        return (thrown, server, directory)
    }

    @Test func connectRefusesASocketInADirectoryOthersCanWriteEvenThoughAServerListensThere() async throws {
        let (error, server, directory) = try await connectError(directoryMode: 0o777)
        defer { rmdir(directory) }
        try await Task.sleep(for: .milliseconds(50))
        let connections = server.connectionCount
        await server.stop()
        #expect(error?.code == StatusCode.failedPrecondition, "\(String(describing: error))")
        #expect(
            error?.message == "cannot connect to the daemon at \(directory)/accessd.sock: the socket's directory \(directory) "
                + "is writable by its group and others (mode 0777), so they could replace the socket with an impostor; "
                + "chmod go-w \(directory) (accessd creates it mode 0750), or run accessd with --socket in a directory "
                + "only its user can write")
        // It refused before connecting: the server saw no connection.
        #expect(connections == 0)
    }

    @Test func connectRefusesASocketInADirectoryItsGroupCanWrite() async throws {
        let (error, server, directory) = try await connectError(directoryMode: 0o770)
        defer { rmdir(directory) }
        await server.stop()
        #expect(error?.code == StatusCode.failedPrecondition)
        #expect(error?.message.contains("is writable by its group (mode 0770)") == true, "\(String(describing: error))")
    }

    @Test func connectRefusesASocketInASharedStickyDirectoryLikeTmp() async throws {
        let (error, server, directory) = try await connectError(directoryMode: 0o1777)
        defer { rmdir(directory) }
        await server.stop()
        #expect(error?.code == StatusCode.failedPrecondition)
        #expect(
            error?.message.contains("the socket's directory \(directory) is shared (mode 1777)") == true,
            "\(String(describing: error))")
    }

    @Test(.enabled(if: getuid() == 0, "chown needs root"))
    func connectRefusesASocketAnotherUserOwns() async throws {
        let (error, server, directory) = try await connectError(directoryMode: 0o755) { _, socket in
            _ = chown(socket, 65534, 65534)
        }
        defer { rmdir(directory) }
        await server.stop()
        #expect(error?.code == StatusCode.failedPrecondition)
        #expect(
            error?.message.contains("\(directory)/accessd.sock belongs to uid 65534, not to root or to you (uid 0)") == true,
            "\(String(describing: error))")
    }

    @Test(.enabled(if: getuid() == 0, "chown needs root"))
    func connectRefusesASocketInADirectoryAnotherUserOwns() async throws {
        let (error, server, directory) = try await connectError(directoryMode: 0o755) { directory, _ in
            _ = chown(directory, 65534, 65534)
        }
        defer { rmdir(directory) }
        await server.stop()
        #expect(error?.code == StatusCode.failedPrecondition)
        #expect(
            error?.message.contains(
                "the socket's directory \(directory) is owned by uid 65534, not by root or by the socket's owner (uid 0)")
                == true,
            "\(String(describing: error))")
    }

    @Test func connectTrustsASocketInADirectoryOnlyItsOwnerCanWrite() async throws {
        for mode: mode_t in [0o700, 0o750, 0o755] {
            let (error, server, directory) = try await connectError(directoryMode: mode)
            await server.stop()
            rmdir(directory)
            #expect(error == nil, "mode \(String(mode, radix: 8)): \(String(describing: error))")
        }
    }
}
