import AccessStore
import AccessCore
import AccessTestSupport
import AccessWire
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import SwiftProtobuf
import Testing

@testable import AccessDaemon

/// `ConnectionHandler` carrying out its state machine, on NIO's testing
/// channel, whose loop also runs the state's owner: frames in, frames out,
/// time advanced by hand (docs/protocol.md, "Bad input and limits").
@Suite struct ConnectionHandlerTests {
    /// A channel with a handler for `peer`, an owner on the same embedded loop.
    final class Rig: Sendable {
        let loop = NIOAsyncTestingEventLoop()
        let owner: StateOwner
        let configuration: DaemonConfiguration

        init(configure: (inout DaemonConfiguration) -> Void = { _ in }) {
            var configuration = DaemonConfiguration(socketPath: "/unused", stateDirectory: "/unused")
            configure(&configuration)
            self.configuration = configuration
            owner = StateOwner(
                loop: loop, state: AccessState(), history: EventHistory(), policy: DomainPolicy(),
                clock: { Timestamp(millisecondsSinceEpoch: 1_800_000_000_000) })
        }

        func channel(uid: UInt32 = 0, groups: [UInt32] = [], metrics: MetricsHooks? = nil) async throws -> NIOAsyncTestingChannel {
            let loop = self.loop
            let control = DaemonControl(
                snapshot: { loop.makeFailedFuture(StorageError(.io, "no snapshots here")) },
                status: {
                    DaemonStatus(
                        connections: 1, snapshotRevision: 0, snapshotLSN: 0, snapshotAtMilliseconds: 0, fsyncPolicy: "none",
                        journalRecords: 0, journalSyncs: 0)
                })
            let shared = ConnectionHandler.Shared(
                owner: owner, control: control, live: nil, logger: Logger(label: "test"), metrics: metrics)
            let configuration = self.configuration
            let peer = PeerCredentials(pid: 42, uid: uid, gid: uid, groups: groups)
            let channel = try await NIOAsyncTestingChannel(loop: loop) { channel in
                try channel.pipeline.syncOperations.addHandler(
                    ConnectionHandler(shared: shared, configuration: configuration, peer: peer))
            }
            try await channel.connect(to: SocketAddress(unixDomainSocketPath: "/unused")).get()
            return channel
        }

        static func frame(_ method: String, _ message: some SwiftProtobuf.Message, id: UInt64, actor: String = "", minRevision: UInt64 = 0)
            throws -> ByteBuffer
        {
            var request = Accessd_V1_Request()
            request.id = id
            request.method = method
            request.payload = try message.serializedBytes()
            request.actor = actor
            request.minRevision = minRevision
            var frame = Accessd_V1_ClientFrame()
            frame.request = request
            return ByteBufferAllocator().frame(try frame.serializedBytes())
        }

        /// Every response the channel wrote, in order.
        static func responses(_ channel: NIOAsyncTestingChannel) async throws -> [Accessd_V1_Response] {
            var out: [Accessd_V1_Response] = []
            var bytes = ByteBuffer()
            while var buffer = try await channel.readOutbound(as: ByteBuffer.self) { bytes.writeBuffer(&buffer) }
            while let length = bytes.readInteger(as: UInt32.self), let body = bytes.readBytes(length: Int(length)) {
                let frame = try Accessd_V1_ServerFrame(serializedBytes: body)
                if case .response(let response) = frame.kind { out.append(response) }
            }
            return out
        }

        /// An account made through `channel` as root; its id.
        func createAccount(_ channel: NIOAsyncTestingChannel, id: UInt64 = 1) async throws -> String {
            var create = Accessd_V1_CreateAccountRequest()
            create.name = "Acme"
            create.fullAccessLicenses = 3
            create.ownerEmail = "olga@acme.example"
            create.ownerFirstName = "Olga"
            create.ownerLastName = "Owner"
            try await channel.writeInbound(try Self.frame(Methods.createAccount.path, create, id: id))
            await loop.run()
            let reply = try #require(try await Self.responses(channel).first)
            #expect(reply.code == 0, "\(reply.message)")
            return try Accessd_V1_CreateAccountResponse(serializedBytes: reply.payload).account.id
        }
    }

    static func check(_ account: String, id: UInt64) throws -> ByteBuffer {
        var check = Accessd_V1_CheckRequest()
        check.user = "olga@acme.example"
        check.accountID = account
        check.permission = .editAccountSettings
        return try Rig.frame(Methods.check.path, check, id: id)
    }

    @Test func item1_whileTheChannelIsNotWritableNoRequestIsHandledAndAllAreOnceItIs() async throws {
        let rig = Rig()
        let channel = try await rig.channel()
        let account = try await rig.createAccount(channel)
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        await rig.loop.run()
        var frames = ByteBuffer()
        for id in 2...51 as ClosedRange<UInt64> {
            var frame = try Self.check(account, id: id)
            frames.writeBuffer(&frame)
        }
        try await channel.writeInbound(frames)
        #expect(try await Rig.responses(channel).isEmpty, "no request is handled while the peer leaves replies unread")
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        await rig.loop.run()
        let answered = try await Rig.responses(channel)
        #expect(answered.map(\.id) == Array(2...51))
        #expect(answered.allSatisfy { $0.code == 0 })
    }

    @Test func item3_aFrameThatDoesNotFinishWithinTheStallLimitClosesTheConnectionAndFramesThatDoNeverDo() async throws {
        let rig = Rig { $0.frameStallTimeoutMilliseconds = 1000 }
        let channel = try await rig.channel()
        let account = try await rig.createAccount(channel)
        // Ten seconds of Checks whose writes each end half-way into the next frame.
        var stream = ByteBuffer()
        for id in 10...30 as ClosedRange<UInt64> {
            var frame = try Self.check(account, id: id)
            stream.writeBuffer(&frame)
        }
        let piece = stream.readableBytes / 21 + 7
        var answered = 0
        while stream.readableBytes > 0 {
            try await channel.writeInbound(stream.readSlice(length: min(piece, stream.readableBytes))!)
            answered += try await Rig.responses(channel).count
            await rig.loop.advanceTime(by: .milliseconds(500))
        }
        #expect(answered == 21)
        #expect(channel.isActive, "frames kept finishing: never closed")
        // Half a frame, then nothing.
        var frame = try Self.check(account, id: 99)
        try await channel.writeInbound(frame.readSlice(length: 10)!)
        await rig.loop.advanceTime(by: .milliseconds(999))
        #expect(channel.isActive)
        await rig.loop.advanceTime(by: .milliseconds(2))
        await rig.loop.run()
        #expect(!channel.isActive, "the frame begun did not finish within frame_stall_timeout_ms")
    }

    @Test func item4_aReadWaitingForARevisionIsAnsweredWhenAWriteOnAnotherConnectionPublishesIt() async throws {
        let rig = Rig()
        let writer = try await rig.channel()
        let reader = try await rig.channel()
        let account = try await rig.createAccount(writer)
        let revision = rig.owner.published.revision
        try await reader.writeInbound(
            try Rig.frame(Methods.listEvents.path, Accessd_V1_ListEventsRequest(), id: 7, minRevision: revision + 1))
        await rig.loop.run()
        #expect(try await Rig.responses(reader).isEmpty, "it waits")
        #expect(rig.owner.revisions.waiting == 1, "one registration with the owner, nothing polled")
        var rename = Accessd_V1_RenameAccountRequest()
        rename.accountID = account
        rename.name = "Acme 2"
        try await writer.writeInbound(try Rig.frame(Methods.renameAccount.path, rename, id: 2, actor: "olga@acme.example"))
        await rig.loop.run()
        let woken = try #require(try await Rig.responses(reader).first)
        #expect(woken.id == 7 && woken.code == 0 && woken.revision == revision + 1)
        #expect(rig.owner.revisions.waiting == 0)
    }

    @Test func item4_aWaitThatReachesTheCapEndsWithDeadlineExceeded() async throws {
        let rig = Rig { $0.maximumRevisionWaitMilliseconds = 500 }
        let channel = try await rig.channel()
        var request = Accessd_V1_Request()
        request.id = 3
        request.method = Methods.listEvents.path
        request.minRevision = 10
        request.timeoutMs = UInt32.max
        var frame = Accessd_V1_ClientFrame()
        frame.request = request
        try await channel.writeInbound(ByteBufferAllocator().frame(try frame.serializedBytes()))
        #expect(try await Rig.responses(channel).isEmpty, "not refused up front")
        await rig.loop.advanceTime(by: .milliseconds(499))
        #expect(try await Rig.responses(channel).isEmpty)
        await rig.loop.advanceTime(by: .milliseconds(2))
        let ended = try #require(try await Rig.responses(channel).first)
        #expect(ended.id == 3 && ended.code == 4)
    }

    @Test func item13_aReadOnlyPeerReadsButItsWritesAreRefused() async throws {
        let rig = Rig { $0.peers.readOnlyGIDs = [500] }
        let admin = try await rig.channel()
        let account = try await rig.createAccount(admin)
        let reader = try await rig.channel(uid: 1000, groups: [500])
        try await reader.writeInbound(try Self.check(account, id: 1))
        var rename = Accessd_V1_RenameAccountRequest()
        rename.accountID = account
        rename.name = "Mine"
        try await reader.writeInbound(try Rig.frame(Methods.renameAccount.path, rename, id: 2, actor: "olga@acme.example"))
        await rig.loop.run()
        let replies = try await Rig.responses(reader)
        #expect(replies.map(\.code) == [0, 7], "\(replies.map(\.message))")
        #expect(rig.owner.published.state.accounts.values.first?.name == "Acme")
    }

    @Test func anOversizeFrameIsAnsweredWithIDZeroAndTheConnectionClosed() async throws {
        let rig = Rig { $0.maximumFrameLength = 1024 }
        let channel = try await rig.channel()
        try await channel.writeInbound(ByteBuffer(bytes: [0, 0, 0x10, 0]))
        let reply = try #require(try await Rig.responses(channel).first)
        #expect(reply.id == 0 && reply.code == 8)
        await rig.loop.run()
        #expect(!channel.isActive)
    }
}
