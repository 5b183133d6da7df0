import AccessMapping
import AccessTestSupport
import AccessWire
import Foundation
import NIOCore
import SwiftProtobuf
import Testing

@testable import AccessCore
@testable import AccessServer

/// The Check lane (`PlainCheckFrame`, `CheckLane`) against the general path:
/// a frame it reads, swift-protobuf reads the same way; a frame it answers,
/// it answers byte for byte as the method table's Check encoded by
/// swift-protobuf; what it declines goes the general way unchanged
/// (docs/protocol.md, "Frames"; R19 for the decision itself).
@Suite struct CheckLaneTests {
    private static let texts = ["", "usr_1a", "acc_2", "prj_3", "prd_4", "owner@example.com", " usr_1a", "Zoë", "usr_" + String(repeating: "x", count: 40)]

    private func frame(_ request: Accessd_V1_Request) throws -> [UInt8] {
        try Accessd_V1_ClientFrame.with { $0.request = request }.serializedBytes()
    }

    private func randomCheck(_ random: inout SeededGenerator, texts: [String]) -> Accessd_V1_CheckRequest {
        var check = Accessd_V1_CheckRequest()
        check.user = texts.randomElement(using: &random)!
        check.accountID = texts.randomElement(using: &random)!
        check.permission = Accessd_V1_Permission(rawValue: Int.random(in: 0...20, using: &random))!
        switch Int.random(in: 0...2, using: &random) {
        case 0: break
        case 1: check.projectID = texts.randomElement(using: &random)!
        default: check.productID = texts.randomElement(using: &random)!
        }
        return check
    }

    /// A request of every shape: plain (id, Check, payload, timeout,
    /// min_revision) or not (an actor, metadata, a write's fields, another method).
    private func randomRequest(_ random: inout SeededGenerator) throws -> (request: Accessd_V1_Request, plain: Bool) {
        var request = Accessd_V1_Request()
        request.id = [0, 1, 300, UInt64.max, random.next()].randomElement(using: &random)!
        request.method = Methods.check.path
        request.payload = try randomCheck(&random, texts: Self.texts).serializedBytes()
        if Bool.random(using: &random) { request.timeoutMs = UInt32.random(in: 0...60_000, using: &random) }
        if Bool.random(using: &random) { request.minRevision = UInt64.random(in: 0...1_000, using: &random) }
        var plain = true
        switch Int.random(in: 0...9, using: &random) {
        case 0: request.actor = "usr_1"; plain = false
        case 1: request.metadata = ["trace": "t1"]; plain = false
        case 2: request.dryRun = true; plain = false
        case 3: request.idempotencyKey = "k"; plain = false
        case 4: request.method = Methods.batchCheck.path; plain = false
        default: break
        }
        let check = try Accessd_V1_CheckRequest(serializedBytes: request.payload)
        let texts = [check.user, check.accountID, check.projectID, check.productID]
        if texts.contains(where: { $0.utf8.contains { $0 >= 0x80 } }) { plain = false }
        return (request, plain)
    }

    @Test func plainCheckFramesAreReadAsSwiftProtobufReadsThem() throws {
        var random = SeededGenerator(seed: 0x1A4E_0001)
        var plainSeen = 0
        for _ in 0..<3000 {
            let (request, plain) = try randomRequest(&random)
            let bytes = try frame(request)
            let parsed = bytes.withUnsafeBytes { PlainCheckFrame.parse($0) }
            #expect((parsed != nil) == plain, "\(request)")
            guard let parsed else { continue }
            plainSeen += 1
            try expectSame(parsed, bytes)
        }
        #expect(plainSeen > 1000)
    }

    /// Bytes flipped and frames cut anywhere: whatever the lane still reads,
    /// swift-protobuf reads alike (and as a plain Check).
    @Test func damagedFramesNeverReadDifferentlyFromSwiftProtobuf() throws {
        var random = SeededGenerator(seed: 0x1A4E_0002)
        var readInPlace = 0
        for _ in 0..<20_000 {
            var bytes = try frame(try randomRequest(&random).request)
            for _ in 0..<Int.random(in: 0...2, using: &random) where !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            if Bool.random(using: &random) { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random))) }
            guard let parsed = bytes.withUnsafeBytes({ PlainCheckFrame.parse($0) }) else { continue }
            readInPlace += 1
            try expectSame(parsed, bytes)
        }
        #expect(readInPlace > 1000, "the damage leaves many frames readable (\(readInPlace))")
    }

    private func expectSame(_ parsed: PlainCheckFrame, _ bytes: [UInt8]) throws {
        let reference = try Accessd_V1_ClientFrame(serializedBytes: bytes)
        guard case .request(let request)? = reference.kind else {
            Issue.record("read as a Check, swift-protobuf: \(reference)")
            return
        }
        #expect(request.method == Methods.check.path && request.actor.isEmpty && request.metadata.isEmpty)
        #expect(!request.dryRun && request.idempotencyKey.isEmpty)
        #expect(parsed.id == request.id && parsed.minRevision == request.minRevision)
        let check = try Accessd_V1_CheckRequest(serializedBytes: request.payload)
        func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
        #expect(text(parsed.user) == check.user && text(parsed.account) == check.accountID)
        // An enum is read as the varint's low 32 bits.
        #expect(Int32(truncatingIfNeeded: parsed.permission) == Int32(check.permission.rawValue))
        switch (parsed.resource, check.resource) {
        case (.none, nil): break
        case (.project(let range), .projectID(let id)?): #expect(text(range) == id)
        case (.product(let range), .productID(let id)?): #expect(text(range) == id)
        default: Issue.record("resource \(parsed.resource), swift-protobuf \(String(describing: check.resource))")
        }
    }

    /// On the state the method tour leaves: random Checks of real and unknown
    /// ids, emails, every permission and resource. What the lane answers is
    /// byte for byte the table's Check in a Response frame; it answers every
    /// Check named by ids as sent that the table decides; the rest it declines.
    @Test func theLaneAnswersAsTheTableDoesByteForByte() async throws {
        var harness = TableHarness()
        _ = try await MethodTour.run(&harness)
        let state = harness.state
        var random = SeededGenerator(seed: 0x1A4E_0003)
        let users = state.users.keys.map(\.rawValue) + state.users.values.map(\.email) + ["", "usr_zz", " usr_1", "acc_1"]
        let accounts = state.accounts.keys.map(\.rawValue) + ["", "acc_zz", " acc_1", "usr_1"]
        let projects = state.projects.keys.map(\.rawValue) + ["prj_zz", "prd_1", " prj_1"]
        let products = state.products.keys.map(\.rawValue) + ["prd_zz", "prj_1"]
        var answered = 0
        for _ in 0..<6000 {
            var check = Accessd_V1_CheckRequest()
            check.user = users.randomElement(using: &random)!
            check.accountID = accounts.randomElement(using: &random)!
            check.permission =
                random.next() % 8 == 0
                ? Accessd_V1_Permission(rawValue: Int.random(in: 0...20, using: &random))!
                : Accessd_V1_Permission.allCases.randomElement(using: &random)!
            switch Int.random(in: 0...5, using: &random) {
            case 0: check.projectID = projects.randomElement(using: &random)!
            case 1: check.productID = products.randomElement(using: &random)!
            default: break
            }
            var request = Accessd_V1_Request()
            request.id = random.next() % 1000
            request.method = Methods.check.path
            request.payload = try check.serializedBytes()
            if Bool.random(using: &random) { request.minRevision = state.revision + UInt64.random(in: 0...1, using: &random) }
            let table = Result { () throws(AccessError) in try MethodTable.check(check, in: state) }
            let lane = CheckLane.decide(ByteBuffer(bytes: try frame(request)), in: state)
            let namedByIDs =
                UserID(check.user) != nil && AccountID(check.accountID) != nil
                && (check.resource.map {
                    switch $0 {
                    case .projectID(let id): ProjectID(id) != nil
                    case .productID(let id): ProductID(id) != nil
                    }
                } ?? true)
            let reached = request.minRevision <= state.revision
            switch (lane, table) {
            case (let decided?, .success(let response)):
                answered += 1
                #expect(reached, "a Check for a revision not reached waits: the lane leaves it to the general path")
                var buffer = ByteBuffer()
                CheckLane.write(decided, revision: state.revision, to: &buffer)
                var expected = Accessd_V1_ServerFrame()
                expected.response.id = request.id
                expected.response.payload = try response.serializedBytes()
                expected.response.revision = state.revision
                let reference: [UInt8] = try expected.serializedBytes()
                #expect(buffer.readInteger(as: UInt32.self) == UInt32(reference.count))
                #expect(Array(buffer.readableBytesView) == reference, "\(check)")
            case (nil, .success):
                #expect(!namedByIDs || !reached, "the lane declines a Check the table decides: \(check)")
            case (nil, .failure):
                break
            case (let decided?, .failure(let error)):
                Issue.record("the lane answers \(decided.result), the table fails with \(error), for \(check)")
            }
        }
        #expect(answered > 300, "the lane answers many of them (\(answered))")
    }

    /// An id read from bytes follows the rule an id read from text does.
    @Test func idsFromBytesFollowTheRuleOfIdsFromText() {
        var random = SeededGenerator(seed: 0x1A4E_0004)
        let alphabet = Array("usr_acc0129azZ_ -é")
        for _ in 0..<20_000 {
            let text = String((0..<Int.random(in: 0...44, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
            let candidates = [text, "usr_" + text, "acc_" + text]
            for candidate in candidates {
                let fromBytes = Array(candidate.utf8).withUnsafeBytes { UserID(utf8: $0) }
                #expect(fromBytes == UserID(candidate), "\(candidate)")
                let account = Array(candidate.utf8).withUnsafeBytes { AccountID(utf8: $0) }
                #expect(account == AccountID(candidate), "\(candidate)")
            }
        }
    }

    /// The warm-up of one read (`CheckLane.userHashes`) names the users of
    /// its whole plain Check frames, in order, and nothing else: not other
    /// frames, not a frame still arriving, not a read of a single Check.
    @Test func aReadsWarmUpNamesTheUsersOfItsWholeCheckFrames() throws {
        func check(_ user: String, id: UInt64) throws -> [UInt8] {
            try frame(Accessd_V1_Request.with {
                $0.id = id
                $0.method = Methods.check.path
                $0.payload = try! Accessd_V1_CheckRequest.with {
                    $0.user = user
                    $0.accountID = "acc_1"
                    $0.permission = .viewBilling
                }.serializedBytes()
            })
        }
        func framed(_ frames: [[UInt8]]) -> ByteBuffer {
            var buffer = ByteBuffer()
            for bytes in frames {
                buffer.writeInteger(UInt32(bytes.count), endianness: .big)
                buffer.writeBytes(bytes)
            }
            return buffer
        }
        let other = try frame(Accessd_V1_Request.with { $0.id = 9; $0.method = Methods.getUser.path })
        var hashes: [Int] = [1, 2, 3]
        var read = framed([try check("usr_1a", id: 1), other, try check(" usr_bad", id: 2), try check("usr_2b", id: 3)])
        let whole = read.readableBytes
        let unfinished = try check("usr_3c", id: 4)
        read.writeInteger(UInt32(unfinished.count), endianness: .big)
        read.writeBytes(unfinished.prefix(10))
        CheckLane.userHashes(inFrames: read, into: &hashes)
        #expect(hashes == [UserID("usr_1a")!.hashValue, UserID("usr_2b")!.hashValue])
        // The frames are not taken: the handler reads them next.
        #expect(read.readableBytes == whole + 14)
        CheckLane.userHashes(inFrames: framed([try check("usr_1a", id: 1)]), into: &hashes)
        #expect(hashes.isEmpty)
        CheckLane.userHashes(inFrames: framed([try check("usr_1a", id: 1), other]), into: &hashes)
        #expect(hashes.isEmpty)
        CheckLane.userHashes(inFrames: ByteBuffer(bytes: [0, 0]), into: &hashes)
        #expect(hashes.isEmpty)
    }
}
