#if canImport(Glibc)
    package import Glibc
#endif

/// The state directory, opened once and checked, then held open: every
/// state file is opened relative to this descriptor and never through a
/// symbolic link (see `PosixStorage`), so what the check saw is what accessd
/// writes in, even if the path is changed afterwards.
///
/// The rule (`open`):
/// - The path's last component is the directory itself, or a symbolic link
///   owned by the user accessd runs as or by root (whoever owns the link
///   decides where the state lives), which is then followed once.
/// - The directory reached is owned by the user accessd runs as (its
///   effective uid) or by root, and neither its group nor others may write in
///   it (mode `& 0o022 == 0`): nobody else can plant, replace or remove a
///   file in it.
/// - A missing directory is created mode 0700 (and missing parents too).
///
/// The directories above it are not checked: a directory swapped in by
/// someone who can write in a parent is owned by that someone, and refused at
/// the next start; the running daemon keeps its descriptor.
public final class OwnedDirectory: Sendable {
    /// The path it was opened by (the daemon's `--state-dir`).
    public let path: String
    /// Open for the object's life (O_RDONLY | O_DIRECTORY).
    package let descriptor: Int32
    /// Its owner and mode when it was opened.
    public let owner: UInt32
    public let mode: UInt32

    /// Why accessd will not use a state directory, and how to make it usable.
    public struct Refused: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    private init(path: String, descriptor: Int32, owner: UInt32, mode: UInt32) {
        self.path = path
        self.descriptor = descriptor
        self.owner = owner
        self.mode = mode
    }

    deinit { close(descriptor) }

    /// Opens and checks the state directory (the rule in the type's comment),
    /// creating it first when `create` is set. `user` is the uid that must own
    /// it (besides root); nil checks everything but the owner (`accessctl
    /// check-state`, which does not know which user runs accessd).
    public static func open(_ path: String, create: Bool, user: UInt32?) throws -> OwnedDirectory {
        var link = stat()
        var created = false
        if lstat(path, &link) != 0 {
            guard errno == ENOENT, create else { throw StorageError.errno("cannot open the state directory \(path)") }
            try makeDirectory(path)
            created = true
            guard lstat(path, &link) == 0 else { throw StorageError.errno("cannot open the state directory \(path)") }
        }
        let isLink = link.st_mode & S_IFMT == S_IFLNK
        if isLink, !trusted(link.st_uid, user: user) {
            throw Refused(
                description: "the state directory \(path) is a symbolic link owned by \(who(link.st_uid)): whoever owns the link decides where accessd keeps its state. Give --state-dir the directory itself, or replace the link with one that root or \(who(user ?? 0)) owns"
            )
        }
        // Followed only when it is a link we trust; otherwise a link appearing now is refused (ELOOP).
        let descriptor = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (isLink ? 0 : O_NOFOLLOW))
        guard descriptor >= 0 else {
            if errno == ELOOP {
                throw Refused(description: "the state directory \(path) was replaced by a symbolic link while accessd opened it")
            }
            throw StorageError.errno("cannot open the state directory \(path)")
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let error = StorageError.errno("cannot stat the state directory \(path)")
            close(descriptor)
            throw error
        }
        let shown = isLink ? "\(path) (a symbolic link to \(target(of: path)))" : path
        var problems: [String] = []
        if !trusted(status.st_uid, user: user) {
            let uid = user ?? 0
            problems.append(
                "is owned by \(who(status.st_uid)), not by \(who(uid)) (the user accessd runs as)\(uid == 0 ? "" : " or root")")
        }
        if status.st_mode & 0o022 != 0 {
            problems.append("has mode \(octal(status.st_mode & 0o7777)): its group or others may write in it")
        }
        guard problems.isEmpty else {
            close(descriptor)
            let ownerWrong = !trusted(status.st_uid, user: user)
            throw Refused(
                description: "the state directory \(shown) \(problems.joined(separator: " and ")), so another user could plant or replace the files accessd trusts. Give it to accessd's user and close it to others: \(fix(path, user: user, owner: ownerWrong))"
            )
        }
        if created, status.st_mode & 0o7777 != 0o700 {
            // The umask took more than the group's and others' bits: the owner keeps rwx.
            _ = fchmod(descriptor, 0o700)
            status.st_mode = status.st_mode & ~0o7777 | 0o700
        }
        return OwnedDirectory(path: path, descriptor: descriptor, owner: status.st_uid, mode: status.st_mode & 0o7777)
    }

    /// The user this process runs as (its effective uid).
    public static var effectiveUser: UInt32 { geteuid() }

    private static func trusted(_ owner: uid_t, user: UInt32?) -> Bool { owner == 0 || user == nil || owner == user }

    /// The command that makes `path` usable.
    private static func fix(_ path: String, user: UInt32?, owner: Bool) -> String {
        guard owner else { return "chmod 700 \(path)" }
        let uid = user ?? 0
        let who = userName(uid) ?? "\(uid)"
        return "chown \(who) \(path) && chmod 700 \(path)"
    }

    /// "uid 65534 (nobody)".
    package static func who(_ uid: uid_t) -> String { "uid \(uid)" + (userName(uid).map { " (\($0))" } ?? "") }

    package static func userName(_ uid: uid_t) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name else { return nil }
        return String(cString: name)
    }

    private static func target(of link: String) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(link, &buffer, buffer.count - 1)
        guard count >= 0 else { return "?" }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    package static func octal(_ mode: mode_t) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// Creates `path` mode 0700, and its missing parents.
    private static func makeDirectory(_ path: String) throws(StorageError) {
        let parent = PosixStorage.directory(of: path)
        var status = stat()
        if parent != path, !parent.isEmpty, stat(parent, &status) != 0 {
            guard errno == ENOENT else { throw StorageError.errno("cannot create \(parent)") }
            try makeDirectory(parent)
        }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw StorageError.errno("cannot create \(path)") }
    }
}

extension StorageError {
    /// `what` failed with the current errno.
    package static func errno(_ what: String) -> StorageError { PosixStorage.failure(what) }
}
