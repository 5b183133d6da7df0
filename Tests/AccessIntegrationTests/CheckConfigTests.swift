import AccessStore
import AccessDaemon
import AccessTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 13, item 2: `accessd --check-config` (like `nginx -t`) through the
/// real binary: the configuration read as a start reads it, exit 0 with what
/// is in force, or 78 (EX_CONFIG) with the file and line of the problem on
/// stderr; nothing is started. The unit's ExecReload= runs it before the
/// SIGHUP (SystemdUnitFileTests), so a reload with a broken file fails.
@Suite(.serialized) struct CheckConfigTests {
    /// `accessd --check-config` with `arguments` in a fresh directory holding `config.conf` (when given).
    func check(
        _ config: String?, arguments: [String] = [], environment: [String: String] = [:]
    ) throws -> (status: Int32, stdout: String, stderr: String, directory: String) {
        let binary = try #require(AccessdBinaryTests.binary, "accessd is built with the tests (swift build --build-tests)")
        let directory = SystemdTestSupport.temporaryDirectory("check-config")
        var flags = ["--check-config"]
        if let config {
            try config.write(toFile: directory + "/config.conf", atomically: true, encoding: .utf8)
            flags += ["--config", directory + "/config.conf"]
        }
        let result = try SystemdTestSupport.run(binary.path, flags + arguments, environment: environment)
        return (result.status, result.stdout, result.stderr, directory)
    }

    @Test func aGoodConfigExitsZeroSaysWhatIsInForceAndStartsNothing() throws {
        let result = try check(
            "# comment\nsocket = /tmp/accessd-cc-never/accessd.sock\nstate_dir = /tmp/accessd-cc-never/state\nlog_level = debug\nmax_connections = 500\n")
        defer { try? FileManager.default.removeItem(atPath: result.directory) }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("the configuration is good (the config file \(result.directory)/config.conf)"), "\(result.stdout)")
        #expect(result.stdout.contains("socket = /tmp/accessd-cc-never/accessd.sock"))
        #expect(result.stdout.contains("state_dir = /tmp/accessd-cc-never/state"))
        #expect(result.stdout.contains("log_level = debug"))
        #expect(result.stderr.isEmpty, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/accessd-cc-never"), "--check-config made the socket's or the state's directory")
    }

    @Test func flagsAndTheEnvironmentWinOverTheFileAsAtAStart() throws {
        let result = try check(
            "socket = /tmp/from-file.sock\nlog_level = info\n", arguments: ["--socket", "/tmp/from-flag.sock"],
            environment: ["ACCESSD_LOG_LEVEL": "warning"])
        defer { try? FileManager.default.removeItem(atPath: result.directory) }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("socket = /tmp/from-flag.sock"), "\(result.stdout)")
        #expect(result.stdout.contains("log_level = warning"), "\(result.stdout)")
    }

    @Test func theFileNamedByAccessdConfigIsChecked() throws {
        let directory = SystemdTestSupport.temporaryDirectory("check-config-env")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "\n\nfsync = sometimes\n".write(toFile: directory + "/env.conf", atomically: true, encoding: .utf8)
        let binary = try #require(AccessdBinaryTests.binary)
        let result = try SystemdTestSupport.run(
            binary.path, ["--check-config"], environment: ["ACCESSD_CONFIG": directory + "/env.conf"])
        #expect(result.status == 78)
        #expect(result.stderr.contains("\(directory)/env.conf:3: fsync must be always, interval or none, not 'sometimes'"), "\(result.stderr)")
    }

    /// Every kind of mistake names its file and its line (never line 0), exits
    /// 78 and prints nothing on stdout.
    @Test(arguments: [
        ("# a comment\nsokcet = /run/accessd.sock\n", 2, "unknown key 'sokcet'"),
        ("\n\n\nmax_connections = lots\n", 4, "max_connections must be a whole number"),
        ("log_level = loud\n", 1, "unknown log level 'loud'"),
        ("socket = /run/accessd.sock\nadmin_uids\n", 2, "expected key = value"),
        ("admin_uids = 0, root\n", 1, "admin_uids must be a comma-separated list of numbers"),
        ("\ndefault_peer_class = admin\n", 2, "default_peer_class must be service, read-only or none"),
        ("write_rate_per_uid = nan\n", 1, "write_rate_per_uid must be a number"),
        ("event_loops = 0\r\n", 1, "event_loops must be a whole number in 1...256"),
    ])
    func aBrokenConfigExits78WithItsFileAndLine(text: String, line: Int, reason: String) throws {
        let result = try check(text)
        defer { try? FileManager.default.removeItem(atPath: result.directory) }
        #expect(result.status == ExitStatus.config.code, "stdout: \(result.stdout) stderr: \(result.stderr)")
        #expect(result.stderr.contains("\(result.directory)/config.conf:\(line): \(reason)"), "\(result.stderr)")
        #expect(result.stdout.isEmpty, "\(result.stdout)")
    }

    @Test func aFileThatCannotBeReadSaysWhyInTheSystemsWords() throws {
        let missing = try check(nil, arguments: ["--config", "/nonexistent/accessd.conf"])
        defer { try? FileManager.default.removeItem(atPath: missing.directory) }
        #expect(missing.status == 78)
        #expect(missing.stderr.contains("cannot read the config file /nonexistent/accessd.conf: No such file or directory"), "\(missing.stderr)")

        let directory = SystemdTestSupport.temporaryDirectory("check-config-bytes")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data([0x73, 0x6F, 0x63, 0x6B, 0x65, 0x74, 0x20, 0x3D, 0x20, 0xFF, 0xFE, 0x0A]).write(
            to: URL(fileURLWithPath: directory + "/latin.conf"))
        let binary = try #require(AccessdBinaryTests.binary)
        let bytes = try SystemdTestSupport.run(binary.path, ["--check-config", "--config", directory + "/latin.conf"])
        #expect(bytes.status == 78)
        #expect(bytes.stderr.contains("\(directory)/latin.conf: it is not UTF-8 text"), "\(bytes.stderr)")
    }
}

/// Issue 13, item 5: a state directory on a read-only file system (what
/// `state_dir = /srv/accessd` meets under the unit's ProtectSystem=strict)
/// stops the start with exit 78 and what to do, before anything is loaded;
/// under systemd (INVOCATION_ID set) the message names the ReadWritePaths=
/// drop-in. scripts/test-systemd.sh checks the same under a real systemd.
@Suite(.serialized) struct ReadOnlyStateDirectoryTests {
    @Test(.enabled(if: FullDiskTests.canMount, "needs root and a tmpfs mount"))
    func aReadOnlyStateDirectoryStopsTheStartWithExit78AndTheDropInToAdd() throws {
        let directory = SystemdTestSupport.temporaryDirectory("readonly")
        let mountPoint = directory + "/srv"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        try #require(FullDiskTests.run("/bin/mount", ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", mountPoint]))
        defer {
            _ = FullDiskTests.run("/bin/umount", [mountPoint])
            try? FileManager.default.removeItem(atPath: directory)
        }
        let binary = try #require(AccessdBinaryTests.binary)
        let socket = ["--socket", directory + "/run/accessd.sock"]

        // A directory to be created there (its parent is read-only), by hand: no systemd words.
        let plain = try SystemdTestSupport.run(
            binary.path, socket + ["--state-dir", mountPoint + "/accessd"], environment: ["INVOCATION_ID": ""])
        #expect(plain.status == ExitStatus.config.code, "\(plain.stderr)")
        #expect(plain.stderr.contains("the state directory \(mountPoint)/accessd is on a read-only file system (\(mountPoint), where accessd would create it)"), "\(plain.stderr)")
        #expect(plain.stderr.contains("a directory on a writable file system"), "\(plain.stderr)")
        #expect(!plain.stderr.contains("ReadWritePaths"), "\(plain.stderr)")

        // The mount point itself, under systemd: the drop-in to add.
        let unit = try SystemdTestSupport.run(
            binary.path, socket + ["--state-dir", mountPoint], environment: ["INVOCATION_ID": "0123456789abcdef"])
        #expect(unit.status == ExitStatus.config.code, "\(unit.stderr)")
        #expect(unit.stderr.contains("the state directory \(mountPoint) is on a read-only file system, so"), "\(unit.stderr)")
        #expect(unit.stderr.contains("'ReadWritePaths=\(mountPoint)'"), "\(unit.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/run/accessd.sock"), "it listened")
    }
}
