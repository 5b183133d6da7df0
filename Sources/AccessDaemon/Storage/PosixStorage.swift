#if canImport(Glibc)
    import Glibc
#endif

/// `Storage` on the real filesystem.
public struct PosixStorage: Storage {
    public init() {}

    public func read(_ path: String) throws(StorageError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 && errno == ENOENT { return nil }
        guard fd >= 0 else { throw Self.failure("cannot open \(path)") }
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

    public func list(_ directory: String) throws(StorageError) -> [String] {
        guard let handle = opendir(directory) else {
            if errno == ENOENT { return [] }
            throw Self.failure("cannot list \(directory)")
        }
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
        var status = stat()
        if stat(path, &status) == 0 { return }
        let parent = Self.directory(of: path)
        if parent != path && !parent.isEmpty { try createDirectory(parent, mode: mode) }
        guard mkdir(path, mode_t(mode)) == 0 || errno == EEXIST else { throw Self.failure("cannot create \(path)") }
    }

    public func writeAtomically(_ bytes: [UInt8], to path: String) throws(StorageError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Self.failure("cannot create \(temporary)") }
        do throws(StorageError) {
            // In slices, each pushed to the disk before the next: a large file
            // (a snapshot) never puts one big burst in front of the journal's syncs.
            let slice = 1 << 20
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + slice)
                try Self.writeAll(fd, Array(bytes[offset..<end]), path: temporary)
                if end < bytes.count {
                    guard fdatasync(fd) == 0 else { throw Self.failure("cannot fdatasync \(temporary)") }
                }
                offset = end
            }
            guard fsync(fd) == 0 else { throw Self.failure("cannot fsync \(temporary)") }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard Glibc.rename(temporary, path) == 0 else {
            let error = Self.failure("cannot rename \(temporary) to \(path)")
            unlink(temporary)
            throw error
        }
        try Self.syncDirectory(Self.directory(of: path))
    }

    public func openForAppend(_ path: String) throws(StorageError) -> any AppendableFile {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.failure("cannot open \(path)") }
        let end = lseek(fd, 0, SEEK_END)
        guard end >= 0 else {
            let error = Self.failure("cannot seek in \(path)")
            close(fd)
            throw error
        }
        return PosixAppendableFile(fd: fd, path: path, length: Int(end))
    }

    public func truncate(_ path: String, to length: Int) throws(StorageError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.failure("cannot open \(path)") }
        defer { close(fd) }
        guard ftruncate(fd, off_t(length)) == 0 else { throw Self.failure("cannot truncate \(path)") }
        guard fsync(fd) == 0 else { throw Self.failure("cannot fsync \(path)") }
    }

    public func rename(_ path: String, to: String) throws(StorageError) {
        guard Glibc.rename(path, to) == 0 else { throw Self.failure("cannot rename \(path) to \(to)") }
        try Self.syncDirectory(Self.directory(of: to))
    }

    public func remove(_ path: String) throws(StorageError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw Self.failure("cannot remove \(path)") }
        try Self.syncDirectory(Self.directory(of: path))
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func syncDirectory(_ directory: String) throws(StorageError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("cannot open directory \(directory)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw failure("cannot fsync directory \(directory)") }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(StorageError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw failure("cannot write \(path)") }
            offset += written
        }
    }

    static func failure(_ what: String) -> StorageError {
        let code = errno
        let kind: StorageError.Kind = code == ENOSPC || code == EDQUOT ? .noSpace : .io
        return StorageError(kind, "\(what): \(String(cString: strerror(code)))")
    }
}

final class PosixAppendableFile: AppendableFile {
    private var fd: Int32
    private let path: String
    private(set) var length: Int

    init(fd: Int32, path: String, length: Int) {
        self.fd = fd
        self.path = path
        self.length = length
    }

    deinit { close() }

    func append(_ bytes: [UInt8]) throws(StorageError) {
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

    func sync() throws(StorageError) {
        guard fdatasync(fd) == 0 else { throw PosixStorage.failure("cannot fdatasync \(path)") }
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}
