#if canImport(Glibc)
    import Glibc
#endif

/// `Storage` on the real filesystem. Files are opened relative to their
/// directory's descriptor and never through a symbolic link (O_NOFOLLOW; a
/// link, a FIFO or a device where a state file should be is an error, never
/// followed or opened for writing), and a temporary file is always a new one
/// (O_CREAT | O_EXCL after unlinking whatever had its name). Given an
/// `OwnedDirectory`, every path in it goes through the descriptor held open
/// since it was checked, so renaming or replacing the directory afterwards
/// changes nothing; other paths open their directory for the call.
public struct PosixStorage: Storage {
    /// The checked state directory, when there is one.
    public let directory: OwnedDirectory?

    public init(directory: OwnedDirectory? = nil) {
        self.directory = directory
    }

    /// Runs `body` with a descriptor of `path`'s directory and the last
    /// component of `path`; `missing` answers instead when the directory does not exist.
    private func at<T>(_ path: String, missing: (() -> T)? = nil, _ body: (Int32, String) throws(StorageError) -> T)
        throws(StorageError) -> T
    {
        let parent = Self.directory(of: path)
        let name = Self.lastComponent(of: path)
        if let directory, parent == directory.path { return try body(directory.descriptor, name) }
        let descriptor = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT, let missing { return missing() }
            throw Self.failure("cannot open directory \(parent)")
        }
        defer { close(descriptor) }
        return try body(descriptor, name)
    }

    /// Opens `name` in `directory` without following a link, and only when
    /// it is a regular file; nil when it does not exist.
    private static func openFile(_ directory: Int32, _ name: String, _ flags: Int32, path: String) throws(StorageError) -> Int32? {
        let fd = openat(directory, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            if errno == ELOOP {
                throw StorageError(.io, "\(path) is a symbolic link; accessd does not follow links in its state directory (move it aside)")
            }
            if errno == EACCES || errno == EPERM {
                // Say whose it is: a file copied in by root is the usual cause.
                var status = stat()
                let whose = fstatat(directory, name, &status, AT_SYMLINK_NOFOLLOW) == 0
                    ? " (owned by \(OwnedDirectory.who(status.st_uid)), mode \(OwnedDirectory.octal(status.st_mode & 0o7777)); accessd runs as \(OwnedDirectory.who(geteuid())))"
                    : ""
                throw StorageError(.permissionDenied, "cannot open \(path): \(String(cString: strerror(EACCES)))\(whose)")
            }
            throw failure("cannot open \(path)")
        }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw StorageError(.io, "\(path) is not a regular file; accessd uses only regular files in its state directory (move it aside)")
        }
        return fd
    }

    /// `openFile` for a file that must exist.
    private func openExisting(_ path: String, _ flags: Int32) throws(StorageError) -> Int32 {
        let opened = try at(path) { (directory, name) throws(StorageError) in try Self.openFile(directory, name, flags, path: path) }
        guard let fd = opened else { throw StorageError(.io, "cannot open \(path): No such file or directory") }
        return fd
    }

    public func read(_ path: String) throws(StorageError) -> [UInt8]? {
        let opened = try at(path, missing: { nil }) { (directory, name) throws(StorageError) in
            try Self.openFile(directory, name, O_RDONLY, path: path)
        }
        guard let fd = opened else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw Self.failure("cannot read \(path)") }
            if count == 0 { return out }
            out += chunk[0..<count]
        }
    }

    public func readPrefix(_ path: String, count: Int) throws(StorageError) -> [UInt8]? {
        try at(path, missing: { nil }) { (directory, name) throws(StorageError) -> [UInt8]? in
            let fd = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else {
                if errno == ENOENT || errno == ELOOP { return nil }
                throw Self.failure("cannot open \(path)")
            }
            defer { close(fd) }
            var status = stat()
            guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
            var bytes = [UInt8](repeating: 0, count: max(0, count))
            var filled = 0
            while filled < bytes.count {
                let got = bytes[filled...].withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(filled)) }
                if got < 0 && errno == EINTR { continue }
                guard got >= 0 else { throw Self.failure("cannot read \(path)") }
                if got == 0 { break }
                filled += got
            }
            return Array(bytes[0..<filled])
        }
    }

    public func list(_ path: String) throws(StorageError) -> [String] {
        let handle: OpaquePointer?
        if let directory, path == directory.path {
            // A descriptor of its own: readdir moves it.
            let fd = openat(directory.descriptor, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { throw Self.failure("cannot list \(path)") }
            handle = fdopendir(fd)
            if handle == nil { close(fd) }
        } else {
            handle = opendir(path)
            if handle == nil && errno == ENOENT { return [] }
        }
        guard let handle else { throw Self.failure("cannot list \(path)") }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func createDirectory(_ path: String, mode: UInt32) throws(StorageError) {
        if let directory, path == directory.path { return }
        var status = stat()
        if stat(path, &status) == 0 { return }
        let parent = Self.directory(of: path)
        if parent != path && !parent.isEmpty { try createDirectory(parent, mode: mode) }
        guard mkdir(path, mode_t(mode)) == 0 || errno == EEXIST else { throw Self.failure("cannot create \(path)") }
    }

    public func writeAtomically(_ bytes: [UInt8], to path: String) throws(StorageError) {
        try at(path) { (directory, name) throws(StorageError) in
            try Self.replace(name, in: directory, directoryPath: Self.directory(of: path), with: bytes)
        }
    }

    /// Puts `bytes` at `name` in the open directory `directory` so that after a
    /// crash there is the old file or the whole new one, never a part: a new
    /// temporary file beside it (mode 0600; given to `owner` when set), written
    /// in slices each pushed to the disk before the next (a large file, a
    /// snapshot, never puts one big burst in front of the journal's syncs),
    /// fsynced, renamed over `name` (the entry, never what a link there points
    /// to), then the directory fsynced. A leftover temporary is replaced.
    package static func replace(
        _ name: String, in directory: Int32, directoryPath: String, with bytes: [UInt8],
        owner: (uid: UInt32, gid: UInt32)? = nil
    ) throws(StorageError) {
        let temporary = name + ".tmp"
        let shown = directoryPath + "/" + temporary
        // Whatever has the temporary's name (a leftover, a planted link) goes; the file is always a new one.
        guard unlinkat(directory, temporary, 0) == 0 || errno == ENOENT else { throw Self.failure("cannot remove \(shown)") }
        let fd = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Self.failure("cannot create \(shown)") }
        do throws(StorageError) {
            let slice = 1 << 20
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + slice)
                try Self.writeAll(fd, Array(bytes[offset..<end]), path: shown)
                if end < bytes.count {
                    guard fdatasync(fd) == 0 else { throw Self.failure("cannot fdatasync \(shown)") }
                }
                offset = end
            }
            if let owner {
                guard fchown(fd, owner.uid, owner.gid) == 0 else { throw Self.failure("cannot give \(shown) to uid \(owner.uid)") }
                // The umask may have taken bits away from 0600; a chown may clear none we want.
                guard fchmod(fd, 0o600) == 0 else { throw Self.failure("cannot chmod \(shown)") }
            }
            guard fsync(fd) == 0 else { throw Self.failure("cannot fsync \(shown)") }
        } catch {
            close(fd)
            unlinkat(directory, temporary, 0)
            throw error
        }
        close(fd)
        guard renameat(directory, temporary, directory, name) == 0 else {
            let error = Self.failure("cannot rename \(shown) to \(directoryPath)/\(name)")
            unlinkat(directory, temporary, 0)
            throw error
        }
        guard fsync(directory) == 0 else { throw Self.failure("cannot fsync directory \(directoryPath)") }
    }

    public func openForAppend(_ path: String) throws(StorageError) -> any AppendableFile {
        let fd = try openExisting(path, O_WRONLY)
        let end = lseek(fd, 0, SEEK_END)
        guard end >= 0 else {
            let error = Self.failure("cannot seek in \(path)")
            close(fd)
            throw error
        }
        return PosixAppendableFile(fd: fd, path: path, length: Int(end))
    }

    public func openForReading(_ path: String) throws(StorageError) -> (any ReadableFile)? {
        let opened = try at(path, missing: { nil }) { (directory, name) throws(StorageError) in
            try Self.openFile(directory, name, O_RDONLY, path: path)
        }
        return opened.map { PosixReadableFile(fd: $0, path: path) }
    }

    public func truncate(_ path: String, to length: Int) throws(StorageError) {
        let fd = try openExisting(path, O_WRONLY)
        defer { close(fd) }
        guard ftruncate(fd, off_t(length)) == 0 else { throw Self.failure("cannot truncate \(path)") }
        guard fsync(fd) == 0 else { throw Self.failure("cannot fsync \(path)") }
    }

    public func rename(_ path: String, to: String) throws(StorageError) {
        try at(path) { (from, name) throws(StorageError) in
            try at(to) { (into, newName) throws(StorageError) in
                guard renameat(from, name, into, newName) == 0 else { throw Self.failure("cannot rename \(path) to \(to)") }
                guard fsync(into) == 0 else { throw Self.failure("cannot fsync directory \(Self.directory(of: to))") }
            }
        }
    }

    public func remove(_ path: String) throws(StorageError) {
        try at(path) { (directory, name) throws(StorageError) in
            // A link goes, never what it points to.
            guard unlinkat(directory, name, 0) == 0 || errno == ENOENT else { throw Self.failure("cannot remove \(path)") }
            guard fsync(directory) == 0 else { throw Self.failure("cannot fsync directory \(Self.directory(of: path))") }
        }
    }

    package static func lastComponent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    package static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    package static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(StorageError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw failure("cannot write \(path)") }
            offset += written
        }
    }

    package static func failure(_ what: String) -> StorageError {
        let code = errno
        let kind: StorageError.Kind =
            code == ENOSPC || code == EDQUOT ? .noSpace : code == EACCES || code == EPERM ? .permissionDenied : .io
        return StorageError(kind, "\(what): \(String(cString: strerror(code)))")
    }
}

package final class PosixAppendableFile: AppendableFile {
    private var fd: Int32
    private let path: String
    package private(set) var length: Int

    package init(fd: Int32, path: String, length: Int) {
        self.fd = fd
        self.path = path
        self.length = length
    }

    deinit { close() }

    package func append(_ bytes: [UInt8]) throws(StorageError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(length + offset)) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else {
                let error = PosixStorage.failure("cannot append to \(path)")
                // Cut back to the last whole record; what follows is unacknowledged.
                _ = ftruncate(fd, off_t(length))
                throw error
            }
            offset += written
        }
        length += bytes.count
    }

    package func sync() throws(StorageError) {
        guard fdatasync(fd) == 0 else { throw PosixStorage.failure("cannot fdatasync \(path)") }
    }

    package func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}
