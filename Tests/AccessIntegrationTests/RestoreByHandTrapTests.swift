import AccessStore
import AccessCore
import AccessTestSupport
import AccessWire
import Foundation
import Logging
import Testing

@testable import AccessDaemon

#if canImport(Glibc)
    import Glibc
#endif

/// Restoring by hand (issue 13, item 4): a snapshot copied into the state
/// directory under another name used to start an empty state without a
/// word, and a snapshot accessd's user may not read (root's, mode 0600) made
/// the start fail as data damage (65) with advice to start with
/// --accept-data-loss, which would have dropped what it holds. Now the first
/// stops the start (78) naming the file and the name to give it, and is
/// named by check-state and at every start; the second is a permission
/// problem (74) with the chown that fixes it, and nothing is set aside.
@Suite(.serialized) struct RestoreByHandTrapTests {
    let binary = AccessdBinaryTests()

    static var accessctl: String { AccessdBinaryTests.builtBinary("accessctl")?.path ?? "accessctl" }
    static var accessd: String { AccessdBinaryTests.binary?.path ?? "accessd" }

    /// A snapshot file of a small state, as a backup would be.
    static func backupBytes(accounts: Int = 3) throws -> [UInt8] { try BackupImages.image(accounts: accounts).bytes }

    static func stats(_ socket: String) throws -> Accessd_V1_GetStatsResponse {
        let response = try RawConnection(path: socket).call(Methods.getStats, Accessd_V1_GetStatsRequest(), id: 1)
        return try Accessd_V1_GetStatsResponse(serializedBytes: response.payload)
    }

    static func directory(_ path: String, owner: uid_t = 0) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        chown(path, owner, owner)
    }

    @Test func aSnapshotUnderAnotherNameStopsTheStartThatWouldBeEmptyNamingTheRightName() throws {
        let root = SystemdTestSupport.temporaryDirectory("stray")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let state = root + "/state"
        try Self.directory(state)
        try Data(try Self.backupBytes()).write(to: URL(fileURLWithPath: state + "/accessd-backup.snap"))
        let right = SnapshotFile.name(lsn: 3)

        let daemon = try DaemonProcess.accessd(
            arguments: ["--socket", root + "/run/accessd.sock", "--state-dir", state], directory: root)
        #expect(daemon.wait() == 78, "\(daemon.stderr)")
        #expect(daemon.stderr.contains("\(state)/accessd-backup.snap is a snapshot (format 3, journal record 3)"), "\(daemon.stderr)")
        #expect(daemon.stderr.contains("mv \(state)/accessd-backup.snap \(state)/\(right)"), "\(daemon.stderr)")
        #expect(!daemon.stderr.contains("accept-data-loss"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: state).sorted() == ["accessd-backup.snap", "lock"], "nothing changed")

        let check = try SystemdTestSupport.run(Self.accessctl, ["check-state", state])
        #expect(check.status == 1)
        #expect(check.stdout.contains("stray accessd-backup.snap: a snapshot (format 3, journal record 3)"), "\(check.stdout)")
        #expect(check.stdout.contains(right) && !check.stdout.contains("the daemon starts empty"), "\(check.stdout)")

        // Given its name, it loads.
        rename(state + "/accessd-backup.snap", state + "/" + right)
        let fixed = try binary.start(directory: root)
        let stats = try Self.stats(fixed.socket)
        #expect(stats.accounts == 3)
        #expect(binary.stop(fixed) == 0)
    }

    @Test func aStraySnapshotOrSegmentBesideTheStateIsNamedAtStartAndByCheckState() throws {
        let root = SystemdTestSupport.temporaryDirectory("stray-beside")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let state = root + "/state"
        try Self.directory(state)
        let bytes = try Self.backupBytes()
        try Data(bytes).write(to: URL(fileURLWithPath: state + "/" + SnapshotFile.name(lsn: 3)))
        try Data(bytes).write(to: URL(fileURLWithPath: state + "/copy-of-snapshot.bak"))
        try Data(JournalFormat.header(firstLSN: 4)).write(to: URL(fileURLWithPath: state + "/journal.old"))
        try Data("notes\n".utf8).write(to: URL(fileURLWithPath: state + "/README"))

        let daemon = try DaemonProcess.accessd(
            arguments: ["--socket", root + "/run/accessd.sock", "--state-dir", state], directory: root)
        #expect(daemon.waitForOutput("listening on"), "\(daemon.stderr)")
        #expect(daemon.stderr.contains("\(state)/copy-of-snapshot.bak is a snapshot (format 3, journal record 3) under a name accessd does not load"), "\(daemon.stderr)")
        #expect(daemon.stderr.contains("\(state)/journal.old is a journal segment (format \(JournalFormat.version), from record 4)"), "\(daemon.stderr)")
        #expect(!daemon.stderr.contains("README"), "a file that is not a snapshot or a segment is not named")
        daemon.signal(SIGTERM)
        #expect(daemon.wait() == 0)

        let check = try SystemdTestSupport.run(Self.accessctl, ["check-state", state])
        #expect(check.status == 0, "\(check.stdout)")
        #expect(check.stdout.contains("stray copy-of-snapshot.bak") && check.stdout.contains("stray journal.old"), "\(check.stdout)")
    }

    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
    func aSnapshotAccessdsUserMayNotReadIsAPermissionProblemExit74WithTheChown() throws {
        let root = SystemdTestSupport.temporaryDirectory("unreadable")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let state = root + "/state"
        let run = root + "/run"
        try Self.directory(state, owner: 65534)
        try Self.directory(run, owner: 65534)
        // Copied in by root: root's, mode 0600.
        let snapshot = state + "/" + SnapshotFile.name(lsn: 3)
        try Data(try Self.backupBytes()).write(to: URL(fileURLWithPath: snapshot))
        chmod(snapshot, 0o600)
        let daemon = try DaemonProcess(
            executable: "/usr/bin/setpriv",
            arguments: ["--reuid=65534", "--regid=65534", "--clear-groups", Self.accessd, "--socket", run + "/accessd.sock", "--state-dir", state],
            directory: root)
        #expect(daemon.wait() == 74, "\(daemon.stderr)")
        #expect(daemon.stderr.contains("owned by uid 0 (root), mode 0600"), "\(daemon.stderr)")
        #expect(daemon.stderr.contains("chown nobody: \(snapshot)"), "\(daemon.stderr)")
        #expect(daemon.stderr.contains("not damaged"), "\(daemon.stderr)")
        #expect(!daemon.stderr.contains("start with --accept-data-loss to rebuild"), "no advice that would drop the snapshot")
        #expect(FileManager.default.fileExists(atPath: snapshot), "the snapshot is not set aside as damaged")

        // The advised fix is all it takes.
        chown(snapshot, 65534, 65534)
        let fixed = try DaemonProcess(
            executable: "/usr/bin/setpriv",
            arguments: ["--reuid=65534", "--regid=65534", "--clear-groups", Self.accessd, "--socket", run + "/accessd.sock", "--state-dir", state],
            directory: root)
        #expect(fixed.waitForOutput("listening on"), "\(fixed.stderr)")
        #expect(try Self.stats(run + "/accessd.sock").accounts == 3)
        fixed.signal(SIGTERM)
        #expect(fixed.wait() == 0, "\(fixed.stderr)")
    }

    @Test func recoveryKnowsAPermissionFromDamage() throws {
        // The same through the storage API, so the rule holds for any caller of recover().
        let root = SystemdTestSupport.temporaryDirectory("unreadable-api")
        defer { try? FileManager.default.removeItem(atPath: root) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        struct Unreadable: Storage {
            let inner = PosixStorage()
            func read(_ path: String) throws(StorageError) -> [UInt8]? {
                if path.hasSuffix(".snap") { throw StorageError(.permissionDenied, "cannot open \(path): Permission denied") }
                return try inner.read(path)
            }
            func list(_ directory: String) throws(StorageError) -> [String] { try inner.list(directory) }
            func createDirectory(_ path: String, mode: UInt32) throws(StorageError) { try inner.createDirectory(path, mode: mode) }
            func writeAtomically(_ bytes: [UInt8], to path: String) throws(StorageError) { try inner.writeAtomically(bytes, to: path) }
            func openForAppend(_ path: String) throws(StorageError) -> any AppendableFile { try inner.openForAppend(path) }
            func truncate(_ path: String, to length: Int) throws(StorageError) { try inner.truncate(path, to: length) }
            func rename(_ path: String, to: String) throws(StorageError) { try inner.rename(path, to: to) }
            func remove(_ path: String) throws(StorageError) { try inner.remove(path) }
        }
        try Self.directory(root + "/state")
        try Data(try Self.backupBytes()).write(to: URL(fileURLWithPath: root + "/state/" + SnapshotFile.name(lsn: 3)))
        do {
            _ = try StateDirectory(storage: Unreadable(), path: root + "/state").recover(acceptLoss: true, logger: logger)
            Issue.record("an unreadable snapshot stops the start, even with --accept-data-loss")
        } catch {
            #expect(error.kind == .unreadable)
            #expect(ExitStatus.forStateError(error) == .stateIO)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/state") == [SnapshotFile.name(lsn: 3)], "not set aside")
    }
}
