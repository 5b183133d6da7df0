package import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A datagram socket the test owns, standing in for systemd's notify socket.
package final class NotifySocket {
    package let fd: Int32
    package let path: String
    package private(set) var received: [String] = []

    package init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8.prefix($0.count - 1))) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw RawConnection.Failure(description: "bind(\(path)) failed: errno \(errno)") }
    }

    /// An abstract socket (`@name` in `$NOTIFY_SOCKET`).
    package init(abstractName: String) throws {
        path = "@" + abstractName
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = [UInt8(0)] + Array(abstractName.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw RawConnection.Failure(description: "bind(@\(abstractName)) failed: errno \(errno)") }
    }

    deinit {
        close(fd)
        if !path.hasPrefix("@") { unlink(path) }
    }

    /// The next datagram, or nil after `timeout` seconds.
    package func receive(timeout: Double) -> String? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(max(0, timeout) * 1000)) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { return nil }
        let message = String(decoding: buffer[0..<count], as: UTF8.self)
        received.append(message)
        return message
    }

    /// Reads until a datagram holds `line` as one of its lines; nil after `timeout` seconds.
    package func waitFor(_ line: String, timeout: Double = 10) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let message = receive(timeout: deadline.timeIntervalSinceNow),
                message.split(separator: "\n").contains(where: { $0 == line })
            {
                return message
            }
        }
        return nil
    }
}

/// The real `accessd` (or a wrapper such as `systemd-socket-activate`) with
/// its stdout and stderr in files, so a test reads the logs it wrote.
package final class DaemonProcess {
    package let process = Process()
    package let stdoutPath: String
    package let stderrPath: String

    /// `journalStream`: set `$JOURNAL_STREAM` to the stderr file's `device:inode`, as systemd does for the journal.
    package init(
        executable: String, arguments: [String], environment: [String: String] = [:], directory: String,
        journalStream: Bool = false
    ) throws {
        stdoutPath = directory + "/stdout-\(UUID().uuidString.prefix(6)).log"
        stderrPath = directory + "/stderr-\(UUID().uuidString.prefix(6)).log"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "JOURNAL_STREAM"] {
            merged[name] = nil
        }
        for (key, value) in environment { merged[key] = value }
        if journalStream {
            var status = stat()
            guard stat(stderrPath, &status) == 0 else { throw RawConnection.Failure(description: "stat \(stderrPath)") }
            merged["JOURNAL_STREAM"] = "\(status.st_dev):\(status.st_ino)"
        }
        process.environment = merged
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
    }

    /// `accessd` built beside the tests.
    package static func accessd(
        arguments: [String], environment: [String: String] = [:], directory: String, journalStream: Bool = false
    ) throws -> DaemonProcess {
        let binary = try #require(BuiltBinary.url("accessd"), "accessd is built with the tests (swift build --build-tests)")
        return try DaemonProcess(
            executable: binary.path, arguments: arguments, environment: environment, directory: directory,
            journalStream: journalStream)
    }

    package var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    package var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits until stderr (or stdout) contains `text`; false after `timeout` seconds or when the process ended.
    @discardableResult
    package func waitForOutput(_ text: String, timeout: Double = 15) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if stderr.contains(text) || stdout.contains(text) { return true }
            if !process.isRunning { return stderr.contains(text) || stdout.contains(text) }
            usleep(20_000)
        }
        return false
    }

    package func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// The exit status; SIGKILLs the process after `timeout` seconds and returns -1.
    package func wait(timeout: Double = 30) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return -1
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// The package's executables, built beside the test bundle (`swift build --build-tests` builds them all).
package enum BuiltBinary {
    /// The executable `name` (accessd, accessctl, accessd-bench, ...), or nil when it is not built.
    package static func url(_ name: String) -> URL? {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }
}

/// Directories, tools and processes for the tests that run programs.
package enum SystemdTestSupport {
    /// A fresh directory under /tmp (short: Unix socket paths hold 107 bytes), mode 0755
    /// whatever the umask: clients and accessd refuse a socket in a directory others can write.
    package static func temporaryDirectory(_ name: String) -> String {
        let path = "/tmp/accessd-\(name)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        return path
    }

    /// The package's root (for scripts/ and the README).
    package static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// A program found on PATH or in /usr/bin, or nil.
    package static func tool(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") + ["/usr/bin", "/bin"] {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs a program to its end; returns its status and what it printed on stdout and stderr.
    package static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws
        -> (status: Int32, stdout: String, stderr: String)
    {
        let directory = temporaryDirectory("run")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let process = try DaemonProcess(executable: executable, arguments: arguments, environment: environment ?? [:], directory: directory)
        let status = process.wait(timeout: 120)
        return (status, process.stdout, process.stderr)
    }

    /// Waits until a file exists at `path`.
    package static func waitForFile(_ path: String, timeout: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: path) { return true }
            usleep(20_000)
        }
        return false
    }
}
