import AccessStore
import AccessDaemon
import AccessTestSupport
import AccessWire
import Foundation
import Logging
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The state directory is not trusted as given (issue 12, item 10): accessd
/// uses it only when it is owned by the user accessd runs as (or root) and
/// nobody else may write in it, and it never follows a link inside it (the
/// lock, a leftover temporary file, a snapshot or a journal segment). The
/// tests run as root and play "another user" with uid 65534 (nobody), modes
/// that let others write, and planted symbolic links to a root-only file.
@Suite(.serialized) struct StateDirectoryTrustTests {
    static let nobody: uid_t = 65534
    static let secret = "root only\n"

    static var quietLogger: Logger {
        var logger = Logger(label: "trust-test")
        logger.logLevel = .critical
        return logger
    }

    /// A root-only file with known contents, standing for /etc/shadow.
    static func victim(in base: String, _ name: String = "victim") throws -> String {
        let path = base + "/" + name
        try Data(secret.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o600)
        return path
    }

    static func contents(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    static func isLink(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFLNK
    }

    static func makeDirectory(_ path: String, mode: mode_t = 0o700, owner: uid_t = 0) throws {
        try #require(mkdir(path, mode) == 0, "mkdir \(path): errno \(errno)")
        try #require(chmod(path, mode) == 0)
        try #require(chown(path, owner, gid_t(owner)) == 0)
    }

    static func configuration(_ base: String, state: String) -> DaemonConfiguration {
        var configuration = DaemonConfiguration(socketPath: base + "/run/accessd.sock", stateDirectory: state)
        configuration.snapshotIntervalSeconds = 3600
        return configuration
    }

    /// What the daemon said when it refused `state`, or nil when it started.
    static func refusal(_ base: String, state: String) async -> String? {
        do {
            let server = try AccessDaemonServer(configuration: configuration(base, state: state), logger: quietLogger)
            try? await server.tearDown(.release)
            return nil
        } catch {
            #expect(ExitStatus.forStateError(error) == .config, "a setup the operator must fix, not a restart: \(error)")
            return "\(error)"
        }
    }

    @Test func accessdRefusesADirectoryAnotherUserOwnsAndWritesNothingThroughTheLockItPlanted() throws {
        let base = SystemdTestSupport.temporaryDirectory("trust")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let victim = try Self.victim(in: base)
        let state = base + "/state"
        try Self.makeDirectory(state, owner: Self.nobody)
        #expect(symlink(victim, state + "/lock") == 0)

        let daemon = try DaemonProcess.accessd(
            arguments: ["--socket", base + "/run/accessd.sock", "--state-dir", state], directory: base)
        let status = daemon.wait(timeout: 15)
        let said = daemon.stderr
        #expect(status == ExitStatus.config.code, "\(said)")
        #expect(said.contains(state) && said.contains("uid 65534"), "\(said)")
        #expect(said.contains("chown root \(state) && chmod 700 \(state)"), "the message says how to fix it: \(said)")
        #expect(Self.contents(victim) == Self.secret, "the root-only file is untouched")
        #expect(Self.isLink(state + "/lock"))
    }

    @Test func aDirectoryTheGroupOrOthersCanWriteIsRefused() async throws {
        let base = SystemdTestSupport.temporaryDirectory("trust")
        defer { try? FileManager.default.removeItem(atPath: base) }
        for mode: mode_t in [0o777, 0o770, 0o702] {
            let state = base + "/state-\(String(mode, radix: 8))"
            try Self.makeDirectory(state, mode: mode)
            let said = try #require(await Self.refusal(base, state: state), "mode \(String(mode, radix: 8)) was accepted")
            #expect(said.contains(state) && said.contains("mode 0\(String(mode, radix: 8))"), "\(said)")
            #expect(said.contains("chmod 700 \(state)"), "\(said)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: state).isEmpty, "nothing is created in it")
        }
        // Readable by the group is fine: only writing matters.
        let readable = base + "/state-750"
        try Self.makeDirectory(readable, mode: 0o750)
        #expect(await Self.refusal(base, state: readable) == nil)
    }

    @Test func aStateDirectoryPathThatIsALinkIsFollowedOnlyWhenTheLinkAndTheDirectoryAreTrusted() async throws {
        let base = SystemdTestSupport.temporaryDirectory("trust")
        defer { try? FileManager.default.removeItem(atPath: base) }
        // root's link into nobody's directory.
        let theirs = base + "/theirs"
        try Self.makeDirectory(theirs, mode: 0o755, owner: Self.nobody)
        #expect(symlink(theirs, base + "/state-a") == 0)
        let intoTheirs = try #require(await Self.refusal(base, state: base + "/state-a"))
        #expect(intoTheirs.contains(base + "/state-a") && intoTheirs.contains("uid 65534"), "\(intoTheirs)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: theirs).isEmpty, "no lock, no journal in their directory")

        // nobody's link into root's directory: whoever owns the link decides where the state lives.
        let mine = base + "/mine"
        try Self.makeDirectory(mine)
        #expect(symlink(mine, base + "/state-b") == 0)
        #expect(lchown(base + "/state-b", Self.nobody, gid_t(Self.nobody)) == 0)
        let theirLink = try #require(await Self.refusal(base, state: base + "/state-b"))
        #expect(theirLink.contains(base + "/state-b") && theirLink.contains("symbolic link") && theirLink.contains("uid 65534"), "\(theirLink)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: mine).isEmpty)

        // root's link into root's directory: an operator's choice, followed.
        #expect(symlink(mine, base + "/state-c") == 0)
        #expect(await Self.refusal(base, state: base + "/state-c") == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: mine).contains("lock"))
    }

    @Test func aMissingStateDirectoryIsCreatedMode0700() async throws {
        let base = SystemdTestSupport.temporaryDirectory("trust")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let state = base + "/deeper/state"
        #expect(await Self.refusal(base, state: state) == nil)
        var status = stat()
        #expect(lstat(state, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR)
        #expect(status.st_mode & 0o777 == 0o700)
    }

    @Test func aLockThatIsALinkOrNotARegularFileIsRefused() async throws {
        let base = SystemdTestSupport.temporaryDirectory("trust")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let victim = try Self.victim(in: base)
        let linked = base + "/state-link"
        try Self.makeDirectory(linked)
        #expect(symlink(victim, linked + "/lock") == 0)
        let link = try #require(await Self.refusal(base, state: linked), "a lock that is a link was followed")
        #expect(link.contains(linked + "/lock") && link.contains("symbolic link"), "\(link)")
        #expect(Self.contents(victim) == Self.secret)

        let fifo = base + "/state-fifo"
        try Self.makeDirectory(fifo)
        #expect(mkfifo(fifo + "/lock", 0o600) == 0)
        let notRegular = try #require(await Self.refusal(base, state: fifo), "a lock that is a FIFO was used")
        #expect(notRegular.contains(fifo + "/lock") && notRegular.contains("not a regular file"), "\(notRegular)")
    }

    @Test func temporaryFilesPlantedAfterTheStartAreReplacedNotFollowed() async throws {
        let base = SystemdTestSupport.temporaryDirectory("trust")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let state = base + "/state"
        let snapshotVictim = try Self.victim(in: base, "snapshot-victim")
        let journalVictim = try Self.victim(in: base, "journal-victim")
        let configuration = Self.configuration(base, state: state)
        let server = try AccessDaemonServer(configuration: configuration, logger: Self.quietLogger)
        try await server.start()
        // The next snapshot (record 0) and the next journal segment (record 1) go through these names.
        let snapshot = state + "/snapshot-00000000000000000000.snap"
        let segment = state + "/journal-00000000000000000001.log"
        #expect(symlink(snapshotVictim, snapshot + ".tmp") == 0)
        #expect(symlink(journalVictim, segment + ".tmp") == 0)
        let written = try await server.snapshotNow()
        var create = Accessd_V1_CreateAccountRequest()
        create.name = "Acme"
        create.fullAccessLicenses = 2
        create.ownerEmail = "owner@acme.example"
        create.ownerFirstName = "Olga"
        create.ownerLastName = "Owner"
        let created = try RawConnection(path: configuration.socketPath).call(Methods.createAccount, create, id: 1)
        try await server.stop()
        #expect(written.path == snapshot)
        #expect(created.code == 0, "\(created.message)")
        #expect(Self.contents(snapshotVictim) == Self.secret, "the snapshot went to the state directory, not through the link")
        #expect(Self.contents(journalVictim) == Self.secret, "the journal header too")
        for path in [snapshot, segment] {
            var status = stat()
            #expect(lstat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFREG, "\(path) is a file of its own")
            #expect(lstat(path + ".tmp", &status) != 0, "no temporary file is left")
        }
    }

    @Test func snapshotsAndJournalSegmentsThatAreLinksAreNotFollowed() async throws {
        let base = SystemdTestSupport.temporaryDirectory("trust")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let state = base + "/state"
        let configuration = Self.configuration(base, state: state)
        let first = try AccessDaemonServer(configuration: configuration, logger: Self.quietLogger)
        try await first.start()
        var create = Accessd_V1_CreateAccountRequest()
        create.name = "Acme"
        create.fullAccessLicenses = 2
        create.ownerEmail = "owner@acme.example"
        create.ownerFirstName = "Olga"
        create.ownerLastName = "Owner"
        _ = try RawConnection(path: configuration.socketPath).call(Methods.createAccount, create, id: 1)
        try await first.stop()

        // The segment moved out and linked back, with a torn tail a start would cut off.
        let outside = base + "/outside"
        try Self.makeDirectory(outside)
        let segment = state + "/journal-00000000000000000001.log"
        #expect(rename(segment, outside + "/segment") == 0)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: outside + "/segment"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0, 0, 0, 9, 1, 2, 3]))
        try handle.close()
        let length = try FileManager.default.attributesOfItem(atPath: outside + "/segment")[.size] as? Int
        #expect(symlink(outside + "/segment", segment) == 0)
        do {
            let server = try AccessDaemonServer(configuration: configuration, logger: Self.quietLogger)
            try? await server.tearDown(.release)
            Issue.record("a journal segment that is a link was read")
        } catch {
            #expect("\(error)".contains(segment) && "\(error)".contains("symbolic link"), "\(error)")
        }
        #expect(try FileManager.default.attributesOfItem(atPath: outside + "/segment")[.size] as? Int == length, "its target is not cut")

        // The snapshot likewise.
        #expect(unlink(segment) == 0)
        let snapshot = state + "/snapshot-00000000000000000001.snap"
        #expect(rename(snapshot, outside + "/snapshot") == 0)
        #expect(symlink(outside + "/snapshot", snapshot) == 0)
        do {
            let server = try AccessDaemonServer(configuration: configuration, logger: Self.quietLogger)
            try? await server.tearDown(.release)
            Issue.record("a snapshot that is a link was loaded")
        } catch {
            #expect("\(error)".contains(snapshot) && "\(error)".contains("symbolic link"), "\(error)")
        }
    }

    @Test func checkStateSaysWhatIsWrongWithADirectoryAccessdWouldRefuseAndFollowsNoLink() throws {
        let accessctl = try #require(AccessdBinaryTests.builtBinary("accessctl"), "accessctl is built with the tests")
        let base = SystemdTestSupport.temporaryDirectory("trust")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let state = base + "/state"
        try Self.makeDirectory(state, mode: 0o777)
        let open = try SystemdTestSupport.run(accessctl.path, ["check-state", state])
        #expect(open.status == 1, "\(open.stdout)\(open.stderr)")
        #expect(open.stdout.contains("mode 0777") && open.stdout.contains("chmod 700 \(state)"), "\(open.stdout)")

        // A journal segment that is a link to a file elsewhere.
        chmod(state, 0o700)
        let victim = try Self.victim(in: base)
        #expect(symlink(victim, state + "/journal-00000000000000000001.log") == 0)
        let linked = try SystemdTestSupport.run(accessctl.path, ["check-state", state])
        #expect(linked.status == 1, "\(linked.stdout)\(linked.stderr)")
        #expect(linked.stdout.contains("journal-00000000000000000001.log") && linked.stdout.contains("symbolic link"), "\(linked.stdout)")
        #expect(Self.contents(victim) == Self.secret)
    }
}
