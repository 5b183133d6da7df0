import AccessPaths
import AccessStore
import AccessWire
import Foundation

/// Where one AdminService.Backup stream stands: the header, then the
/// snapshot's bytes in chunks of at most `chunkSize`, then the trailer with
/// their SHA-256. A value the connection's state machine keeps; the handler
/// sends one piece at a time while the peer takes them (back-pressure: the
/// outbound buffer holds the high-water mark plus one chunk at most, however
/// large the state).
struct BackupTransfer: Sendable {
    /// The most data bytes in one message.
    static let chunkSize = 256 * 1024

    let image: BackupImage
    private var next: Position = .header

    private enum Position: Equatable {
        case header
        case data(offset: Int)
        case trailer
        case done
    }

    /// One message of the stream.
    enum Piece: Equatable {
        case header(Accessd_V1_BackupHeader)
        /// The bytes `image.bytes[range]`.
        case data(Range<Int>)
        case trailer(Accessd_V1_BackupTrailer)
    }

    init(image: BackupImage) { self.image = image }

    /// The next message to send; nil once the trailer was given.
    mutating func take(chunkSize: Int = BackupTransfer.chunkSize) -> Piece? {
        switch next {
        case .header:
            next = image.bytes.isEmpty ? .trailer : .data(offset: 0)
            var header = Accessd_V1_BackupHeader()
            header.revision = image.revision
            header.lsn = image.lsn
            header.formatVersion = image.formatVersion
            header.size = UInt64(image.bytes.count)
            header.daemonVersion = AccessdVersion.current
            header.takenAtMs = image.takenAtMilliseconds
            return .header(header)
        case .data(let offset):
            let end = min(image.bytes.count, offset + max(1, chunkSize))
            next = end == image.bytes.count ? .trailer : .data(offset: end)
            return .data(offset..<end)
        case .trailer:
            next = .done
            var trailer = Accessd_V1_BackupTrailer()
            trailer.sha256 = Data(image.sha256)
            return .trailer(trailer)
        case .done:
            return nil
        }
    }
}
