/// The files under the journal and the snapshots. The daemon uses
/// `PosixStorage`; tests put a simulated disk here that can drop everything
/// not yet synced (a power cut) or fail the Nth write or sync.
public protocol Storage: Sendable {
    /// The whole file, or nil when it does not exist.
    func read(_ path: String) throws(StorageError) -> [UInt8]?
    /// The first `count` bytes of a regular file (all of it when shorter);
    /// nil when it does not exist or is not a regular file (a directory, a
    /// link, a FIFO).
    func readPrefix(_ path: String, count: Int) throws(StorageError) -> [UInt8]?
    /// The names of the entries of a directory (not paths), or [] when it does not exist.
    func list(_ directory: String) throws(StorageError) -> [String]
    /// Creates a directory (and its parents) with `mode` when missing.
    func createDirectory(_ path: String, mode: UInt32) throws(StorageError)
    /// Replaces `path` with `bytes` so that after a crash it is either the
    /// old file or the whole new one: a temporary file, written, synced,
    /// renamed into place, then the directory synced. Created mode 0600.
    func writeAtomically(_ bytes: [UInt8], to path: String) throws(StorageError)
    /// Opens an existing file to append at its end.
    func openForAppend(_ path: String) throws(StorageError) -> any AppendableFile
    /// Opens a file to read parts of it (the event archive), or nil when it does not exist.
    func openForReading(_ path: String) throws(StorageError) -> (any ReadableFile)?
    /// Cuts a file to `length` bytes and syncs it.
    func truncate(_ path: String, to length: Int) throws(StorageError)
    /// Renames a file within its directory (replacing `to`) and syncs the directory.
    func rename(_ path: String, to: String) throws(StorageError)
    /// Removes a file and syncs its directory; a missing file is not an error.
    func remove(_ path: String) throws(StorageError)
}

extension Storage {
    public func readPrefix(_ path: String, count: Int) throws(StorageError) -> [UInt8]? {
        try read(path).map { Array($0.prefix(count)) }
    }
}

/// A file open for appending, used by one thread at a time.
public protocol AppendableFile: AnyObject {
    /// Bytes in the file.
    var length: Int { get }
    /// Writes all of `bytes` at the end. When that fails, the file is cut
    /// back to its length before the call and the error is thrown.
    func append(_ bytes: [UInt8]) throws(StorageError)
    /// Makes everything appended so far durable (fdatasync).
    func sync() throws(StorageError)
    func close()
}

/// Why a storage operation failed.
public struct StorageError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// ENOSPC or EDQUOT: the filesystem is full.
        case noSpace
        /// EACCES or EPERM: the file is there but accessd's user may not open it.
        case permissionDenied
        /// Anything else.
        case io
        /// The log and this host's state disagree (a record missing, a hash
        /// that does not match): writes stop (DATA_LOSS) until the state is
        /// rebuilt from the log (`accessd resync`).
        case diverged
        /// The log holds a record in a format this accessd does not know:
        /// writes stop (FAILED_PRECONDITION) until it is upgraded.
        case newerFormat
    }

    public var kind: Kind
    public var description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
