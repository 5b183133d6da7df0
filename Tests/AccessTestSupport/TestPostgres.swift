import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real PostgreSQL 15 for the tests of the shared log: one server per test
/// process, started on first use from scripts/lib/postgres.sh (initdb and
/// pg_ctl as the postgres user, listening on a Unix socket only), stopped
/// when the process exits. Each test takes a database of its own.
///
/// Everything here awaits and never blocks a thread: the tests share two
/// cooperative threads, and a child process's end is only noticed on one
/// of them.
///
/// The test command installs PostgreSQL (`pg_install`); a machine without it
/// fails these tests with that hint rather than skipping them.
package enum TestPostgres {
    /// The server's directory: `data`, `log`, and `sock` (its socket directory).
    package static func server() async throws -> String {
        try await Starter.shared.directory()
    }

    /// The socket directory to name in `postgresql_hosts`.
    package static func socketDirectory() async throws -> String { try await server() + "/sock" }

    /// A new empty database, owned by postgres (who the tests log in as, trusted on the socket).
    package static func database(_ prefix: String = "t") async throws -> String {
        let name = "\(prefix)_\(UUID().uuidString.prefix(13).lowercased().replacingOccurrences(of: "-", with: ""))"
        try await psql("CREATE DATABASE \(name)")
        return name
    }

    /// Runs SQL as postgres through the socket (in `database`, default postgres); returns psql's output.
    @discardableResult
    package static func psql(_ sql: String, database: String = "postgres") async throws -> String {
        let directory = try await server()
        return try await library("PGDATABASE=\(quote(database)) pg_psql \(quote(directory)) \(quote(sql))")
    }

    private actor Starter {
        static let shared = Starter()
        private var started: Task<String, any Error>?

        func directory() async throws -> String {
            if let started { return try await started.value }
            let task = Task { try await TestPostgres.start() }
            started = task
            return try await task.value
        }
    }

    nonisolated(unsafe) private static var stopCommand: [CChar] = []

    private static func start() async throws -> String {
        // Under /var/tmp, mode 0755: the postgres user must reach it; short enough for the socket path.
        let directory = "/var/tmp/accessd-pg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try await library("pg_init \(quote(directory)) && pg_start \(quote(directory)) '' ''")
        stopCommand = Array(
            "bash -c 'source \(SystemdTestSupport.packageRoot.path)/scripts/lib/postgres.sh && pg_crash \(directory) >/dev/null 2>&1; rm -rf \(directory)'"
                .utf8CString)
        atexit {
            TestPostgres.stopCommand.withUnsafeBufferPointer { command in _ = system(command.baseAddress) }
        }
        return directory
    }

    /// Runs `command` with scripts/lib/postgres.sh sourced; throws with its output when it fails.
    @discardableResult
    private static func library(_ command: String) async throws -> String {
        let script = SystemdTestSupport.packageRoot.path + "/scripts/lib/postgres.sh"
        guard FileManager.default.fileExists(atPath: "/usr/lib/postgresql/15/bin/initdb") else {
            throw Unavailable(
                "PostgreSQL 15 is not installed: the test command installs it (scripts/test.sh: pg_install from scripts/lib/postgres.sh); here run `apt-get install -y postgresql`")
        }
        let (status, output) = try await run("/bin/bash", ["-c", "set -e; source \(quote(script)); \(command)"])
        guard status == 0 else { throw Unavailable("`\(command)` failed (\(status)): \(output)") }
        return output
    }

    /// Runs a program to its end without blocking a thread: spawned with
    /// posix_spawn and reaped by polling waitpid between short sleeps
    /// (Foundation's Process left a shell that had started a server unreaped
    /// here). Its status and what it printed (stdout, then stderr).
    package static func run(_ executable: String, _ arguments: [String]) async throws -> (Int32, String) {
        let directory = SystemdTestSupport.temporaryDirectory("pgrun")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, directory + "/out", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, directory + "/err", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw Unavailable("cannot start \(executable): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped < 0 && errno != EINTR { throw Unavailable("waitpid for \(executable) failed: \(String(cString: strerror(errno)))") }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let out = (try? String(contentsOfFile: directory + "/out", encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: directory + "/err", encoding: .utf8)) ?? ""
        return (exit, out + err)
    }

    package struct Unavailable: Error, CustomStringConvertible {
        package var description: String
        init(_ description: String) { self.description = description }
    }

    private static func quote(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}
