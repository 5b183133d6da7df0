package import AccessCore
public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A backup (AdminService.Backup, `accessctl backup`): a snapshot file
/// exactly as the daemon writes it in its state directory (`SnapshotFile`:
/// magic, format version, journal record, length, CRC-32C, the protobuf
/// `StateSnapshot`), so that `accessd restore` installs it as it is and
/// every check that applies to a snapshot applies to a backup.
public enum BackupFile {
    /// What a backup holds, once its bytes are known to be whole.
    public struct Summary: Sendable, Equatable {
        /// The snapshot format version of the bytes (`SnapshotFile.readableVersions`).
        public var formatVersion: UInt32
        /// The last journal record it holds, and the state's revision then.
        public var lsn: UInt64
        public var revision: UInt64
        public var accounts: Int
        public var users: Int
        /// The size of the file.
        public var bytes: Int
        /// When it was taken (ms since the epoch).
        public var writtenAtMilliseconds: Int64
        /// The name the daemon loads it by: `snapshot-<lsn, 20 digits>.snap`.
        public var snapshotName: String { SnapshotFile.name(lsn: lsn) }
    }

    /// Why a file is not a backup accessd can restore, in words a person can act on.
    public struct Damaged: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path) is not a whole accessd snapshot: \(reason)" }
    }

    /// The format versions a backup may have: every snapshot version this accessd reads.
    public static var readableVersions: ClosedRange<UInt32> { SnapshotFile.readableVersions }
    /// The version the daemon writes now.
    public static var formatVersion: UInt32 { SnapshotFile.formatVersion }

    /// Checks every byte as recovery does (header, length, CRC-32C, the
    /// payload decoding into a state whose rules hold) and says what it holds.
    ///
    /// - Complexity: O(n) in the size of the state: the whole state is decoded.
    public static func verify(_ bytes: [UInt8], path: String) throws(Damaged) -> Summary {
        let decoded: (durable: DurableState, writtenAtMilliseconds: Int64)
        do {
            decoded = try SnapshotFile.decode(bytes, path: path)
        } catch {
            throw Damaged(path: path, reason: error.reason)
        }
        let version = SnapshotFile.header(bytes)?.version ?? 0
        let state = decoded.durable.state
        return Summary(
            formatVersion: version, lsn: decoded.durable.lsn, revision: state.revision, accounts: state.accounts.count,
            users: state.users.count, bytes: bytes.count, writtenAtMilliseconds: decoded.writtenAtMilliseconds)
    }

    /// The SHA-256 of a backup's bytes (what AdminService.Backup's trailer carries).
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] { SHA256.hash(bytes) }

    /// Reads `path` whole and verifies it (`verify(_:path:)`).
    public static func verify(path: String) throws -> Summary {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw Damaged(path: path, reason: "it cannot be read (\((error as NSError).localizedDescription))")
        }
        return try verify([UInt8](data), path: path)
    }
}

extension BackupFile {
    /// Writes a backup as it arrives so that `path` is either what it was or
    /// the whole verified backup: a new temporary file beside it (mode 0600:
    /// a backup holds the outbox's activation tokens), each piece hashed as
    /// it is written; `commit` checks the size and SHA-256 the stream
    /// announced, fsyncs, reads the file back and verifies it as a snapshot,
    /// and only then renames it into place and fsyncs the directory. Anything
    /// that fails removes the temporary file.
    ///
    /// The file is pushed to the disk every `syncEvery` bytes as it arrives
    /// (fdatasync), as the daemon writes its snapshots: a backup written on
    /// the state directory's filesystem never puts hundreds of MB of dirty
    /// pages in front of the journal's syncs (bench-durability's backup_pause,
    /// 1,000,000 users, 109 MB, the backup on the state's filesystem: the
    /// longest write waited 4.75 s without it, 0.32-0.36 s with it, 0.30 s
    /// during a snapshot).
    public final class Writer {
        public let path: String
        public let temporaryPath: String
        private var fd: Int32
        private var hasher = SHA256()
        private var committed = false
        /// Bytes written since the last fdatasync.
        private var unsynced = 0
        public static let syncEvery = 1 << 20
        /// Data bytes written so far.
        public private(set) var written: UInt64 = 0

        public struct Failure: Error, Sendable, CustomStringConvertible {
            public var description: String
        }

        public init(path: String) throws(Failure) {
            var status = stat()
            if stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR {
                throw Failure(description: "\(path) is a directory; name the backup file to write")
            }
            self.path = path
            let directory = PosixStorage.directory(of: path)
            let name = PosixStorage.lastComponent(of: path)
            temporaryPath = (directory == "." && !path.hasPrefix("./") ? "" : directory + "/") + ".\(name).\(getpid()).tmp"
            _ = unlink(temporaryPath)
            fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw Failure(description: "cannot create \(temporaryPath): \(String(cString: strerror(errno)))") }
        }

        deinit { abandon() }

        /// Appends the next data bytes.
        public func write(_ bytes: Data) throws(Failure) {
            guard fd >= 0 else { throw Failure(description: "the backup was abandoned") }
            do {
                try PosixStorage.writeAll(fd, [UInt8](bytes), path: temporaryPath)
            } catch {
                abandon()
                throw Failure(description: "\(error)")
            }
            hasher.update(bytes)
            written += UInt64(bytes.count)
            unsynced += bytes.count
            if unsynced >= Self.syncEvery {
                unsynced = 0
                guard fdatasync(fd) == 0 else {
                    let reason = String(cString: strerror(errno))
                    abandon()
                    throw Failure(description: "cannot fdatasync \(temporaryPath): \(reason)")
                }
            }
        }

        /// Checks what arrived against the stream's header and trailer, makes
        /// it durable, verifies it as a snapshot and puts it at `path`.
        public func commit(size: UInt64, sha256: [UInt8]) throws -> Summary {
            guard fd >= 0 else { throw Failure(description: "the backup was abandoned") }
            do {
                guard written == size else {
                    throw Failure(description: "the daemon announced \(size) bytes and sent \(written); the backup is incomplete")
                }
                let digest = hasher.finalize()
                guard digest == sha256 else {
                    throw Failure(description: "the SHA-256 of the bytes received (\(Hex.encode(digest))) is not the one the daemon sent (\(Hex.encode(sha256)))")
                }
                guard fsync(fd) == 0 else { throw Failure(description: "cannot fsync \(temporaryPath): \(String(cString: strerror(errno)))") }
                close(fd)
                fd = -1
                // What is on the disk now, read back, is what is checked.
                let summary = try BackupFile.verify(path: temporaryPath)
                guard rename(temporaryPath, path) == 0 else {
                    throw Failure(description: "cannot rename \(temporaryPath) to \(path): \(String(cString: strerror(errno)))")
                }
                committed = true
                let directory = open(PosixStorage.directory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                defer { if directory >= 0 { close(directory) } }
                guard directory >= 0, fsync(directory) == 0 else {
                    throw Failure(description: "cannot fsync the directory of \(path): \(String(cString: strerror(errno)))")
                }
                return summary
            } catch {
                abandon()
                throw error
            }
        }

        /// Removes the temporary file (nothing reaches `path`).
        public func abandon() {
            guard !committed else { return }
            if fd >= 0 {
                close(fd)
                fd = -1
            }
            unlink(temporaryPath)
        }
    }
}

/// A snapshot of the live state encoded for a backup, with what the stream's
/// header and trailer say about it. Holding one holds the daemon's one
/// backup slot (`lease`): each image is a whole copy of the encoded state.
public struct BackupImage: Sendable {
    public var revision: UInt64
    public var lsn: UInt64
    public var formatVersion: UInt32
    public var bytes: [UInt8]
    public var sha256: [UInt8]
    public var takenAtMilliseconds: Int64
    /// Freed when the last copy of the image goes (the transfer ended, was cancelled, or its connection closed).
    package let lease: BackupLease

    /// Encodes `durable` as the snapshot file the daemon would write, and hashes it.
    ///
    /// - Complexity: O(n) in the size of the state; run it off the event loops.
    package static func encode(_ durable: DurableState, takenAt: Timestamp, lease: BackupLease) throws -> BackupImage {
        let bytes = try SnapshotFile.encode(durable, writtenAt: takenAt)
        return BackupImage(
            revision: durable.state.revision, lsn: durable.lsn, formatVersion: SnapshotFile.formatVersion, bytes: bytes,
            sha256: SHA256.hash(bytes), takenAtMilliseconds: takenAt.millisecondsSinceEpoch, lease: lease)
    }
}

/// The daemon's one backup slot: a backup holds a whole encoded copy of the
/// state (hundreds of MB for a million users) while it is sent, so a second
/// one waits for the first to end rather than doubling that.
package final class BackupLease: Sendable {
    private let release: @Sendable () -> Void

    package init(release: @escaping @Sendable () -> Void) { self.release = release }

    deinit { release() }
}

/// A backup was asked for while another one is being sent.
package struct BackupBusy: Error, CustomStringConvertible {
    package init() {}

    package var description: String {
        "another backup is being sent; one runs at a time (each holds a whole copy of the encoded state). Try again once it ends"
    }
}
