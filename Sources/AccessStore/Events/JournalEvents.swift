import AccessMapping
package import AccessCore
import AccessWire

/// One event as the event archive stores it and ListEvents/FollowEvents send
/// it: its seq, its time, and the protobuf `Event` without secrets.
package struct EncodedEvent: Sendable, Equatable {
    package var seq: UInt64
    package var timeMilliseconds: Int64
    package var bytes: [UInt8]

    /// Encoded as the daemon serves it from memory (the same bytes).
    package init(_ event: Event) {
        seq = event.seq
        timeMilliseconds = event.time.millisecondsSinceEpoch
        bytes = (try? Accessd_V1_Event(event.withoutSecrets).serializedBytes()) ?? []
    }

    package init(seq: UInt64, timeMilliseconds: Int64, bytes: [UInt8]) {
        self.seq = seq
        self.timeMilliseconds = timeMilliseconds
        self.bytes = bytes
    }
}

/// The events the journal segments still hold, for the event archive to catch up
/// with: at start (after a crash, the log's unsynced tail; after an upgrade
/// from an accessd without an event archive, everything the journal holds) and
/// if the log's writer ever fell behind the history in memory. The journal
/// keeps every segment whose events the log has not synced (see
/// `AccessDaemonServer.snapshot`), so nothing is missing between the two.
package enum JournalEvents {
    /// The events after `seq` up to `through`, oldest first, decoded from the
    /// journal as recovery replays them and encoded as the daemon serves
    /// them: token-free (format 1 kept tokens inside events; they are dropped).
    /// Reads the segments from the newest back only as far as it must.
    package static func read(storage: any Storage, directory: String, after seq: UInt64, through: UInt64 = .max) throws(StorageError)
        -> [EncodedEvent]
    {
        let segments = try storage.list(directory).compactMap { name in
            JournalFormat.firstLSN(ofSegmentNamed: name).map { (lsn: $0, name: name) }
        }.sorted { $0.lsn < $1.lsn }
        // Newest first, until a segment starts at or before the event wanted.
        var wanted: [[Accessd_V1_JournalRecord]] = []
        for segment in segments.reversed() {
            let records = try records(storage: storage, path: directory + "/" + segment.name)
            wanted.append(records)
            if let first = records.lazy.compactMap({ $0.events.first?.seq }).first, first <= seq + 1 { break }
        }
        var out: [EncodedEvent] = []
        for records in wanted.reversed() {
            for record in records {
                for wire in record.events where wire.seq > seq {
                    if wire.seq > through { return out }
                    if let last = out.last, wire.seq <= last.seq { continue }
                    guard let event = try? Event(wire: wire) else { continue }
                    out.append(EncodedEvent(event))
                }
            }
        }
        return out
    }

    /// The whole records of one segment (a torn tail, or damage, ends them: recovery has already judged it).
    private static func records(storage: any Storage, path: String) throws(StorageError) -> [Accessd_V1_JournalRecord] {
        guard let bytes = try storage.read(path), let scan = try? JournalFormat.scan(bytes) else { return [] }
        return scan.records.compactMap { try? Accessd_V1_JournalRecord(serializedBytes: Array($0.payload)) }
    }
}
