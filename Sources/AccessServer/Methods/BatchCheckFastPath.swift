public import AccessCore
import AccessMapping
public import AccessWire
public import NIOCore

/// BatchCheck on Check's codec (`CheckFastPath`): the checks read in place
/// from the payload, each named by ids decided as the Check lane decides
/// (`CheckLane.request(ofCheck:)`, `AccessState.check`) and every other one
/// by `MethodTable.checkResult` (what the method table runs for each), and the `BatchCheckResponse` written straight
/// into the outbound buffer. FastFramesTests holds its bytes equal to
/// swift-protobuf's encoding of what `MethodTable.batchCheck` answers.
public enum BatchCheckFastPath {
    /// One check's answer: its decision, or its own error.
    public typealias Item = Result<CheckResult, AccessError>

    /// The answers to a BatchCheck payload of the common shape (each check
    /// as `CheckFastPath.request` reads one), or the call's refusal when it
    /// carries more than `limit` checks; nil: take the general path.
    public static func answer(_ payload: ByteBuffer, in state: AccessState, limit: Int) -> Result<[Item], AccessError>? {
        var reader = ProtoReader(payload)
        var checks: [Check] = []
        var count = 0
        while !reader.isAtEnd {
            guard let (field, wireType) = reader.readTag(), field == 1, wireType == 2, let bytes = reader.readBytes() else {
                return nil
            }
            count += 1
            // Past the limit the call is refused however the rest reads: count, do not decode.
            if count > limit { continue }
            if let request = CheckLane.request(ofCheck: bytes) {
                checks.append(.byIDs(request, bytes))
            } else {
                guard let request = CheckFastPath.request(bytes) else { return nil }
                checks.append(.general(request))
            }
        }
        do throws(AccessError) {
            try MethodTable.checkBatchSize(count, limit: limit)
        } catch {
            return .failure(error)
        }
        // The users named by ids looked up together (their entries loaded at once), then each check decided.
        let accesses = state.access(of: checks.compactMap(\.userByID))
        var next = 0
        var items: [Item] = []
        items.reserveCapacity(checks.count)
        for check in checks {
            switch check {
            case .byIDs(let request, let bytes):
                let access = accesses[next]
                next += 1
                // A user who exists: the decision or its error as `checkResult` gives them once it
                // has found the user; otherwise the table's way, which says what is wrong as Check does.
                if let access {
                    items.append(Result { () throws(AccessError) in try state.check(request, access: access) })
                    continue
                }
                guard let request = CheckFastPath.request(bytes) else { return nil }
                items.append(Result { () throws(AccessError) in try MethodTable.checkResult(request, in: state) })
            case .general(let request):
                items.append(Result { () throws(AccessError) in try MethodTable.checkResult(request, in: state) })
            }
        }
        return .success(items)
    }

    /// One check of a batch as read: named by ids (the Check lane's reading,
    /// its bytes kept for the general way if the user does not exist), or in
    /// any other shape Check takes.
    private enum Check {
        case byIDs(CheckRequest, ByteBuffer)
        case general(Accessd_V1_CheckRequest)

        var userByID: UserID? {
            if case .byIDs(let request, _) = self { request.user } else { nil }
        }
    }

    /// Answers with their encoded lengths, each reason's parts counted once:
    /// what `length(of:)` and `write(_:to:)` would each count again.
    public struct Encoding {
        public let items: [Item]
        /// Per item: its reason's bytes (0 for an error) and its CheckResponse's bytes.
        private let sizes: [(reason: Int, check: Int)]
        /// The BatchCheckResponse's bytes.
        public let length: Int

        public init(_ items: [Item]) {
            self.items = items
            var sizes: [(reason: Int, check: Int)] = []
            sizes.reserveCapacity(items.count)
            var total = 0
            for item in items {
                let size: (reason: Int, check: Int)
                switch item {
                case .success(let result):
                    let reason = CheckFastPath.reasonLength(of: result)
                    size = (reason, CheckFastPath.length(of: result, reasonLength: reason))
                case .failure:
                    size = (0, 0)
                }
                let body = BatchCheckFastPath.length(of: item, checkLength: size.check)
                total += 1 + ProtoWriter.varintSize(UInt64(body)) + body
                sizes.append(size)
            }
            self.sizes = sizes
            length = total
        }

        /// Writes the `BatchCheckResponse` (`length` bytes) as swift-protobuf encodes it.
        public func write(to writer: inout ProtoWriter) {
            for (item, size) in zip(items, sizes) {
                writer.byte(1 << 3 | 2)
                writer.varint(UInt64(BatchCheckFastPath.length(of: item, checkLength: size.check)))
                switch item {
                case .success(let result):
                    // The response is set (written even when all its fields are defaults).
                    writer.byte(3 << 3 | 2)
                    writer.varint(UInt64(size.check))
                    CheckFastPath.write(result, reasonLength: size.reason, to: &writer)
                case .failure(let error):
                    writer.varintField(1, UInt64(error.code.rawValue))
                    writer.stringField(2, error.message)
                }
            }
        }
    }

    /// The encoded length of the `BatchCheckResponse` of these answers.
    public static func length(of items: [Item]) -> Int { Encoding(items).length }

    /// Writes the `BatchCheckResponse` (`length(of:)` bytes) as swift-protobuf encodes it.
    public static func write(_ items: [Item], to writer: inout ProtoWriter) { Encoding(items).write(to: &writer) }

    /// One `BatchCheckResult`'s length, its CheckResponse (if any) of `checkLength` bytes.
    private static func length(of item: Item, checkLength: Int) -> Int {
        switch item {
        case .success:
            return 1 + ProtoWriter.varintSize(UInt64(checkLength)) + checkLength
        case .failure(let error):
            return ProtoWriter.varintFieldSize(UInt64(error.code.rawValue)) + ProtoWriter.bytesFieldSize(error.message.utf8.count)
        }
    }
}
