import AccessPaths
import AccessStore
import AccessCore
import AccessTestSupport
import AccessWire
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import SwiftProtobuf
import Testing

@testable import AccessDaemon

/// AdminService.Backup as the connection serves it: one header, the
/// snapshot's bytes in order in chunks of at most 256 KiB, one trailer with
/// their SHA-256, then OK; a piece leaves only while the peer takes them, so
/// the outbound buffer never holds more than the high-water mark and one
/// chunk, however large the state (docs/protocol.md, "Streams").
@Suite struct BackupStreamTests {
    // MARK: The pieces

    @Test func aTransferIsAHeaderTheBytesInChunksAndATrailerWithTheirHash() throws {
        let image = try BackupImages.image(accounts: 40)
        var transfer = BackupTransfer(image: image)
        var pieces: [BackupTransfer.Piece] = []
        while let piece = transfer.take(chunkSize: 1000) { pieces.append(piece) }
        guard case .header(let header) = pieces.first, case .trailer(let trailer) = pieces.last else {
            Issue.record("a header first and a trailer last: \(pieces.count) pieces")
            return
        }
        #expect(header.revision == image.revision && header.lsn == 40 && header.size == UInt64(image.bytes.count))
        #expect(header.formatVersion == SnapshotFile.formatVersion && header.daemonVersion == AccessdVersion.current)
        var bytes: [UInt8] = []
        for piece in pieces.dropFirst().dropLast() {
            guard case .data(let range) = piece else { Issue.record("only data between them"); return }
            #expect(range.count <= 1000 && range.lowerBound == bytes.count)
            bytes += image.bytes[range]
        }
        #expect(bytes == image.bytes)
        #expect([UInt8](trailer.sha256) == SHA256.hash(bytes))
        #expect(transfer.take() == nil, "nothing after the trailer")
        // The bytes are a snapshot file as the daemon writes it.
        let summary = try BackupFile.verify(bytes, path: "backup")
        #expect(summary.accounts == 40 && summary.lsn == 40 && summary.revision == image.revision)
    }

    @Test func theMachineSendsABackupOnlyOnceEncodedAndOnlyWhileWritable() throws {
        var machine = ConnectionStateMachine(limits: ConnectionHandler.limits(DaemonConfiguration(socketPath: "/s", stateDirectory: "/d")))
        #expect(machine.admit(id: 7) == .accepted)
        machine.started(7, .backup(nil))
        #expect(machine.nextBackupPiece(7) == .wait, "nothing to send while the snapshot is encoded")
        #expect(machine.backupEncoded(7, BackupTransfer(image: try BackupImages.image(accounts: 2))))
        guard case .send(.header) = machine.nextBackupPiece(7) else { Issue.record("the header comes first"); return }
        _ = machine.writabilityChanged(writable: false)
        #expect(machine.nextBackupPiece(7) == .wait, "not while the peer leaves what was sent unread")
        #expect(machine.writabilityChanged(writable: true) == .resume(read: false))
        #expect(machine.backups == [7])
        var sent = 0
        while case .send = machine.nextBackupPiece(7) { sent += 1 }
        #expect(machine.nextBackupPiece(7) == .finished)
        #expect(sent >= 2, "data and the trailer")
        #expect(machine.finished(7) == .none)
        #expect(machine.backups.isEmpty)
    }

    @Test func aCancelledOrClosedBackupDropsItsImageAndFreesTheSlot() throws {
        let freed = NIOLockedValueBox(0)
        var machine = ConnectionStateMachine(limits: ConnectionHandler.limits(DaemonConfiguration(socketPath: "/s", stateDirectory: "/d")))
        _ = machine.admit(id: 1)
        machine.started(1, .backup(nil))
        #expect(machine.cancel(1) == .cancelledBackup)
        // The image arrives after the cancel: it is not taken, and goes.
        #expect(!machine.backupEncoded(1, BackupTransfer(image: try BackupImages.image(accounts: 1, lease: BackupLease { freed.withLockedValue { $0 += 1 } }))))
        #expect(freed.withLockedValue { $0 } == 1)
        _ = machine.admit(id: 2)
        machine.started(2, .backup(nil))
        #expect(machine.backupEncoded(2, BackupTransfer(image: try BackupImages.image(accounts: 1, lease: BackupLease { freed.withLockedValue { $0 += 1 } }))))
        // GoAway leaves a backup to finish (it is a call in flight), a closed connection drops it.
        #expect(machine.goAway().close == false)
        #expect(machine.backups == [2])
        _ = machine.closed()
        #expect(freed.withLockedValue { $0 } == 2)
    }

    // MARK: Through the connection handler

    /// Marks the channel not writable once more than `highWater` bytes are
    /// written and not yet taken by the test, as a socket's outbound buffer does.
    final class WaterMark: ChannelOutboundHandler, @unchecked Sendable {
        typealias OutboundIn = ByteBuffer
        let highWater: Int
        var outstanding = 0
        var mostOutstanding = 0
        weak var channel: NIOAsyncTestingChannel?

        init(highWater: Int) { self.highWater = highWater }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            outstanding += unwrapOutboundIn(data).readableBytes
            mostOutstanding = max(mostOutstanding, outstanding)
            context.write(data, promise: promise)
            if outstanding > highWater, let channel, channel.isWritable {
                channel.isWritable = false
                context.fireChannelWritabilityChanged()
            }
        }
    }

    @Test func aBackupLeavesOnlyAsFastAsThePeerTakesItAndArrivesWhole() async throws {
        let loop = NIOAsyncTestingEventLoop()
        let owner = StateOwner(
            loop: loop, state: AccessState(), history: EventHistory(), policy: DomainPolicy(),
            clock: { Timestamp(millisecondsSinceEpoch: 1_800_000_000_000) })
        let image = try BackupImages.image(accounts: 6_000)
        #expect(image.bytes.count > 4 * BackupTransfer.chunkSize, "several chunks (\(image.bytes.count) bytes)")
        let control = DaemonControl(
            snapshot: { loop.makeFailedFuture(StorageError(.io, "no snapshots here")) },
            backup: { loop.makeSucceededFuture(image) },
            status: {
                DaemonStatus(
                    connections: 1, snapshotRevision: 0, snapshotLSN: 0, snapshotAtMilliseconds: 0, fsyncPolicy: "none",
                    journalRecords: 0, journalSyncs: 0)
            })
        let shared = ConnectionHandler.Shared(owner: owner, control: control, live: nil, logger: Logger(label: "test"))
        let configuration = DaemonConfiguration(socketPath: "/unused", stateDirectory: "/unused")
        let highWater = 64 * 1024
        let waterMark = WaterMark(highWater: highWater)
        let channel = try await NIOAsyncTestingChannel(loop: loop) { channel in
            try channel.pipeline.syncOperations.addHandler(waterMark)
            try channel.pipeline.syncOperations.addHandler(
                ConnectionHandler(shared: shared, configuration: configuration, peer: PeerCredentials(pid: 1, uid: 0, gid: 0, groups: [])))
        }
        waterMark.channel = channel
        try await channel.connect(to: SocketAddress(unixDomainSocketPath: "/unused")).get()
        try await channel.writeInbound(try ConnectionHandlerTests.Rig.frame(Methods.backup.path, Accessd_V1_BackupRequest(), id: 5))
        await loop.run()

        var responses: [Accessd_V1_Response] = []
        var turns = 0
        while responses.last?.more ?? true, turns < 1000 {
            turns += 1
            responses += try await ConnectionHandlerTests.Rig.responses(channel)
            // The test, as the peer, took everything: the channel drains.
            waterMark.outstanding = 0
            channel.isWritable = true
            channel.pipeline.fireChannelWritabilityChanged()
            await loop.run()
        }
        #expect(responses.allSatisfy { $0.id == 5 && $0.code == 0 })
        #expect(responses.last?.more == false, "the stream ends with OK")
        #expect(
            waterMark.mostOutstanding <= highWater + BackupTransfer.chunkSize + 64,
            "at most the high-water mark and one chunk wait for the peer (\(waterMark.mostOutstanding) bytes)")
        #expect(turns > image.bytes.count / (highWater + BackupTransfer.chunkSize), "it waited for the peer \(turns) times")
        let chunks = try responses.dropLast().map { try Accessd_V1_BackupChunk(serializedBytes: $0.payload) }
        var bytes = Data()
        for chunk in chunks.dropFirst().dropLast() {
            guard case .data(let data) = chunk.part else { Issue.record("data between header and trailer"); return }
            #expect(data.count <= BackupTransfer.chunkSize)
            bytes += data
        }
        guard case .header(let header) = chunks.first?.part, case .trailer(let trailer) = chunks.last?.part else {
            Issue.record("a header first, a trailer last")
            return
        }
        #expect(header.size == UInt64(bytes.count) && [UInt8](bytes) == image.bytes)
        #expect([UInt8](trailer.sha256) == SHA256.hash([UInt8](bytes)))
        #expect(responses.allSatisfy { $0.revision == image.revision })
    }

    @Test func aBackupIsAnAdministratorsCall() async throws {
        let rig = ConnectionHandlerTests.Rig()
        let channel = try await rig.channel(uid: 1234)
        try await channel.writeInbound(try ConnectionHandlerTests.Rig.frame(Methods.backup.path, Accessd_V1_BackupRequest(), id: 3))
        await rig.loop.run()
        let reply = try #require(try await ConnectionHandlerTests.Rig.responses(channel).first)
        #expect(reply.code == 7 && reply.message.contains("administrator"), "\(reply.code) \(reply.message)")
    }
}
