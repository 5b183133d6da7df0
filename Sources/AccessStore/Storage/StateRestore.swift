public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `accessd restore FILE --state-dir DIR`: installs a backup as the state
/// directory's snapshot, offline, so that the next start loads exactly it.
///
/// In order, each step stopping everything before anything changed:
/// 1. The backup is verified whole (`BackupFile.verify`: header, CRC-32C,
///    every record; any snapshot format this accessd reads).
/// 2. The directory is opened and checked as accessd opens it
///    (`OwnedDirectory`; created mode 0700 when missing) and its lock taken:
///    a daemon holding it is refused, and none can start meanwhile.
/// 3. A directory holding anything (but the lock) is refused, naming what
///    is there, unless `force`: then every file is moved into
///    `before-restore-<UTC time>/` inside it, nothing deleted. The journal
///    segments there would otherwise be replayed on top of the backup (or,
///    from another history, stop the start), and a newer snapshot would be
///    loaded instead of it.
/// 4. The bytes are written as they are to `snapshot-<lsn>.snap` (a
///    temporary file, fsync, owner and mode 0600, rename, directory fsync),
///    owned by the directory's owner (or `owner`), the user accessd runs as.
/// 5. The directory must hold that snapshot alone, reading back byte for
///    byte as verified (so recovery loads exactly its revision), or restore
///    says so.
public enum StateRestore {
    /// Why restore stopped, with the exit status `accessd restore` ends with.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var status: Int32
        public var description: String

        /// The directory holds state and `--force` was not given.
        public static let notEmptyStatus: Int32 = 1
    }

    /// The exit statuses of `accessd restore`, for its help.
    public static let statuses: [(Int32, String)] = [
        (0, "restored: the next start of accessd loads the backup"),
        (1, "the state directory holds state already and --force was not given (nothing changed)"),
        (65, "the backup is damaged, truncated or of a format this accessd does not read (nothing changed)"),
        (74, "a file cannot be read or written"),
        (75, "an accessd holds the state directory: stop it first (nothing changed)"),
        (78, "the state directory is one accessd refuses, or the owner given is unknown (nothing changed)"),
    ]

    /// Restores `file` into the state directory `path`; returns what it did, line by line.
    ///
    /// - Parameters:
    ///   - owner: `user`, `user:group`, `uid` or `uid:gid` to own what is
    ///     installed (and the directory); nil: the directory's owner, or this
    ///     process's user when the directory is created.
    ///   - force: move whatever the directory holds aside first.
    public static func run(file: String, into path: String, owner: String?, force: Bool, now: Date = Date()) throws(Failure)
        -> [String]
    {
        var lines: [String] = []
        // 1. The backup, whole.
        let bytes: [UInt8]
        let summary: BackupFile.Summary
        do {
            bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        } catch {
            throw Failure(status: 74, description: "cannot read \(file): \((error as NSError).localizedDescription)")
        }
        do {
            summary = try BackupFile.verify(bytes, path: file)
        } catch {
            throw Failure(status: 65, description: "\(error); nothing was changed")
        }
        lines.append(
            "verified \(file): snapshot format \(summary.formatVersion), journal record \(summary.lsn), revision \(summary.revision), \(summary.accounts) accounts, \(summary.users) users, \(summary.bytes) bytes, checksum ok"
        )

        // 2. The directory, checked as accessd checks it, and its lock.
        var existing = stat()
        let existed = stat(path, &existing) == 0
        let wanted = try resolve(owner: owner, directory: existed ? (existing.st_uid, existing.st_gid) : nil)
        let directory: OwnedDirectory
        do {
            directory = try OwnedDirectory.open(path, create: true, user: wanted.uid)
        } catch let refused as OwnedDirectory.Refused {
            throw Failure(status: 78, description: "\(refused.description); nothing was changed")
        } catch {
            throw Failure(status: 74, description: "\(error)")
        }
        if !existed { lines.append("created \(path) (mode 0700)") }
        let lock: StateDirectoryLock
        do {
            lock = try StateDirectoryLock(directory: directory)
        } catch let busy as StateDirectoryLock.InUse {
            throw Failure(
                status: 75,
                description:
                    "the state directory \(path) is in use by an accessd\(busy.holder); stop it first (systemctl stop accessd), then restore. Nothing was changed"
            )
        } catch let refused as OwnedDirectory.Refused {
            throw Failure(status: 78, description: "\(refused.description); nothing was changed")
        } catch {
            throw Failure(status: 74, description: "\(error)")
        }
        defer { lock.release() }
        let fd = directory.descriptor
        do {
            if !existed || directory.owner != wanted.uid {
                guard fchown(fd, wanted.uid, wanted.gid) == 0 else { throw StorageError.errno("cannot give \(path) to \(wanted.name)") }
                if existed { lines.append("gave \(path) to \(wanted.name) (it was \(OwnedDirectory.who(directory.owner))'s)") }
            }
            try lock.setOwner(uid: wanted.uid, gid: wanted.gid)
        } catch {
            throw Failure(status: 74, description: "\(error)")
        }

        // 3. What is there already.
        let storage = PosixStorage(directory: directory)
        let state = StateDirectory(storage: storage, path: path)
        let entries: [(name: String, isDirectory: Bool)]
        do {
            entries = try storage.list(path).filter { $0 != "lock" }.map { name in
                var status = stat()
                let isDirectory = fstatat(fd, name, &status, AT_SYMLINK_NOFOLLOW) == 0 && status.st_mode & S_IFMT == S_IFDIR
                return (name, isDirectory)
            }.sorted { $0.name < $1.name }
        } catch {
            throw Failure(status: 74, description: "cannot list \(path): \(error)")
        }
        let files = entries.filter { !$0.isDirectory }.map(\.name)
        var movedAside: String?
        if !files.isEmpty {
            guard force else {
                let described = describe(files, in: state)
                throw Failure(
                    status: Failure.notEmptyStatus,
                    description:
                        "the state directory \(path) holds state already: \(described). Nothing was changed. Restore into an empty directory, or give --force to move these into \(path)/before-restore-<time>/ first (nothing is deleted)"
                )
            }
            let aside = "before-restore-" + timestamp(now)
            do {
                guard mkdirat(fd, aside, 0o700) == 0 else { throw StorageError.errno("cannot create \(path)/\(aside)") }
                guard fchownat(fd, aside, wanted.uid, wanted.gid, AT_SYMLINK_NOFOLLOW) == 0 else {
                    throw StorageError.errno("cannot give \(path)/\(aside) to \(wanted.name)")
                }
                let asideFD = openat(fd, aside, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard asideFD >= 0 else { throw StorageError.errno("cannot open \(path)/\(aside)") }
                defer { close(asideFD) }
                for name in files {
                    // A link is moved as the link, never followed.
                    guard renameat(fd, name, asideFD, name) == 0 else { throw StorageError.errno("cannot move \(path)/\(name) into \(aside)") }
                }
                guard fsync(asideFD) == 0, fsync(fd) == 0 else { throw StorageError.errno("cannot fsync \(path)") }
            } catch {
                throw Failure(status: 74, description: "\(error)")
            }
            movedAside = "\(path)/\(aside)"
            lines.append(
                "moved aside into \(path)/\(aside)/: \(files.joined(separator: ", ")) (delete it once the restored state is confirmed)")
        }

        // 4. The snapshot, under its name, owner and mode.
        let name = summary.snapshotName
        do {
            try PosixStorage.replace(name, in: fd, directoryPath: path, with: bytes, owner: (wanted.uid, wanted.gid))
        } catch {
            let before = movedAside.map { "; what the directory held is in \($0): move it back, or restore again once this is fixed" } ?? ""
            throw Failure(status: 74, description: "\(error)\(before)")
        }
        lines.append("installed \(path)/\(name) (owner \(wanted.name), mode 0600)")

        // 5. What accessd will load: that snapshot alone, byte for byte the one verified.
        do {
            let found = try state.files()
            guard found.snapshots.map(\.name) == [name], found.segments.isEmpty, found.strays.isEmpty else {
                throw StorageError(.io, "it holds \(found.snapshots.map(\.name) + found.segments.map(\.name) + found.strays.map(\.name)), not \(name) alone")
            }
            guard try storage.read(path + "/" + name) == bytes else { throw StorageError(.io, "\(name) reads back other than written") }
        } catch {
            throw Failure(status: 74, description: "the restored directory does not hold the backup as verified: \(error)")
        }
        lines.append(
            "accessd will start from revision \(summary.revision) (journal record \(summary.lsn)); start it (systemctl start accessd)")
        if summary.formatVersion < BackupFile.formatVersion {
            lines.append(
                "the backup is in snapshot format \(summary.formatVersion); accessd reads it, and writes format \(BackupFile.formatVersion) from its next snapshot")
        }
        if wanted.uid == 0 {
            lines.append(
                "the files belong to root; if accessd runs as another user (accessd under systemd), restore again with --owner accessd")
        }
        return lines
    }

    /// Who will own the restored files: `owner` when given, else the directory's owner, else this process's user.
    private static func resolve(owner: String?, directory: (uid: uid_t, gid: gid_t)?) throws(Failure)
        -> (uid: UInt32, gid: UInt32, name: String)
    {
        func named(_ uid: UInt32, _ gid: UInt32) -> (UInt32, UInt32, String) {
            (uid, gid, "\(OwnedDirectory.userName(uid) ?? String(uid)):\(groupName(gid) ?? String(gid))")
        }
        guard let owner else {
            if let directory { return named(directory.uid, directory.gid) }
            return named(geteuid(), getegid())
        }
        let parts = owner.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let user = parts.first, !user.isEmpty, let account = lookUpUser(user) else {
            throw Failure(status: 78, description: "--owner \(owner): no such user; give a user name or uid, optionally :group")
        }
        var gid = account.gid
        if parts.count == 2, !parts[1].isEmpty {
            guard let group = lookUpGroup(parts[1]) else {
                throw Failure(status: 78, description: "--owner \(owner): no such group \(parts[1])")
            }
            gid = group
        }
        return named(account.uid, gid)
    }

    private static func lookUpUser(_ text: String) -> (uid: UInt32, gid: UInt32)? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        if getpwnam_r(text, &entry, &buffer, buffer.count, &result) == 0, result != nil { return (entry.pw_uid, entry.pw_gid) }
        guard let uid = UInt32(text) else { return nil }
        if getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil { return (uid, entry.pw_gid) }
        return (uid, uid)
    }

    private static func lookUpGroup(_ text: String) -> UInt32? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 4096)
        if getgrnam_r(text, &entry, &buffer, buffer.count, &result) == 0, result != nil { return entry.gr_gid }
        return UInt32(text)
    }

    private static func groupName(_ gid: UInt32) -> String? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getgrgid_r(gid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.gr_name else { return nil }
        return String(cString: name)
    }

    /// The files of a state directory in words: what each snapshot and segment is.
    private static func describe(_ names: [String], in state: StateDirectory) -> String {
        let files = try? state.files()
        let strays = Dictionary(uniqueKeysWithValues: (files?.strays ?? []).map { ($0.name, $0) })
        let shown = names.prefix(12).map { name -> String in
            if let lsn = SnapshotFile.lsn(ofSnapshotNamed: name) { return "\(name) (a snapshot, journal record \(lsn))" }
            if let first = JournalFormat.firstLSN(ofSegmentNamed: name) { return "\(name) (a journal segment from record \(first))" }
            if let stray = strays[name] { return "\(name) (\(stray.what), misnamed)" }
            return name
        }
        return shown.joined(separator: ", ") + (names.count > 12 ? " and \(names.count - 12) more" : "")
    }

    /// `20261120T101500Z`.
    private static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d%02d%02dT%02d%02d%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }
}
