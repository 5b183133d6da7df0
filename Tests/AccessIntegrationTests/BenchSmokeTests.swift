import AccessTestSupport
import Foundation
import Testing

/// `accessd-bench` against the real `accessd` for a second per mix, so the
/// load generator behind BENCHMARKS.md cannot rot (issue 6: the benchmarks
/// are not part of the test command; this smoke run is). It checks that every
/// mix loads its data set, makes calls without errors and prints its RESULT
/// line; it asserts no speed.
@Suite(.serialized) struct BenchSmokeTests {
    private func bench(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let binary = AccessdBinaryTests.builtBinary("accessd-bench")
        let executable: URL = try #require(binary, "accessd-bench is built with the tests (swift build --build-tests)")
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The value of `key=` in the RESULT line named `name`.
    private func field(_ key: String, of name: String, in output: String) -> String? {
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("RESULT name=\(name) ") }) else { return nil }
        return line.split(separator: " ").first { $0.hasPrefix("\(key)=") }.map { String($0.dropFirst(key.count + 1)) }
    }

    @Test func everyMixRunsAgainstTheRealDaemonAndPrintsItsResult() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("accessd-benchsmoke-\(UUID().uuidString.prefix(8))").path
        // Mode 0755 whatever the umask: accessd refuses a socket directory others can write.
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/accessd.sock"
        let daemon = try DaemonProcess.accessd(
            arguments: ["--socket", socket, "--state-dir", directory + "/state", "--log-level", "warning"], directory: directory)
        defer {
            daemon.signal(SIGTERM)
            _ = daemon.wait()
        }
        #expect(daemon.waitForOutput("listening on"), "accessd started: \(daemon.stderr)")

        let ids = directory + "/ids"
        let setup = try bench([
            "--socket", socket, "--setup", "users=300,accounts=30", "--save-ids", ids, "--conns", "4", "--depth", "4",
            "--seconds", "1", "--warmup", "0.2",
        ])
        #expect(setup.status == 0, "\(setup.output)")
        #expect(field("failed_calls", of: "setup", in: setup.output) == "0", "\(setup.output)")
        #expect(field("errors", of: "check", in: setup.output) == "0", "\(setup.output)")
        #expect(Int(field("calls", of: "check", in: setup.output) ?? "") ?? 0 > 0, "\(setup.output)")
        for key in ["rps", "p50_us", "p99_us", "p999_us"] {
            #expect(field(key, of: "check", in: setup.output) != nil, "the RESULT line has \(key): \(setup.output)")
        }

        for mix in ["mixed", "writes"] {
            let run = try bench([
                "--socket", socket, "--ids", ids, "--mix", mix, "--conns", "4", "--seconds", "1", "--warmup", "0.2",
            ])
            #expect(run.status == 0, "\(mix): \(run.output)")
            #expect(field("errors", of: mix, in: run.output) == "0", "\(mix): \(run.output)")
            #expect(Int(field("calls", of: mix, in: run.output) ?? "") ?? 0 > 0, "\(mix): \(run.output)")
        }
    }
}
