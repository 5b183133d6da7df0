import AccessStore
import AccessDaemon
import AccessWire
import Logging
import SwiftProtobuf

/// The `journal` target: `[flags] [segment bytes]`. With flag bit 0 clear,
/// the bytes are one segment as they are; with it set, they are records
/// `[length, 2 bytes] [payload]` that the target frames with their right
/// checksums after a right header (first lsn 1 + flag bits 3-4), the hash
/// chain of those that name a batch made right, so that the mutations reach
/// the replay; a length past the end appends the rest as a
/// torn tail, and bit 5 puts the second half of the records in a second
/// segment. `JournalFormat.scan` of every segment must stay inside its bytes
/// (`validLength` within them, each record inside it, the end at it); then
/// recovery (`StateDirectory.recover`, `acceptLoss` bit 1, `readOnly` bit 2)
/// replays the segments into an empty state, which must not crash whatever
/// the records say.
enum JournalFuzz {
    static let directory = "/state"
    static let logger = Logger(label: "accessd.fuzz", factory: { _ in SwiftLogNoOpLogHandler() })

    static func run(_ bytes: [UInt8]) throws(Violation) {
        var input = InputReader(bytes)
        let flags = input.byte()
        var segments: [(firstLSN: UInt64, bytes: [UInt8])]
        if flags & 1 == 0 {
            segments = [(1, input.rest())]
        } else {
            let (framed, tail) = records(&input)
            let records = chained(framed[...])
            let firstLSN = 1 + UInt64(flags >> 3 & 3)
            if flags & 0x20 != 0, records.count >= 2 {
                let half = records.count / 2
                let secondLSN = (try? Accessd_V1_JournalRecord(serializedBytes: records[half]))?.lsn ?? firstLSN + UInt64(half)
                segments = [
                    (firstLSN, segment(firstLSN, records[..<half], tail: [])),
                    (secondLSN, segment(secondLSN, records[half...], tail: tail)),
                ]
            } else {
                segments = [(firstLSN, segment(firstLSN, records[...], tail: tail))]
            }
        }
        var total = 0
        for segment in segments {
            total += try scanHolds(segment.bytes)
        }
        var files: [String: [UInt8]] = [:]
        for segment in segments {
            files[directory + "/" + JournalFormat.segmentName(firstLSN: segment.firstLSN)] = segment.bytes
        }
        let state = StateDirectory(storage: MemoryStorage(files: files), path: directory)
        guard
            let recovered = try? state.recover(
                acceptLoss: flags & 2 != 0, eventRetention: 1000, readOnly: flags & 4 != 0, logger: logger)
        else { return }
        try check(recovered.replayed <= total, "recovery replayed \(recovered.replayed) records of \(total)")
        try check(recovered.snapshot == nil, "recovery loaded a snapshot from a directory without one")
        try check(
            recovered.durable.history.lastSeq == recovered.durable.state.revision,
            "recovery's history ends at \(recovered.durable.history.lastSeq), its state at revision \(recovered.durable.state.revision)")
    }

    static func records(_ input: inout InputReader) -> (records: [[UInt8]], tail: [UInt8]) {
        var records: [[UInt8]] = []
        while input.remaining >= 2 {
            let length = input.uint16()
            if length > input.remaining { return (records, input.rest()) }
            records.append(input.take(length))
        }
        return (records, input.rest())
    }

    static func segment(_ firstLSN: UInt64, _ records: ArraySlice<[UInt8]>, tail: [UInt8]) -> [UInt8] {
        var bytes = JournalFormat.header(firstLSN: firstLSN)
        for record in records { bytes += JournalFormat.frame(record) }
        return bytes + tail
    }

    /// The records with their hash chain made right (`previous_hash` of
    /// each the hash of the one before), as the writer would have chained
    /// them, so that mutations of their contents reach the replay; a record
    /// that does not decode, or names no batch, is left as it is.
    static func chained(_ records: ArraySlice<[UInt8]>) -> [[UInt8]] {
        var previous = LogHash.zero
        return records.map { bytes in
            guard let record = try? Accessd_V1_JournalRecord(serializedBytes: bytes), let batch = BatchID(record.batchID),
                let fixed = try? LogRecord(record, batchID: batch, previousHash: previous)
            else { return bytes }
            previous = fixed.hash
            return fixed.bytes
        }
    }

    /// What `scan` says lies inside the bytes; returns the number of records.
    static func scanHolds(_ bytes: [UInt8]) throws(Violation) -> Int {
        let scan: JournalFormat.Scan
        do {
            scan = try JournalFormat.scan(bytes)
        } catch {
            try check(!error.reason.isEmpty, "a bad header without a reason")
            return 0
        }
        try check(JournalFormat.readableVersions.contains(scan.version), "scanned a segment of version \(scan.version)")
        try check(
            scan.validLength >= JournalFormat.headerLength && scan.validLength <= bytes.count,
            "validLength \(scan.validLength) outside a segment of \(bytes.count) bytes")
        var end = JournalFormat.headerLength
        for record in scan.records {
            try check(record.offset == end, "a record at \(record.offset) where the last one ended at \(end)")
            let start = record.offset + JournalFormat.frameLength
            try check(
                record.payload.startIndex == start && record.payload.endIndex <= scan.validLength,
                "a record's payload \(record.payload.startIndex)..<\(record.payload.endIndex) outside \(start)..<\(scan.validLength)")
            end = record.payload.endIndex
        }
        try check(end == scan.validLength, "the records end at \(end), validLength is \(scan.validLength)")
        switch scan.end {
        case .clean:
            try check(scan.validLength == bytes.count, "a clean end at \(scan.validLength) of \(bytes.count) bytes")
        case .torn(let offset, let reason), .damaged(let offset, let reason):
            try check(
                offset == scan.validLength && offset < bytes.count && !reason.isEmpty,
                "the scan ends at offset \(offset) (\(reason)), after the last record at \(scan.validLength), of \(bytes.count) bytes")
        }
        return scan.records.count
    }
}
