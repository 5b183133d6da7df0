public import AccessStore
import AccessDaemon
import NIOConcurrencyHelpers

/// `Storage` in memory, for recovery and snapshots without a disk: files by
/// path, every write durable at once. The fuzz targets hand recovery their
/// bytes as files here; the corpus generator lets the real writers write here.
public final class MemoryStorage: Storage, @unchecked Sendable {
    private let files = NIOLockedValueBox<[String: [UInt8]]>([:])

    public init(files: [String: [UInt8]] = [:]) { self.files.withLockedValue { $0 = files } }

    /// Every file, by path.
    public var contents: [String: [UInt8]] { files.withLockedValue { $0 } }

    public func read(_ path: String) throws(StorageError) -> [UInt8]? { files.withLockedValue { $0[path] } }

    public func list(_ directory: String) throws(StorageError) -> [String] {
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        return files.withLockedValue { files in
            files.keys.filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains("/") }
                .map { String($0.dropFirst(prefix.count)) }.sorted()
        }
    }

    public func createDirectory(_ path: String, mode: UInt32) throws(StorageError) {}

    public func writeAtomically(_ bytes: [UInt8], to path: String) throws(StorageError) {
        files.withLockedValue { $0[path] = bytes }
    }

    public func openForAppend(_ path: String) throws(StorageError) -> any AppendableFile {
        if files.withLockedValue({ $0[path] }) == nil { files.withLockedValue { $0[path] = [] } }
        return File(storage: self, path: path)
    }

    public func truncate(_ path: String, to length: Int) throws(StorageError) {
        let found = files.withLockedValue { files in
            guard let bytes = files[path] else { return false }
            files[path] = Array(bytes.prefix(length))
            return true
        }
        guard found else { throw StorageError(.io, "no file \(path)") }
    }

    public func rename(_ path: String, to: String) throws(StorageError) {
        let moved = files.withLockedValue { files -> Bool in
            guard let bytes = files[path] else { return false }
            files[path] = nil
            files[to] = bytes
            return true
        }
        guard moved else { throw StorageError(.io, "cannot rename \(path): No such file or directory") }
    }

    public func remove(_ path: String) throws(StorageError) { files.withLockedValue { $0[path] = nil } }

    private final class File: AppendableFile {
        let storage: MemoryStorage
        let path: String

        init(storage: MemoryStorage, path: String) {
            self.storage = storage
            self.path = path
        }

        var length: Int { storage.files.withLockedValue { $0[path]?.count ?? 0 } }

        func append(_ bytes: [UInt8]) throws(StorageError) { storage.files.withLockedValue { $0[path, default: []] += bytes } }

        func sync() throws(StorageError) {}

        func close() {}
    }
}
