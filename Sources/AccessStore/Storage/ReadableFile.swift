#if canImport(Glibc)
    import Glibc
#endif

/// A file open for reading parts of it at any offset (the event archive's
/// segments), by any thread. Bytes appended after it was opened are read too.
public protocol ReadableFile: AnyObject, Sendable {
    /// Up to `count` bytes from `offset`; fewer only at the end of the file.
    func read(at offset: Int, count: Int) throws(StorageError) -> [UInt8]
    func close()
}

extension Storage {
    /// A storage without positioned reads (a simulated disk) reads the whole file once.
    public func openForReading(_ path: String) throws(StorageError) -> (any ReadableFile)? {
        try read(path).map { WholeFileReader(bytes: $0) }
    }
}

/// A file read whole when opened.
package final class WholeFileReader: ReadableFile {
    package let bytes: [UInt8]

    package init(bytes: [UInt8]) { self.bytes = bytes }

    package func read(at offset: Int, count: Int) throws(StorageError) -> [UInt8] {
        guard offset < bytes.count else { return [] }
        return Array(bytes[offset..<min(bytes.count, offset + count)])
    }

    package func close() {}
}

/// `pread` on a descriptor `PosixStorage` opened (no link followed, a regular file).
package final class PosixReadableFile: ReadableFile, @unchecked Sendable {
    // Set once; closed once (by `close` or deinit), after every read.
    private var fd: Int32
    private let path: String

    package init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close() }

    package func read(at offset: Int, count: Int) throws(StorageError) -> [UInt8] {
        guard count > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = out.withUnsafeMutableBytes { raw in
                pread(fd, raw.baseAddress! + filled, count - filled, off_t(offset + filled))
            }
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else { throw PosixStorage.failure("cannot read \(path)") }
            if got == 0 { break }
            filled += got
        }
        if filled < count { out.removeSubrange(filled...) }
        return out
    }

    package func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}
