import AccessTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real `accessd` on a temporary socket and the real `accessctl` run as
/// a process against it: what the walkthrough and the command-line tests share.
struct AccessctlRig {
    /// A binary built beside the test bundle.
    static func binary(_ name: String) -> URL? {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }

    struct Daemon {
        let process: Process
        let socket: String
    }

    /// A fresh directory under the temporary directory, for one test.
    static func temporaryDirectory(_ name: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("accessctl-\(name)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    func startDaemon(directory: String) throws -> Daemon {
        let binary = try #require(Self.binary("accessd"), "accessd is built with the tests (swift build --build-tests)")
        let socket = directory + "/run/accessd.sock"
        let process = Process()
        process.executableURL = binary
        // An empty config file: nothing on this machine changes the daemon.
        let config = directory + "/accessd-daemon.conf"
        _ = FileManager.default.createFile(atPath: config, contents: Data())
        process.arguments = [
            "--config", config, "--socket", socket, "--state-dir", directory + "/state", "--log-level", "warning",
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var text = ""
        let deadline = Date().addingTimeInterval(10)
        while !text.contains("listening on"), Date() < deadline {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        #expect(text.contains("accessd: listening on \(socket)"), "accessd said: \(text)")
        return Daemon(process: process, socket: socket)
    }

    func stop(_ daemon: Daemon) -> Int32 {
        kill(daemon.process.processIdentifier, SIGTERM)
        daemon.process.waitUntilExit()
        return daemon.process.terminationStatus
    }

    struct Outcome: CustomStringConvertible {
        var status: Int32
        var stdout: String
        var stderr: String
        /// How long the run took.
        var seconds: Double

        var description: String { "exit \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
    }

    /// Runs accessctl with `arguments`, the daemon's socket in `$ACCESSD_SOCKET`
    /// (none when `socket` is nil), `environment` added (a nil value removes a
    /// variable), as uid and gid `user` (through setpriv, without groups) when given.
    func accessctl(
        _ arguments: [String],
        socket: String?,
        directory: String,
        environment extra: [String: String?] = [:],
        user: UInt32? = nil
    ) throws -> Outcome {
        let binary = try #require(Self.binary("accessctl"), "accessctl is built with the tests")
        let process = Process()
        if let user {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=\(user)", "--regid=\(user)", "--clear-groups", binary.path] + arguments
        } else {
            process.executableURL = binary
            process.arguments = arguments
        }
        var environment = ProcessInfo.processInfo.environment
        // Nothing of this machine's: no config file but the one a test names.
        environment["ACCESSD_SOCKET"] = socket
        environment["ACCESSD_CONFIG"] = nil
        environment["XDG_CONFIG_HOME"] = directory + "/no-config"
        for (name, value) in extra { environment[name] = value }
        process.environment = environment
        // Files, not pipes: no output size can block the child.
        let out = directory + "/ctl.out"
        let err = directory + "/ctl.err"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        let outHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        process.standardOutput = outHandle
        process.standardError = errHandle
        let start = Date()
        try process.run()
        process.waitUntilExit()
        let seconds = Date().timeIntervalSince(start)
        try outHandle.close()
        try errHandle.close()
        return Outcome(
            status: process.terminationStatus,
            stdout: try String(contentsOfFile: out, encoding: .utf8),
            stderr: try String(contentsOfFile: err, encoding: .utf8),
            seconds: seconds
        )
    }
}
