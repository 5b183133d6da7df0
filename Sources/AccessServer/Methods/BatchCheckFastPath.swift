public import AccessCore
import AccessMapping
public import AccessWire
public import NIOCore

/// BatchCheck on Check's codec (`CheckFastPath`): the checks read in place
/// from the payload, each decided by `MethodTable.checkResult` (what the
/// method table runs for each), and the `BatchCheckResponse` written straight
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
        var requests: [Accessd_V1_CheckRequest] = []
        var count = 0
        while !reader.isAtEnd {
            guard let (field, wireType) = reader.readTag(), field == 1, wireType == 2, let bytes = reader.readBytes() else {
                return nil
            }
            count += 1
            // Past the limit the call is refused however the rest reads: count, do not decode.
            if count > limit { continue }
            guard let request = CheckFastPath.request(bytes) else { return nil }
            requests.append(request)
        }
        do throws(AccessError) {
            try MethodTable.checkBatchSize(count, limit: limit)
        } catch {
            return .failure(error)
        }
        return .success(requests.map { request in Result { () throws(AccessError) in try MethodTable.checkResult(request, in: state) } })
    }

    /// The encoded length of the `BatchCheckResponse` of these answers.
    public static func length(of items: [Item]) -> Int {
        var total = 0
        for item in items {
            let body = length(of: item)
            total += 1 + ProtoWriter.varintSize(UInt64(body)) + body
        }
        return total
    }

    /// Writes the `BatchCheckResponse` (`length(of:)` bytes) as swift-protobuf encodes it.
    public static func write(_ items: [Item], to writer: inout ProtoWriter) {
        for item in items {
            writer.byte(1 << 3 | 2)
            writer.varint(UInt64(length(of: item)))
            switch item {
            case .success(let result):
                // The response is set (written even when all its fields are defaults).
                writer.byte(3 << 3 | 2)
                writer.varint(UInt64(CheckFastPath.length(of: result)))
                CheckFastPath.write(result, to: &writer)
            case .failure(let error):
                writer.varintField(1, UInt64(error.code.rawValue))
                writer.stringField(2, error.message)
            }
        }
    }

    /// One `BatchCheckResult`'s length.
    private static func length(of item: Item) -> Int {
        switch item {
        case .success(let result):
            let check = CheckFastPath.length(of: result)
            return 1 + ProtoWriter.varintSize(UInt64(check)) + check
        case .failure(let error):
            return ProtoWriter.varintFieldSize(UInt64(error.code.rawValue)) + ProtoWriter.bytesFieldSize(error.message.utf8.count)
        }
    }
}
