import AccessStore
import AccessDaemon
import Foundation

/// A disk in memory under the journal and snapshot writers, for power cuts and
/// I/O errors on demand. Each file has what was last synced and what was
/// written since; a power cut keeps only the former (and only files whose
/// directory entry was synced). Writes can be made to fail (the Nth one, or
/// past a capacity, as ENOSPC) and so can syncs (the Nth one, as EIO).
final class SimulatedDisk: Storage, @unchecked Sendable {
    private struct File {
        var current: [UInt8] = []
        var synced: [UInt8] = []
        /// The directory entry survives a power cut.
        var linked = false
    }

    private let lock = NSLock()
    private var files: [String: File] = [:]
    private var directories: Set<String> = []
    private var writes = 0
    private var syncs = 0
    /// Fail the write with this number (1-based, counting appends and atomic writes).
    var failWriteNumber: Int? {
        get { lock.withLock { _failWrite } }
        set { lock.withLock { _failWrite = newValue } }
    }
    private var _failWrite: Int?
    /// Fail the sync with this number (1-based).
    var failSyncNumber: Int? {
        get { lock.withLock { _failSync } }
        set { lock.withLock { _failSync = newValue } }
    }
    private var _failSync: Int?
    /// Fail every sync of a file whose name starts with this (`journal-`: the journal's, whatever else syncs meanwhile).
    var failSyncsOfFilesNamed: String? {
        get { lock.withLock { _failSyncsOf } }
        set { lock.withLock { _failSyncsOf = newValue } }
    }
    private var _failSyncsOf: String?
    /// Bytes all files may hold; past it, writes fail with ENOSPC.
    var capacity: Int {
        get { lock.withLock { _capacity } }
        set { lock.withLock { _capacity = newValue } }
    }
    private var _capacity = Int.max
    /// How long each append and sync takes (so that records queue up behind them).
    var ioDelayMicroseconds: UInt32 {
        get { lock.withLock { _ioDelay } }
        set { lock.withLock { _ioDelay = newValue } }
    }
    private var _ioDelay: UInt32 = 0
    /// After a power cut every operation fails until `powerOn`.
    private var off = false

    var syncCount: Int { lock.withLock { syncs } }

    /// Drops everything not synced, as a power cut does, and fails every
    /// operation from now on (the process is gone).
    func powerCut() {
        lock.withLock {
            off = true
            files = files.filter { $0.value.linked }.mapValues { file in
                var file = file
                file.current = file.synced
                return file
            }
        }
    }

    func powerOn() { lock.withLock { off = false } }

    /// A file's bytes as a reader sees them now.
    func contents(_ path: String) -> [UInt8]? { lock.withLock { files[path]?.current } }

    /// Replaces a file's bytes as if they were on disk (damage, old versions).
    func setContents(_ path: String, _ bytes: [UInt8]) {
        lock.withLock { files[path] = File(current: bytes, synced: bytes, linked: true) }
    }

    private func locked<T>(_ body: () throws(StorageError) -> T) throws(StorageError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    private var used: Int { files.values.reduce(0) { $0 + $1.current.count } }

    private func check() throws(StorageError) {
        if off { throw StorageError(.io, "simulated power cut: the disk is gone") }
    }

    private func nextWrite(_ path: String, adding count: Int) throws(StorageError) {
        try check()
        writes += 1
        if writes == _failWrite { throw StorageError(.io, "simulated write error on \(path): Input/output error") }
        if used + count > _capacity { throw StorageError(.noSpace, "cannot append to \(path): No space left on device") }
    }

    func read(_ path: String) throws(StorageError) -> [UInt8]? {
        try locked { () throws(StorageError) -> [UInt8]? in
            try check()
            return files[path]?.current
        }
    }

    func list(_ directory: String) throws(StorageError) -> [String] {
        try locked { () throws(StorageError) -> [String] in
            try check()
            let prefix = directory + "/"
            return files.keys.filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains("/") }
                .map { String($0.dropFirst(prefix.count)) }
        }
    }

    func createDirectory(_ path: String, mode: UInt32) throws(StorageError) {
        try locked { () throws(StorageError) in
            try check()
            directories.insert(path)
        }
    }

    func writeAtomically(_ bytes: [UInt8], to path: String) throws(StorageError) {
        try locked { () throws(StorageError) in
            try nextWrite(path + ".tmp", adding: bytes.count)
            syncs += 1
            if syncs == _failSync { throw StorageError(.io, "simulated fsync error on \(path).tmp") }
            // temp written and synced, renamed, directory synced: all or nothing.
            files[path] = File(current: bytes, synced: bytes, linked: true)
        }
    }

    func openForAppend(_ path: String) throws(StorageError) -> any AppendableFile {
        try locked { () throws(StorageError) -> any AppendableFile in
            try check()
            guard files[path] != nil else { throw StorageError(.io, "cannot open \(path): No such file or directory") }
            return SimulatedFile(disk: self, path: path)
        }
    }

    func truncate(_ path: String, to length: Int) throws(StorageError) {
        try locked { () throws(StorageError) in
            try check()
            guard var file = files[path] else { throw StorageError(.io, "cannot open \(path)") }
            file.current = Array(file.current.prefix(length))
            file.synced = file.current
            files[path] = file
        }
    }

    func rename(_ path: String, to: String) throws(StorageError) {
        try locked { () throws(StorageError) in
            try check()
            guard let file = files[path] else { throw StorageError(.io, "cannot rename \(path): No such file or directory") }
            // The directory is synced with the rename: the new name survives a power cut.
            files[path] = nil
            files[to] = File(current: file.current, synced: file.synced, linked: true)
        }
    }

    func remove(_ path: String) throws(StorageError) {
        try locked { () throws(StorageError) in
            try check()
            files[path] = nil
        }
    }

    fileprivate func length(_ path: String) -> Int { lock.withLock { files[path]?.current.count ?? 0 } }

    fileprivate func append(_ bytes: [UInt8], to path: String) throws(StorageError) {
        let delay = ioDelayMicroseconds
        if delay > 0 { usleep(delay) }
        try locked { () throws(StorageError) in
            try nextWrite(path, adding: bytes.count)
            guard files[path] != nil else { throw StorageError(.io, "\(path) is gone") }
            files[path]!.current += bytes
        }
    }

    fileprivate func sync(_ path: String) throws(StorageError) {
        let delay = ioDelayMicroseconds
        if delay > 0 { usleep(delay) }
        try locked { () throws(StorageError) in
            try check()
            syncs += 1
            if syncs == _failSync || _failSyncsOf.map({ path.split(separator: "/").last?.hasPrefix($0) == true }) == true {
                throw StorageError(.io, "simulated fdatasync error on \(path): Input/output error")
            }
            if var file = files[path] {
                file.synced = file.current
                files[path] = file
            }
        }
    }
}

private final class SimulatedFile: AppendableFile {
    let disk: SimulatedDisk
    let path: String

    init(disk: SimulatedDisk, path: String) {
        self.disk = disk
        self.path = path
    }

    var length: Int { disk.length(path) }

    func append(_ bytes: [UInt8]) throws(StorageError) { try disk.append(bytes, to: path) }

    func sync() throws(StorageError) { try disk.sync(path) }

    func close() {}
}
