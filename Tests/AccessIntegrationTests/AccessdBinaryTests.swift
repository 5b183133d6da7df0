import AccessTestSupport
import AccessWire
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The real `accessd` binary on a temporary socket and state directory.
@Suite(.serialized) struct AccessdBinaryTests {
    /// The `accessd` built beside the test bundle.
    static var binary: URL? { builtBinary("accessd") }

    /// An executable of the package built beside the test bundle (`swift build --build-tests` builds them all).
    static func builtBinary(_ name: String) -> URL? { BuiltBinary.url(name) }

    struct Daemon {
        let process: Process
        let socket: String
        let directory: String
        let output: Pipe
    }

    func start(directory: String, arguments extra: [String] = []) throws -> Daemon {
        let binary = try #require(Self.binary, "accessd is built with the tests (swift build --build-tests)")
        let socket = directory + "/run/accessd.sock"
        let process = Process()
        process.executableURL = binary
        process.arguments = ["--socket", socket, "--state-dir", directory + "/state", "--log-level", "warning"] + extra
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        // The daemon prints where it listens once it does.
        var line = ""
        let deadline = Date().addingTimeInterval(10)
        while !line.contains("listening on"), Date() < deadline {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            line += String(decoding: data, as: UTF8.self)
        }
        #expect(line.contains(socket), "accessd said: \(line)")
        return Daemon(process: process, socket: socket, directory: directory, output: output)
    }

    func stop(_ daemon: Daemon) -> Int32 {
        kill(daemon.process.processIdentifier, SIGTERM)
        daemon.process.waitUntilExit()
        return daemon.process.terminationStatus
    }

    @Test func accessdServesOnItsSocketAndKeepsItsStateAcrossARestart() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("accessd-bin-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let first = try start(directory: directory)
        var create = Accessd_V1_CreateAccountRequest()
        create.name = "Acme"
        create.fullAccessLicenses = 2
        create.ownerEmail = "owner@acme.example"
        create.ownerFirstName = "Olga"
        create.ownerLastName = "Owner"
        let created = try RawConnection(path: first.socket).call(Methods.createAccount, create, id: 1)
        #expect(created.code == 0, "\(created.message)")
        let account = try Accessd_V1_CreateAccountResponse(serializedBytes: created.payload).account.id
        #expect(stop(first) == 0)
        #expect(!FileManager.default.fileExists(atPath: first.socket), "accessd removes the socket it created")

        let second = try start(directory: directory)
        var get = Accessd_V1_GetAccountRequest()
        get.accountID = account
        let response = try RawConnection(path: second.socket).call(Methods.getAccount, get, id: 1)
        #expect(response.code == 0, "\(response.message)")
        #expect(try Accessd_V1_Account(serializedBytes: response.payload).name == "Acme")
        #expect(stop(second) == 0)
    }

    @Test func aSecondAccessdOnTheSameStateDirectoryStopsAtStart() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("accessd-lock-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try start(directory: directory)
        let binary = try #require(Self.binary)
        let second = Process()
        second.executableURL = binary
        second.arguments = ["--socket", directory + "/other.sock", "--state-dir", directory + "/state", "--log-level", "warning"]
        let errors = Pipe()
        second.standardError = errors
        second.standardOutput = Pipe()
        try second.run()
        second.waitUntilExit()
        let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(second.terminationStatus == 75, "\(said)")
        #expect(said.contains("in use by another accessd (pid \(first.process.processIdentifier))"), "\(said)")
        #expect(stop(first) == 0)
    }
}
