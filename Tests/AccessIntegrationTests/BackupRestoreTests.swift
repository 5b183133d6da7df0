import AccessStore
import AccessCore
import AccessTestSupport
import AccessWire
import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing

@testable import AccessDaemon

#if canImport(Glibc)
    import Glibc
#endif

/// Backup and restore through the real binaries (README "Backup and
/// restore"): `accessctl backup` streams one state at one revision while
/// writes go on, `accessd restore` installs it offline, and a daemon started
/// there holds that state and that revision; damage, a daemon holding the
/// directory and a directory holding state are refused without changing
/// anything; a snapshot of the previous format restores too.
@Suite(.serialized) struct BackupRestoreTests {
    let binary = AccessdBinaryTests()

    static var accessctl: String { AccessdBinaryTests.builtBinary("accessctl")?.path ?? "accessctl" }
    static var accessd: String { AccessdBinaryTests.binary?.path ?? "accessd" }

    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try SystemdTestSupport.run(executable, arguments)
    }

    /// The fields `accessctl backup --json` or `backup verify --json` printed.
    static func fields(_ output: String) throws -> [String: Any] {
        let line = try #require(output.split(separator: "\n").last { $0.hasPrefix("{") }, "a JSON line in: \(output)")
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    static func number(_ value: Any) -> UInt64? { (value as? NSNumber)?.uint64Value }

    /// A state directory holding one snapshot of `accounts` accounts (journal record 1), as a daemon would leave it.
    static func seed(_ directory: String, accounts: Int) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let image = try BackupImages.image(accounts: accounts)
        let decoded = try SnapshotFile.decode(image.bytes, path: "seed")
        _ = try StateDirectory(path: directory).writeSnapshot(decoded.durable, writtenAt: Timestamp(millisecondsSinceEpoch: 1_800_000_000_000))
    }

    static func createAccount(_ connection: RawConnection, _ name: String, id: UInt64) throws -> (id: String, revision: UInt64)? {
        var create = Accessd_V1_CreateAccountRequest()
        create.name = name
        create.fullAccessLicenses = 1
        create.ownerEmail = "\(name)@load.example"
        create.ownerFirstName = "Load"
        create.ownerLastName = "Test"
        let response = try connection.call(Methods.createAccount, create, id: id)
        guard response.code == 0 else { return nil }
        return (try Accessd_V1_CreateAccountResponse(serializedBytes: response.payload).account.id, response.revision)
    }

    static func stats(_ socket: String) throws -> Accessd_V1_GetStatsResponse {
        let response = try RawConnection(path: socket).call(Methods.getStats, Accessd_V1_GetStatsRequest(), id: 1)
        return try Accessd_V1_GetStatsResponse(serializedBytes: response.payload)
    }

    /// Writers creating accounts on connections of their own until stopped;
    /// each write acknowledged with the revision of its reply and when.
    final class Writers: @unchecked Sendable {
        struct Ack { var id: String; var revision: UInt64; var at: Date }
        let acks = NIOLockedValueBox<[Ack]>([])
        let stop = NIOLockedValueBox(false)
        private let done = DispatchGroup()

        init(socket: String, connections: Int) {
            for connection in 0..<connections {
                done.enter()
                Thread { [self] in
                    defer { done.leave() }
                    guard let raw = try? RawConnection(path: socket) else { return }
                    var n: UInt64 = 0
                    while !stop.withLockedValue({ $0 }) {
                        n += 1
                        guard let made = try? BackupRestoreTests.createAccount(raw, "load-\(connection)-\(n)", id: n) else { return }
                        acks.withLockedValue { $0.append(Ack(id: made.id, revision: made.revision, at: Date())) }
                    }
                }.start()
            }
        }

        func finish() -> [Ack] {
            stop.withLockedValue { $0 = true }
            done.wait()
            return acks.withLockedValue { $0 }
        }
    }

    @Test func aBackupTakenUnderWriteLoadRestoresToADaemonWithThatStateAndRevision() async throws {
        let root = SystemdTestSupport.temporaryDirectory("backup")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.seed(root + "/live/state", accounts: 6_000)
        let live = try binary.start(directory: root + "/live")
        let before = try Self.stats(live.socket).revision

        // Writes on four connections all along the backup.
        let writers = Writers(socket: live.socket, connections: 4)
        while writers.acks.withLockedValue({ $0.count }) < 20 { usleep(5_000) }
        let started = Date()
        let backup = try Self.run(Self.accessctl, ["backup", "--json", "--socket", live.socket, root + "/backup.snap"])
        let ended = Date()
        usleep(100_000)
        let acks = writers.finish()
        #expect(backup.status == 0, "\(backup.stdout) \(backup.stderr)")
        let header = try Self.fields(backup.stdout)
        let revision = try #require(header["revision"].flatMap(Self.number))
        let during = acks.filter { $0.at > started && $0.at < ended }
        #expect(during.count > 0, "writes were acknowledged while the backup ran")
        #expect(acks.contains { $0.revision <= revision } && acks.contains { $0.revision > revision }, "the backup is of one revision inside the write stream")
        #expect(revision > before)
        var mode = stat()
        #expect(stat(root + "/backup.snap", &mode) == 0 && mode.st_mode & 0o777 == 0o600, "a backup holds tokens: mode 0600")
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: root).contains { $0.hasSuffix(".tmp") }), "no temporary file left")
        let gaps = zip(acks.dropFirst(), acks).map { $0.at.timeIntervalSince($1.at) }
        print(
            "backup of \(header["bytes"] ?? "?") bytes (\(header["accounts"] ?? "?") accounts) in \(header["seconds"] ?? "?") s; \(during.count) writes acknowledged meanwhile, the longest gap between acknowledgements \(Int((gaps.max() ?? 0) * 1000)) ms"
        )

        // Every account as the live daemon answers it, by whether the backup's revision holds it.
        let raw = try RawConnection(path: live.socket)
        var answers: [String: Data] = [:]
        for (n, ack) in acks.enumerated() {
            var get = Accessd_V1_GetAccountRequest()
            get.accountID = ack.id
            answers[ack.id] = try raw.call(Methods.getAccount, get, id: UInt64(n + 1)).payload
        }
        #expect(binary.stop(live) == 0)

        // Restored into a new directory, a daemon starts from exactly that state.
        let restore = try Self.run(Self.accessd, ["restore", root + "/backup.snap", "--state-dir", root + "/restored/state"])
        #expect(restore.status == 0, "\(restore.stdout) \(restore.stderr)")
        #expect(restore.stdout.contains("accessd will start from revision \(revision)"), "\(restore.stdout)")
        let restored = try binary.start(directory: root + "/restored")
        let stats = try Self.stats(restored.socket)
        #expect(stats.revision == revision, "the restored daemon is at the backup's revision")
        #expect(stats.accounts == UInt64(6_000 + acks.filter { $0.revision <= revision }.count))
        let check = try RawConnection(path: restored.socket)
        var wrong: [String] = []
        for (n, ack) in acks.enumerated() {
            var get = Accessd_V1_GetAccountRequest()
            get.accountID = ack.id
            let response = try check.call(Methods.getAccount, get, id: UInt64(n + 1))
            if ack.revision <= revision {
                if response.code != 0 || response.payload != answers[ack.id] { wrong.append("\(ack.id) missing or different") }
            } else if response.code != 5 {
                wrong.append("\(ack.id) (revision \(ack.revision)) is there, after the backup's revision")
            }
        }
        #expect(wrong.isEmpty, "\(wrong.count) accounts: \(wrong.prefix(5))")
        // The whole state: a backup of the restored daemon decodes to the same state as the first.
        let again = try Self.run(Self.accessctl, ["backup", "--socket", restored.socket, root + "/again.snap"])
        #expect(again.status == 0, "\(again.stderr)")
        let first = try SnapshotFile.decode([UInt8](Data(contentsOf: URL(fileURLWithPath: root + "/backup.snap"))), path: "first").durable
        let second = try SnapshotFile.decode([UInt8](Data(contentsOf: URL(fileURLWithPath: root + "/again.snap"))), path: "second").durable
        #expect(first.state == second.state && first.lsn == second.lsn)
        #expect(binary.stop(restored) == 0)
    }

    @Test func oneBackupAtATimeHoldsAnImageAndTheNextOneRunsOnceItEnds() throws {
        let root = SystemdTestSupport.temporaryDirectory("backup-slot")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.seed(root + "/state", accounts: 6_000)
        let daemon = try binary.start(directory: root)
        defer { #expect(binary.stop(daemon) == 0) }
        do {
            // A peer that asks for a backup and does not read it holds the slot.
            let stalled = try RawConnection(path: daemon.socket)
            try stalled.send(Accessd_V1_Request(id: 1, method: Methods.backup.path))
            let header = try stalled.readResponse(timeout: 30)
            #expect(header.more && header.code == 0)
            let second = try Self.run(Self.accessctl, ["backup", "--socket", daemon.socket, root + "/second.snap"])
            #expect(second.status == 2, "the daemon refused the call")
            #expect(second.stderr.contains("RESOURCE_EXHAUSTED") && second.stderr.contains("one runs at a time"), "\(second.stderr)")
            #expect(!FileManager.default.fileExists(atPath: root + "/second.snap"), "nothing written")
        }
        // Once that peer goes (its connection closed), the image is dropped and the next backup runs.
        var third = try Self.run(Self.accessctl, ["backup", "--socket", daemon.socket, root + "/third.snap"])
        for _ in 0..<50 where third.status != 0 {
            usleep(100_000)
            third = try Self.run(Self.accessctl, ["backup", "--socket", daemon.socket, root + "/third.snap"])
        }
        #expect(third.status == 0, "\(third.stderr)")
    }

    @Test func backupVerifyFindsAFlippedByteAndATruncatedFileAndRestoreRefusesThem() throws {
        let root = SystemdTestSupport.temporaryDirectory("backup-damage")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.seed(root + "/state", accounts: 50)
        let daemon = try binary.start(directory: root)
        let saved = try Self.run(Self.accessctl, ["backup", "--socket", daemon.socket, root + "/good.snap"])
        #expect(binary.stop(daemon) == 0)
        #expect(saved.status == 0, "\(saved.stderr)")
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: root + "/good.snap")))
        let verified = try Self.run(Self.accessctl, ["backup", "verify", "--json", root + "/good.snap"])
        #expect(verified.status == 0, "\(verified.stderr)")
        let fields = try Self.fields(verified.stdout)
        #expect(fields["accounts"].flatMap(Self.number) == 50 && fields["format_version"].flatMap(Self.number) == UInt64(SnapshotFile.formatVersion))

        var flipped = good
        flipped[good.count / 2] ^= 0x10
        var badMagic = good
        badMagic[0] ^= 0x01
        let damaged: [(name: String, bytes: [UInt8], says: String)] = [
            ("flipped.snap", flipped, "checksum mismatch"),
            ("truncated.snap", Array(good.prefix(good.count - 100)), "the header announces \(good.count - 32) bytes, the file holds \(good.count - 132)"),
            ("header.snap", badMagic, "no snapshot header"),
            ("empty.snap", [], "no snapshot header"),
        ]
        for file in damaged {
            let path = root + "/" + file.name
            try Data(file.bytes).write(to: URL(fileURLWithPath: path))
            let verify = try Self.run(Self.accessctl, ["backup", "verify", path])
            #expect(verify.status == 1, "\(file.name): \(verify.stdout)")
            #expect(verify.stderr.contains(file.says) && verify.stderr.contains(path), "\(file.name): \(verify.stderr)")
            let restore = try Self.run(Self.accessd, ["restore", path, "--state-dir", root + "/restored-" + file.name])
            #expect(restore.status == 65, "\(file.name): \(restore.stderr)")
            #expect(restore.stderr.contains(file.says) && restore.stderr.contains("nothing was changed"), "\(restore.stderr)")
            #expect(!FileManager.default.fileExists(atPath: root + "/restored-" + file.name), "no directory made for a damaged backup")
        }
    }

    @Test func restoreRefusesADirectoryADaemonHoldsOrOneThatHoldsStateAndForceMovesThatAside() throws {
        let root = SystemdTestSupport.temporaryDirectory("restore-refuse")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.seed(root + "/state", accounts: 10)
        let daemon = try binary.start(directory: root)
        let saved = try Self.run(Self.accessctl, ["backup", "--json", "--socket", daemon.socket, root + "/backup.snap"])
        #expect(saved.status == 0, "\(saved.stderr)")
        let revision = try #require(try Self.fields(saved.stdout)["revision"].flatMap(Self.number))
        let raw = try RawConnection(path: daemon.socket)
        let later = try #require(try Self.createAccount(raw, "after-the-backup", id: 1))
        let state = root + "/state"
        // The running daemon's event archive starts its segments on its own thread, whenever it likes:
        // what restore must leave alone is everything else.
        func restoreVisible() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: state).filter { !$0.hasPrefix("events-") }.sorted()
        }
        let names = try restoreVisible()

        // While the daemon runs: refused, nothing changed.
        let held = try Self.run(Self.accessd, ["restore", root + "/backup.snap", "--state-dir", state])
        #expect(held.status == 75, "\(held.stderr)")
        #expect(held.stderr.contains("in use by an accessd (pid \(daemon.process.processIdentifier))") && held.stderr.contains("stop it first"), "\(held.stderr)")
        #expect(try restoreVisible() == names)
        #expect(binary.stop(daemon) == 0)

        // Stopped, but holding state: refused naming what is there.
        let full = try FileManager.default.contentsOfDirectory(atPath: state).sorted()
        let occupied = try Self.run(Self.accessd, ["restore", root + "/backup.snap", "--state-dir", state])
        #expect(occupied.status == 1, "\(occupied.stderr)")
        for name in full where name != "lock" { #expect(occupied.stderr.contains(name), "names \(name): \(occupied.stderr)") }
        #expect(occupied.stderr.contains("--force"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: state).sorted() == full)

        // --force moves it all aside (deleting nothing) and the daemon starts from the backup, not from what was there.
        let forced = try Self.run(Self.accessd, ["restore", root + "/backup.snap", "--state-dir", state, "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        let aside = try #require(try FileManager.default.contentsOfDirectory(atPath: state).first { $0.hasPrefix("before-restore-") })
        #expect(try FileManager.default.contentsOfDirectory(atPath: state + "/" + aside).sorted() == full.filter { $0 != "lock" })
        let restarted = try binary.start(directory: root)
        #expect(try Self.stats(restarted.socket).revision == revision)
        var get = Accessd_V1_GetAccountRequest()
        get.accountID = later.id
        #expect(try RawConnection(path: restarted.socket).call(Methods.getAccount, get, id: 1).code == 5)
        #expect(binary.stop(restarted) == 0)
    }

    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
    func aSnapshotOfThePreviousFormatRestoresOwnedByTheDaemonsUserAndLoads() throws {
        let root = SystemdTestSupport.temporaryDirectory("restore-format2")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fixture = StateFixture.path + "/snapshot-00000000000000000003.snap"
        let verified = try Self.run(Self.accessctl, ["backup", "verify", "--json", fixture])
        #expect(verified.status == 0, "\(verified.stderr)")
        let fields = try Self.fields(verified.stdout)
        #expect(fields["format_version"].flatMap(Self.number) == 2, "the fixture is of the previous format")
        let revision = try #require(fields["revision"].flatMap(Self.number))
        let users = try #require(fields["users"].flatMap(Self.number))

        let state = root + "/state"
        let restore = try Self.run(Self.accessd, ["restore", fixture, "--state-dir", state, "--owner", "nobody"])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(restore.stdout.contains("snapshot format 2"), "\(restore.stdout)")
        for path in [state, state + "/lock", state + "/snapshot-00000000000000000003.snap"] {
            var status = stat()
            #expect(stat(path, &status) == 0 && status.st_uid == 65534, "\(path) belongs to nobody")
            if path.hasSuffix(".snap") { #expect(status.st_mode & 0o777 == 0o600) }
        }
        // accessd as that user starts from it.
        let run = root + "/run"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        chown(run, 65534, 65534)
        let daemon = try DaemonProcess(
            executable: "/usr/bin/setpriv",
            arguments: ["--reuid=65534", "--regid=65534", "--clear-groups", Self.accessd, "--socket", run + "/accessd.sock", "--state-dir", state],
            directory: root)
        #expect(daemon.waitForOutput("listening on"), "\(daemon.stderr)")
        let stats = try Self.stats(run + "/accessd.sock")
        #expect(stats.revision == revision && stats.users == UInt64(users), "the restored daemon holds the snapshot's state: \(stats)")
        daemon.signal(SIGTERM)
        #expect(daemon.wait() == 0, "\(daemon.stderr)")
    }
}
