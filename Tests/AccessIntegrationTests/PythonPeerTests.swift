import AccessTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A non-Swift peer proves the wire format: `scripts/python-peer.py` with
/// Python's protobuf package and modules protoc generates from proto/ now.
@Suite(.serialized) struct PythonPeerTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The Python modules of proto/, generated with protoc into DIRECTORY/python.
    func pythonModules(in directory: String) throws -> String {
        let generated = directory + "/python"
        try FileManager.default.createDirectory(atPath: generated, withIntermediateDirectories: true)
        let root = Self.repository.path
        let protos = try FileManager.default.contentsOfDirectory(atPath: root + "/proto/accessd/v1").filter { $0.hasSuffix(".proto") }
            .map { root + "/proto/accessd/v1/" + $0 }
        let protoc = try run("protoc", ["--python_out=" + generated, "-I" + root + "/proto"] + protos)
        #expect(protoc.status == 0, "protoc (Debian's protobuf-compiler; scripts/test.sh installs it): \(protoc.output)")
        return generated
    }

    @Test func aPythonPeerAddsAUserAndRunsChecksThroughTheSocket() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("accessd-py-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let generated = try pythonModules(in: directory)
        let root = Self.repository.path

        let daemon = AccessdBinaryTests()
        let started = try daemon.start(directory: directory)
        defer { _ = daemon.stop(started) }
        let peer = try run("python3", [root + "/scripts/python-peer.py", started.socket, generated])
        #expect(peer.status == 0, "python-peer.py said:\n\(peer.output)")
        #expect(peer.output.contains("owner SHARE_ACCESS allowed=True"))
        #expect(peer.output.contains("denied_by=R7"))
    }

    /// README, "Where things are": a socket whose directory others can write
    /// may be an impostor's; the peer checks before it connects, as the Swift
    /// and C clients do. The real daemon listens there: only the directory changed.
    @Test func aPythonPeerRefusesTheSocketOnceOthersCanWriteItsDirectory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("accessd-py-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let generated = try pythonModules(in: directory)
        let root = Self.repository.path

        let daemon = AccessdBinaryTests()
        let started = try daemon.start(directory: directory)
        defer { _ = daemon.stop(started) }
        let socketDirectory = directory + "/run"
        chmod(socketDirectory, 0o777)
        let peer = try run("python3", [root + "/scripts/python-peer.py", started.socket, generated])
        #expect(peer.status == 2, "python-peer.py said:\n\(peer.output)")
        #expect(
            peer.output.contains(
                "cannot connect to accessd at \(started.socket): the socket's directory \(socketDirectory) is writable "
                    + "by others than its owner (mode 0777)"),
            "\(peer.output)")
        #expect(!peer.output.contains("created account"), "\(peer.output)")
    }
}
