import AccessMapping
import AccessTestSupport
import AccessWire
import Foundation
import NIOCore
import SwiftProtobuf
import Testing

@testable import AccessCore
@testable import AccessServer

/// The hot path's codec (`ClientFrameHead`, `ResponseFrame`, `CheckFastPath`)
/// against swift-protobuf, the reference: what it reads, swift-protobuf reads
/// the same way; what it declines (nil), goes to swift-protobuf; what it
/// writes is byte for byte what swift-protobuf writes (docs/protocol.md, "Frames").
@Suite struct FastFramesTests {
    private static let texts = ["", "a", "usr_1a", "owner@example.com", "Zoë ✓", String(repeating: "x", count: 200)]

    private func text(_ random: inout SeededGenerator) -> String { Self.texts.randomElement(using: &random)! }

    private func number(_ random: inout SeededGenerator) -> UInt64 {
        [0, 1, 127, 128, 300, 16_383, 16_384, UInt64(UInt32.max), UInt64.max, random.next()].randomElement(using: &random)!
    }

    private func randomRequest(_ random: inout SeededGenerator) -> Accessd_V1_Request {
        var request = Accessd_V1_Request()
        request.id = number(&random)
        request.method = [Methods.check.path, Methods.addUser.path, ""].randomElement(using: &random)!
        request.payload = Data((0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
        request.actor = text(&random)
        request.timeoutMs = UInt32(truncatingIfNeeded: number(&random))
        request.minRevision = number(&random)
        request.dryRun = Bool.random(using: &random)
        request.idempotencyKey = text(&random)
        return request
    }

    @Test func requestsReadInPlaceMatchSwiftProtobuf() throws {
        var random = SeededGenerator(seed: 6)
        for _ in 0..<2000 {
            let request = randomRequest(&random)
            var frame = Accessd_V1_ClientFrame()
            frame.request = request
            let bytes: [UInt8] = try frame.serializedBytes()
            guard case .request(let head) = ClientFrameHead.parse(ByteBuffer(bytes: bytes)) else {
                Issue.record("a plain request is read in place: \(request)")
                return
            }
            #expect(head.id == request.id && head.method == request.method && head.actor == request.actor)
            #expect(Data(head.payload.readableBytesView) == request.payload)
            #expect(head.timeoutMs == request.timeoutMs && head.minRevision == request.minRevision)
            #expect(head.dryRun == request.dryRun && head.idempotencyKey == request.idempotencyKey)
        }
    }

    @Test func cancelsAreReadInPlace() throws {
        for id: UInt64 in [0, 1, 300, .max] {
            var frame = Accessd_V1_ClientFrame()
            frame.cancel.id = id
            guard case .cancel(let parsed) = ClientFrameHead.parse(ByteBuffer(bytes: try frame.serializedBytes() as [UInt8])) else {
                Issue.record("cancel \(id) is read in place")
                continue
            }
            #expect(parsed == id)
        }
    }

    @Test func unusualFramesAreLeftToSwiftProtobuf() throws {
        var withMetadata = Accessd_V1_ClientFrame()
        withMetadata.request.id = 7
        withMetadata.request.metadata = ["trace": "abc"]
        #expect(ClientFrameHead.parse(ByteBuffer(bytes: try withMetadata.serializedBytes() as [UInt8])) == nil, "metadata")

        var bytes: [UInt8] = try withMetadata.serializedBytes()
        bytes = [0x0A, 4, 0x08, 1, 0x08, 2]  // a request whose id appears twice: swift-protobuf's last-wins
        #expect(ClientFrameHead.parse(ByteBuffer(bytes: bytes)) == nil, "a repeated field")
        #expect(ClientFrameHead.parse(ByteBuffer(bytes: [0x0A, 3, 0x12, 1, 0xFF])) == nil, "a method that is not UTF-8")
        #expect(ClientFrameHead.parse(ByteBuffer(bytes: [])) == nil, "an empty frame")
        #expect(ClientFrameHead.parse(ByteBuffer(bytes: [0x0A, 2, 0x78, 0x01])) == nil, "an unknown field (15)")
    }

    @Test func randomBytesNeverReadDifferentlyFromSwiftProtobuf() throws {
        var random = SeededGenerator(seed: 60)
        var readInPlace = 0
        for round in 0..<20_000 {
            // Mutations of valid frames reach deeper than uniform noise.
            var bytes: [UInt8]
            if round % 2 == 0 {
                var frame = Accessd_V1_ClientFrame()
                frame.request = randomRequest(&random)
                bytes = try frame.serializedBytes()
                for _ in 0..<Int.random(in: 1...3, using: &random) where !bytes.isEmpty {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
                if Bool.random(using: &random) { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random))) }
            } else {
                bytes = (0..<Int.random(in: 0...24, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            }
            guard let head = ClientFrameHead.parse(ByteBuffer(bytes: bytes)) else { continue }
            readInPlace += 1
            let reference = try? Accessd_V1_ClientFrame(serializedBytes: bytes)
            switch (head, reference?.kind) {
            case (.request(let head), .request(let request)?):
                let same =
                    head.id == request.id && head.method == request.method && head.actor == request.actor
                    && Data(head.payload.readableBytesView) == request.payload && head.timeoutMs == request.timeoutMs
                    && head.minRevision == request.minRevision && head.dryRun == request.dryRun
                    && head.idempotencyKey == request.idempotencyKey && request.metadata.isEmpty
                #expect(same, "bytes \(bytes)")
            case (.cancel(let id), .cancel(let cancel)?):
                #expect(id == cancel.id, "bytes \(bytes)")
            default:
                Issue.record("read in place as \(head), swift-protobuf: \(String(describing: reference)); bytes \(bytes)")
            }
        }
        #expect(readInPlace > 1000, "the mutations keep many frames readable (\(readInPlace))")
    }

    @Test func responsesAreWrittenAsSwiftProtobufWritesThem() throws {
        var random = SeededGenerator(seed: 61)
        for _ in 0..<2000 {
            var response = Accessd_V1_Response()
            response.id = number(&random)
            response.code = UInt32.random(in: 0...16, using: &random)
            response.message = text(&random)
            response.payload = Data((0..<[0, 1, 127, 128, 300].randomElement(using: &random)!).map { UInt8(truncatingIfNeeded: $0) })
            response.more = Bool.random(using: &random)
            response.revision = number(&random)
            var frame = Accessd_V1_ServerFrame()
            frame.response = response
            let reference: [UInt8] = try frame.serializedBytes()

            var buffer = ByteBuffer()
            ResponseFrame(
                id: response.id, code: response.code, message: response.message, more: response.more,
                revision: response.revision
            ).write(to: &buffer, payload: response.payload)
            #expect(buffer.readInteger(as: UInt32.self) == UInt32(reference.count))
            #expect(Array(buffer.readableBytesView) == reference, "\(response)")
        }
    }

    @Test func checkRequestsAndResponsesMatchSwiftProtobuf() throws {
        var random = SeededGenerator(seed: 62)
        for _ in 0..<2000 {
            var request = Accessd_V1_CheckRequest()
            request.user = text(&random)
            request.accountID = text(&random)
            request.permission = Accessd_V1_Permission(rawValue: Int.random(in: 0...20, using: &random))!
            switch Int.random(in: 0...2, using: &random) {
            case 0: break
            case 1: request.resource = .projectID(text(&random))
            default: request.resource = .productID(text(&random))
            }
            let parsed = CheckFastPath.request(ByteBuffer(bytes: try request.serializedBytes() as [UInt8]))
            #expect(parsed == request)

            var response = Accessd_V1_CheckResponse()
            response.allowed = Bool.random(using: &random)
            switch Int.random(in: 0...4, using: &random) {
            case 0: break
            case 1: response.path.homeRoleID = text(&random)
            case 2: response.path.shareID = text(&random)
            case 3:
                response.path.clientLink.agencyAccountID = text(&random)
                response.path.clientLink.roleID = text(&random)
            default: response.path = Accessd_V1_AccessPath()  // set, with no member
            }
            response.reason = text(&random)
            response.deniedBy = text(&random)
            var buffer = ByteBuffer()
            CheckFastPath.write(response, to: &buffer)
            #expect(Array(buffer.readableBytesView) == (try response.serializedBytes() as [UInt8]), "\(response)")
            #expect(buffer.readableBytes == CheckFastPath.length(of: response))
        }
        // Both members of the oneof, an unknown field: left to swift-protobuf.
        #expect(CheckFastPath.request(ByteBuffer(bytes: [0x22, 1, 0x61, 0x2A, 1, 0x62])) == nil)
        #expect(CheckFastPath.request(ByteBuffer(bytes: [0x30, 1])) == nil)
    }
    /// A decision written by `CheckFastPath.write(_: CheckResult, ...)`, its
    /// reason from parts and its rule digit by digit, is what swift-protobuf
    /// writes for `Accessd_V1_CheckResponse(result)`: every path and every
    /// denial, ids of every length.
    @Test func decisionsAreWrittenAsSwiftProtobufWritesTheirResponses() throws {
        var random = SeededGenerator(seed: 0xDEC1_5102)
        let ids = ["", "1", "a1b2", String(repeating: "z", count: 36), String(repeating: "9", count: 130)]
        func id<ID: EntityID>(_: ID.Type) -> ID { ID(uncheckedRawValue: ID.prefix + ids.randomElement(using: &random)!) }
        for _ in 0..<2000 {
            let path: AccessPath? =
                switch Int.random(in: 0...3, using: &random) {
                case 0: nil
                case 1: .homeRole(id(RoleID.self))
                case 2: .share(id(ShareID.self))
                default: .clientLink(agency: id(AccountID.self), role: id(RoleID.self))
                }
            let user = id(UserID.self)
            let account = id(AccountID.self)
            let permission = Permission.allCases.randomElement(using: &random)!
            let denials: [Denial] = [
                .inactiveUser(user, UserStatus.allCases.randomElement(using: &random)!),
                .noAccessPath(user, account),
                .lacksManageClients(user, agency: id(AccountID.self), client: account),
                .permissionNotGiven(path ?? .homeRole(id(RoleID.self)), permission, account),
                .projectNotVisible(user, id(ProjectID.self)),
                .productNotShared(path ?? .share(id(ShareID.self)), id(ProductID.self)),
                .shareNotAccountWide(path ?? .share(id(ShareID.self))),
            ]
            let result =
                Bool.random(using: &random)
                ? CheckResult(allowed: true, path: path, denial: nil)
                : CheckResult(allowed: false, path: path, denial: denials.randomElement(using: &random)!)
            var buffer = ByteBuffer()
            ProtoWriter.write(CheckFastPath.length(of: result), to: &buffer) { CheckFastPath.write(result, to: &$0) }
            let expected: [UInt8] = try Accessd_V1_CheckResponse(result).serializedBytes()
            #expect(Array(buffer.readableBytesView) == expected, "\(result)")
        }
    }
    /// BatchCheck's fast path, on the state the method tour leaves: random
    /// batches of real and unknown ids, of every permission and resource,
    /// answer byte for byte what the method table's handler answers encoded
    /// by swift-protobuf; past the limit both refuse alike.
    @Test func batchChecksAnswerAsTheTableDoesByteForByte() async throws {
        var harness = TableHarness()
        _ = try await MethodTour.run(&harness)
        let state = harness.state
        var random = SeededGenerator(seed: 0xBA7C_4000)
        let users = state.users.keys.map(\.rawValue) + state.users.values.map(\.email) + ["", "usr_zz", "nobody@x.example"]
        let accounts = state.accounts.keys.map(\.rawValue) + ["", "acc_zz", "usr_1"]
        let projects = state.projects.keys.map(\.rawValue) + ["prj_zz"]
        let products = state.products.keys.map(\.rawValue) + ["prd_zz"]
        for round in 0..<300 {
            var request = Accessd_V1_BatchCheckRequest()
            for _ in 0..<Int.random(in: 0...12, using: &random) {
                var check = Accessd_V1_CheckRequest()
                check.user = users.randomElement(using: &random)!
                check.accountID = accounts.randomElement(using: &random)!
                check.permission = Accessd_V1_Permission.allCases.randomElement(using: &random)!
                switch Int.random(in: 0...3, using: &random) {
                case 0: check.projectID = projects.randomElement(using: &random)!
                case 1: check.productID = products.randomElement(using: &random)!
                default: break
                }
                request.checks.append(check)
            }
            let limit = round.isMultiple(of: 5) ? 4 : 1000
            let payload = ByteBuffer(bytes: try request.serializedBytes() as [UInt8])
            let fast = try #require(BatchCheckFastPath.answer(payload, in: state, limit: limit))
            let table = Result { () throws(AccessError) in try MethodTable.batchCheck(request, in: state, limit: limit) }
            switch (fast, table) {
            case (.success(let items), .success(let response)):
                var buffer = ByteBuffer()
                ProtoWriter.write(BatchCheckFastPath.length(of: items), to: &buffer) { BatchCheckFastPath.write(items, to: &$0) }
                #expect(Array(buffer.readableBytesView) == (try response.serializedBytes() as [UInt8]), "\(request)")
            case (.failure(let fastError), .failure(let error)):
                #expect(fastError == error)
                #expect(error.code == .invalidArgument && error.message.contains("max_batch_checks"))
            default:
                Issue.record("the fast path answers \(fast), the table \(table), for \(request)")
            }
        }
    }
    /// A request's method is the catalogue's own string when it names one of
    /// its methods (read without allocating), and read as text otherwise.
    @Test func methodPathsAreTheCataloguesStrings() {
        for (index, method) in Methods.all.enumerated() {
            #expect(Array(method.path.utf8).withUnsafeBytes { Methods.knownPath($0) } == method.path)
            #expect(Array(method.path.utf8).withUnsafeBytes { Methods.knownIndex($0) } == index)
            #expect(RequestHead(Accessd_V1_Request.with { $0.method = method.path }).methodIndex == index)
            // One byte off anywhere (the eight-byte words and the tail alike) is another path.
            for offset in [0, 7, 8, method.path.utf8.count - 1] {
                var bytes = Array(method.path.utf8)
                bytes[offset] ^= 0x01
                #expect(bytes.withUnsafeBytes { Methods.knownIndex($0) } == nil, "\(method.path) at \(offset)")
            }
        }
        for unknown in ["", "/accessd.v1.AccessService/Chock", "/accessd.v1.AccessService/Check/", "x", String(repeating: "y", count: 500)] {
            #expect(Array(unknown.utf8).withUnsafeBytes { Methods.knownPath($0) } == nil)
        }
        var request = Accessd_V1_Request()
        request.method = "/accessd.v1.Nothing/Here"
        let frame = ByteBuffer(bytes: try! Accessd_V1_ClientFrame.with { $0.request = request }.serializedBytes() as [UInt8])
        guard case .request(let head)? = ClientFrameHead.parse(frame) else {
            Issue.record("a request with an unknown method is still read in place")
            return
        }
        #expect(head.method == request.method)
        #expect(head.methodIndex == nil)
    }
}
