// One connection of the load: D calls in flight, a new one sent as each reply
// arrives, until the end of the run; latencies of the calls sent and answered
// inside the measured window go into an HdrHistogram.

import Histogram
import NIOCore

/// What every connection sends, and when the measured window is.
struct LoadPlan: Sendable {
    var reads: [RequestTemplate]
    var writes: [[RequestTemplate]]  // per connection (each writes its own account)
    var depth: Int
    /// Every `writeEvery`-th call is a write (1: writes only, 0: reads only).
    var writeEvery: Int
}

/// Tells a connected handler to start: the measured window in NIODeadline uptime nanoseconds.
struct StartLoad: Sendable {
    var measureFrom: UInt64
    var measureUntil: UInt64
}

/// What one connection measured.
struct ConnectionResult: Sendable {
    var reads = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    var writes = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    var errors = 0
    var unmatched = 0

    mutating func add(_ other: ConnectionResult) {
        reads.add(other.reads)
        writes.add(other.writes)
        errors += other.errors
        unmatched += other.unmatched
    }
}

final class LoadHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let plan: LoadPlan
    private let index: Int
    private let done: EventLoopPromise<ConnectionResult>
    private var buffer: ByteBuffer?
    /// Per slot (one call in flight each): when its call was sent, whether a write.
    private var sentAt: [UInt64]
    private var sentWrite: [Bool]
    private var sequence: UInt64 = 0
    private var cursor: Int
    private var inFlight = 0
    private var window = StartLoad(measureFrom: 0, measureUntil: 0)
    private var result = ConnectionResult()
    private var finished = false

    init(plan: LoadPlan, index: Int, done: EventLoopPromise<ConnectionResult>) {
        self.plan = plan
        self.index = index
        self.done = done
        self.sentAt = Array(repeating: 0, count: plan.depth)
        self.sentWrite = Array(repeating: false, count: plan.depth)
        self.cursor = (index &* 7919) % max(1, plan.reads.count)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let start = event as? StartLoad else { return context.fireUserInboundEventTriggered(event) }
        window = start
        for slot in 0..<plan.depth { send(slot: slot, context: context) }
        context.flush()
    }

    private func send(slot: Int, context: ChannelHandlerContext) {
        sequence &+= 1
        let write = plan.writeEvery == 1 || (plan.writeEvery > 1 && sequence % UInt64(plan.writeEvery) == 0)
        let template: RequestTemplate
        if write {
            let mine = plan.writes[index % plan.writes.count]
            template = mine[Int(sequence % UInt64(mine.count))]
        } else {
            template = plan.reads[cursor]
            cursor += 1
            if cursor == plan.reads.count { cursor = 0 }
        }
        var frame = context.channel.allocator.buffer(capacity: template.rest.count + 24)
        template.write(id: sequence << 16 | UInt64(slot), into: &frame)
        sentAt[slot] = NIODeadline.now().uptimeNanoseconds
        sentWrite[slot] = write
        inFlight += 1
        context.write(wrapOutboundOut(frame), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffer == nil {
            buffer = incoming
        } else {
            buffer!.writeBuffer(&incoming)
        }
        while let length = buffer!.getInteger(at: buffer!.readerIndex, as: UInt32.self),
            buffer!.readableBytes >= 4 + Int(length)
        {
            let head = buffer!.withUnsafeReadableBytes { bytes in
                parseReplyHead(UnsafeRawBufferPointer(rebasing: bytes[4..<(4 + Int(length))]))
            }
            buffer!.moveReaderIndex(forwardBy: 4 + Int(length))
            guard let head else {
                result.unmatched += 1
                continue
            }
            replied(head, context: context)
        }
        if buffer!.readableBytes == 0 {
            buffer = nil
        } else if buffer!.readerIndex > 1 << 16 {
            buffer!.discardReadBytes()
        }
    }

    private func replied(_ head: ReplyHead, context: ChannelHandlerContext) {
        let now = NIODeadline.now().uptimeNanoseconds
        let slot = Int(head.id & 0xFFFF)
        guard slot < plan.depth else {
            result.unmatched += 1
            return
        }
        inFlight -= 1
        let sent = sentAt[slot]
        if sent >= window.measureFrom && now <= window.measureUntil {
            let micros = max(1, (now - sent) / 1000)
            if sentWrite[slot] {
                _ = result.writes.record(micros)
            } else {
                _ = result.reads.record(micros)
            }
            if head.code != 0 { result.errors += 1 }
        }
        if now < window.measureUntil {
            send(slot: slot, context: context)
        } else if inFlight == 0 {
            finish(context: context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    private func finish(context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        done.succeed(result)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished {
            finished = true
            done.fail(ChannelError.eof)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !finished {
            finished = true
            done.fail(error)
        }
        context.close(promise: nil)
    }
}
