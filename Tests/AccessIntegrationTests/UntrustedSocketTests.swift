import AccessStore
import AccessDaemon
import AccessTestSupport
import AccessWire
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 12, item 9: a socket whose directory another user can write (or
/// owns) could be moved aside and replaced by an impostor. The real `accessd`
/// refuses to serve there (exit 73), and `accessctl` refuses to connect there,
/// each saying how to fix it (README, "Where things are").
@Suite(.serialized) struct UntrustedSocketTests {
    /// Starts `accessd --socket DIRECTORY/accessd.sock` after `prepare(DIRECTORY)`,
    /// where DIRECTORY is `root`/run, made mode 0755 by the test; waits for its end.
    func accessdExit(prepare: (String) -> Void) throws -> (status: Int32, stderr: String, directory: String) {
        let root = SystemdTestSupport.temporaryDirectory("untrusted")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = root + "/run"
        #expect(mkdir(directory, 0o755) == 0)
        prepare(directory)
        let daemon = try DaemonProcess.accessd(
            arguments: ["--socket", directory + "/accessd.sock", "--state-dir", root + "/state", "--log-level", "warning"],
            directory: root)
        // Before the check existed accessd served here: it is stopped after 20 s (-1).
        let status = daemon.wait(timeout: 20)
        #expect(!FileManager.default.fileExists(atPath: directory + "/accessd.sock"), "no socket is left behind")
        return (status, daemon.stderr, directory)
    }

    @Test func accessdRefusesASocketDirectoryOthersCanWriteWithExit73() throws {
        let (status, stderr, directory) = try accessdExit { chmod($0, 0o777) }
        #expect(status == ExitStatus.socketUnusable.code, "\(stderr)")
        #expect(
            stderr.contains(
                "cannot listen on \(directory)/accessd.sock: the socket's directory \(directory) is writable by its "
                    + "group and others (mode 0777), so they could replace the socket with an impostor; chmod go-w "
                    + "\(directory) (accessd creates it mode 0750), or use --socket in a directory only you can write"),
            "\(stderr)")
    }

    @Test(.enabled(if: getuid() == 0, "chown needs root"))
    func accessdRefusesASocketDirectoryAnotherUserOwnsWithExit73() throws {
        let (status, stderr, directory) = try accessdExit { _ = chown($0, 65534, 65534) }
        #expect(status == ExitStatus.socketUnusable.code, "\(stderr)")
        #expect(
            stderr.contains(
                "cannot listen on \(directory)/accessd.sock: the socket's directory \(directory) is owned by uid 65534, "
                    + "not by root or by accessd's user (uid \(geteuid())), so that user could replace the socket with "
                    + "an impostor; chown \(geteuid()) \(directory), or use --socket in a directory only you can write"),
            "\(stderr)")
    }

    @Test func accessdRefusesASharedStickyDirectoryLikeTmpAsTheSocketsDirectory() throws {
        let (status, stderr, directory) = try accessdExit { chmod($0, 0o1777) }
        #expect(status == ExitStatus.socketUnusable.code, "\(stderr)")
        #expect(stderr.contains("the socket's directory \(directory) is shared (mode 1777)"), "\(stderr)")
        #expect(stderr.contains("such as \(directory)/accessd-\(geteuid())/accessd.sock"), "\(stderr)")
    }

    @Test func accessdRefusesASymbolicLinkInPlaceOfTheSocketsDirectory() throws {
        let (status, stderr, directory) = try accessdExit { directory in
            let real = directory + "-real"
            mkdir(real, 0o750)
            rmdir(directory)
            symlink(real, directory)
        }
        try? FileManager.default.removeItem(atPath: directory + "-real")
        #expect(status == ExitStatus.socketUnusable.code, "\(stderr)")
        #expect(stderr.contains("the socket's directory \(directory) is a symbolic link"), "\(stderr)")
    }

    @Test func accessdMakesAMissingSocketDirectory0750AndServesThere() throws {
        let root = SystemdTestSupport.temporaryDirectory("trusted")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let socket = root + "/run/accessd.sock"
        let daemon = try DaemonProcess.accessd(
            arguments: ["--socket", socket, "--state-dir", root + "/state", "--log-level", "warning"], directory: root)
        #expect(daemon.waitForOutput("listening on"), "\(daemon.stderr)")
        var status = stat()
        #expect(stat(root + "/run", &status) == 0)
        #expect(status.st_mode & 0o7777 & ~0o750 == 0, "mode 0750, less what the umask takes")
        _ = try RawConnection(path: socket)
        daemon.signal(SIGTERM)
        #expect(daemon.wait() == 0, "\(daemon.stderr)")
    }

    static let socketActivate = SystemdTestSupport.tool("systemd-socket-activate")

    @Test(.enabled(if: socketActivate != nil, "systemd-socket-activate is absent (scripts/test.sh installs systemd)"))
    func aSocketSystemdPassesIsNotCheckedWhateverItsDirectory() throws {
        let root = SystemdTestSupport.temporaryDirectory("trust-activate")
        defer { try? FileManager.default.removeItem(atPath: root) }
        chmod(root, 0o777)
        let socket = root + "/activated.sock"
        let binary = try #require(AccessdBinaryTests.binary)
        let daemon = try DaemonProcess(
            executable: Self.socketActivate!,
            arguments: ["-l", socket, "--fdname=accessd", binary.path, "--state-dir", root + "/state"],
            directory: root)
        #expect(SystemdTestSupport.waitForFile(socket), "systemd-socket-activate did not listen")
        // The file appears at bind(), a moment before listen().
        var connection = try? RawConnection(path: socket)
        for _ in 0..<100 where connection == nil {
            usleep(50_000)
            connection = try? RawConnection(path: socket)
        }
        let connected = try #require(connection, "cannot connect to \(socket)")
        let stats = try connected.call(Methods.getStats, Accessd_V1_GetStatsRequest(), id: 1)
        #expect(stats.code == 0, "\(stats.message) \(daemon.stderr)")
        // Calls are answered a moment before accessd has finished starting (and watches for SIGTERM).
        #expect(daemon.waitForOutput("accessd: listening on \(socket)"), "\(daemon.stdout)")
        daemon.signal(SIGTERM)
        #expect(daemon.wait() == 0, "\(daemon.stderr)")
    }

    // MARK: accessctl

    static var accessctl: URL? { AccessdBinaryTests.builtBinary("accessctl") }

    /// A plain listening socket (not accessd) in `root`/run of `mode`, and
    /// what `accessctl stats --socket` says about it.
    func accessctlStats(directoryMode: mode_t, socketOwner: uid_t = 0) throws
        -> (result: (status: Int32, stdout: String, stderr: String), socket: String, directory: String, connected: Bool)
    {
        let root = SystemdTestSupport.temporaryDirectory("ctl-trust")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = root + "/run"
        #expect(mkdir(directory, 0o755) == 0)
        let listener = try ListeningSocket(path: directory + "/accessd.sock")
        _ = chown(listener.path, socketOwner, socketOwner)
        chmod(directory, directoryMode)
        let accessctl = try #require(Self.accessctl, "accessctl is built with the tests")
        let result = try SystemdTestSupport.run(accessctl.path, ["stats", "--socket", listener.path])
        return (result, listener.path, directory, listener.hasPendingConnection)
    }

    @Test func accessctlRefusesASocketInADirectoryOthersCanWrite() throws {
        let (result, socket, directory, connected) = try accessctlStats(directoryMode: 0o777)
        #expect(result.status == 69, "\(result)")  // EX_UNAVAILABLE: the daemon cannot be reached
        #expect(
            result.stderr
                == "error: cannot reach accessd at \(socket): the socket's directory \(directory) is writable by its "
                + "group and others (mode 0777), so they could replace the socket with an impostor; chmod go-w "
                + "\(directory) (accessd creates it mode 0750), or run accessd with --socket in a directory only its "
                + "user can write\n")
        #expect(!connected, "accessctl refused before connecting")
    }

    @Test(.enabled(if: getuid() == 0, "chown needs root"))
    func accessctlRefusesASocketAnotherUserOwns() throws {
        let (result, socket, _, connected) = try accessctlStats(directoryMode: 0o755, socketOwner: 65534)
        #expect(result.status == 69, "\(result)")  // EX_UNAVAILABLE: the daemon cannot be reached
        #expect(
            result.stderr.hasPrefix(
                "error: cannot reach accessd at \(socket): \(socket) belongs to uid 65534, not to root or to you (uid 0)"),
            "\(result.stderr)")
        #expect(!connected, "accessctl refused before connecting")
    }
}
