import AccessMapping
public import AccessCore
import AccessWire
public import NIOCore

/// Check as services send it, from the frame's bytes to the reply's: the
/// frame read in one pass (`PlainCheckFrame`), the ids made from its bytes,
/// the decision `AccessState.check` (the one the method table runs, and the
/// property tests hold equal to the computed one), the whole Response frame
/// written into the connection's replies buffer. What this lane does not
/// answer (another shape, an email for the user, a revision not reached yet,
/// any error) it leaves untouched for the general path, which answers it as
/// it always has: the lane changes how fast a Check is answered, never what
/// it is answered.
public enum CheckLane {
    /// A plain Check decided: its request id and the decision.
    public struct Decided {
        public let id: UInt64
        public let result: CheckResult
    }

    /// The decision for `frame` when it is a plain Check that `state` can
    /// answer now with a decision (allowed or denied); nil otherwise.
    public static func decide(_ frame: ByteBuffer, in state: AccessState) -> Decided? {
        frame.withUnsafeReadableBytes { decide($0, in: state) }
    }

    /// `decide` for a frame's bytes where they lie (the connection's inbound buffer).
    public static func decide(_ raw: UnsafeRawBufferPointer, in state: AccessState) -> Decided? {
        guard let plain = PlainCheckFrame.parse(raw), plain.minRevision <= state.revision,
            let request = request(plain, in: raw), let result = try? state.check(request)
        else { return nil }
        return Decided(id: plain.id, result: result)
    }

    /// The hashes of the users named by the plain Check frames among the
    /// whole frames of `frames` (as read from the socket: each behind its
    /// length), for `AccessState.warmAccess`, so that the lookups of one read
    /// wait on memory together. None when there are fewer than two.
    public static func userHashes(inFrames frames: ByteBuffer, into hashes: inout [Int]) {
        hashes.removeAll(keepingCapacity: true)
        let framing = FrameDecoder()
        frames.withUnsafeReadableBytes { raw in
            var at = 0
            while let length = try? framing.wholeFrameLength(in: frames, at: frames.readerIndex + at) {
                // One frame and no start of another: a read of one call, with nothing to overlap.
                if at == 0, raw.count - 4 - length < 4 { return }
                let frame = UnsafeRawBufferPointer(rebasing: raw[at + 4..<at + 4 + length])
                if let plain = PlainCheckFrame.parse(frame),
                    let user = UserID(utf8: UnsafeRawBufferPointer(rebasing: frame[plain.user]))
                {
                    hashes.append(user.hashValue)
                }
                at += 4 + length
            }
        }
        if hashes.count < 2 { hashes.removeAll(keepingCapacity: true) }
    }

    /// The core's request for one check of a BatchCheck payload (`bytes` is
    /// the CheckRequest alone) when it has the lane's shape; nil otherwise.
    public static func request(ofCheck bytes: ByteBuffer) -> CheckRequest? {
        bytes.withUnsafeReadableBytes { raw in
            PlainCheckFrame.parseCheckRequest(raw, 0..<raw.count).flatMap { request($0, in: raw) }
        }
    }

    /// Writes the Response frame (its length prefix included) of a decision at `revision`.
    public static func write(_ decided: Decided, revision: UInt64, to buffer: inout ByteBuffer) {
        let reason = CheckFastPath.reasonLength(of: decided.result)
        ResponseFrame(id: decided.id, code: 0, revision: revision).write(
            to: &buffer, payloadLength: CheckFastPath.length(of: decided.result, reasonLength: reason)
        ) { CheckFastPath.write(decided.result, reasonLength: reason, to: &$0) }
    }

    /// The core's request from the frame's fields: ids as sent (no email,
    /// no spaces to trim) and a known permission; nil otherwise.
    static func request(_ plain: PlainCheckFrame, in raw: UnsafeRawBufferPointer) -> CheckRequest? {
        guard let user = UserID(utf8: UnsafeRawBufferPointer(rebasing: raw[plain.user])),
            let account = AccountID(utf8: UnsafeRawBufferPointer(rebasing: raw[plain.account])),
            plain.permission <= UInt64(Int32.max),
            let wire = Accessd_V1_Permission(rawValue: Int(plain.permission)),
            let permission = Permission.fromWire(wire)
        else { return nil }
        let resource: CheckResource?
        switch plain.resource {
        case .none:
            resource = nil
        case .project(let range):
            guard let id = ProjectID(utf8: UnsafeRawBufferPointer(rebasing: raw[range])) else { return nil }
            resource = .project(id)
        case .product(let range):
            guard let id = ProductID(utf8: UnsafeRawBufferPointer(rebasing: raw[range])) else { return nil }
            resource = .product(id)
        }
        return CheckRequest(user: user, account: account, permission: permission, resource: resource)
    }
}
