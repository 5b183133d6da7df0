/// Reads the records of one event archive segment in order from an offset, in
/// large reads, never past `end` (the bytes of whole records the writer has
/// published), or to the end of the file when `end` is nil (a segment read
/// whole: at start, or for its index).
package struct SegmentCursor {
    package enum Next: Equatable {
        /// A record: its seq, where its frame starts, and its payload when asked for.
        case record(seq: UInt64, offset: Int, payload: ArraySlice<UInt8>?)
        /// No more records before `end` (or the file ends where a record would start).
        case end
        /// The record at `offset` does not hold (or the bytes stop inside it).
        case bad(offset: Int, reason: String)
    }

    package static let readSize = 256 * 1024

    package let file: any ReadableFile
    package let end: Int?
    /// Where the next record's frame starts.
    package private(set) var offset: Int
    private var buffer: [UInt8] = []
    /// The file offset of `buffer[0]`.
    private var bufferStart = 0

    package init(file: any ReadableFile, from offset: Int, end: Int?) {
        self.file = file
        self.offset = offset
        self.end = end
    }

    /// Makes `buffer` hold `count` bytes from `from`, reading when it does
    /// not; returns how many of them are there (fewer at `end` or the file's end).
    private mutating func fill(_ from: Int, _ count: Int) throws(StorageError) -> Int {
        let count = end.map { min(count, max(0, $0 - from)) } ?? count
        if from >= bufferStart, from + count <= bufferStart + buffer.count { return count }
        let wanted = max(Self.readSize, count)
        buffer = try file.read(at: from, count: end.map { min($0 - from, wanted) } ?? wanted)
        bufferStart = from
        return min(count, buffer.count)
    }

    /// The next record; its payload's checksum is checked when `payload` is asked for.
    package mutating func next(payload wanted: Bool) throws(StorageError) -> Next {
        if let end, offset >= end { return .end }
        let have = try fill(offset, EventArchiveFormat.frameLength)
        if have == 0 { return .end }
        guard have == EventArchiveFormat.frameLength else {
            return .bad(offset: offset, reason: "the file ends inside a record's frame")
        }
        let frame: EventArchiveFormat.Frame
        switch EventArchiveFormat.frame(in: buffer, at: offset - bufferStart) {
        case .success(let parsed): frame = parsed
        case .failure(let bad): return .bad(offset: offset, reason: bad.reason)
        }
        let start = offset + EventArchiveFormat.frameLength
        if let end, start + frame.length > end {
            return .bad(offset: offset, reason: "the file ends inside a record")
        }
        var payload: ArraySlice<UInt8>?
        if wanted || end == nil {
            // Without a known end the payload is read to be sure the record is whole.
            guard try fill(start, frame.length) == frame.length else {
                return .bad(offset: offset, reason: "the file ends inside a record")
            }
            let slice = buffer[(start - bufferStart)..<(start - bufferStart + frame.length)]
            guard CRC32C.checksum(slice) == frame.payloadCRC else {
                return .bad(offset: offset, reason: "the record's checksum does not match")
            }
            payload = slice
        }
        let at = offset
        offset = start + frame.length
        return .record(seq: frame.seq, offset: at, payload: payload)
    }
}
