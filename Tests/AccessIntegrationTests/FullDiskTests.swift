import AccessTestSupport
import AccessWire
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The real daemon on a small real filesystem (a 4 MiB tmpfs) that fills up:
/// writes get UNAVAILABLE naming the full disk, reads keep working, nothing
/// acknowledged is lost, and writes succeed again once there is room. Needs
/// root and a kernel that lets it mount tmpfs (the simulated disk of
/// PowerLossTests covers the same path everywhere).
@Suite(.serialized) struct FullDiskTests {
    let binary = AccessdBinaryTests()

    static func run(_ tool: String, _ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    /// Whether this machine lets the tests mount a tmpfs.
    static let canMount: Bool = {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/bin/mount") else { return false }
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent("accessd-mount-probe-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe]) else { return false }
        return run("/bin/umount", [probe])
    }()

    func createAccount(_ connection: RawConnection, _ n: Int) throws -> (Accessd_V1_Response, String) {
        var create = Accessd_V1_CreateAccountRequest()
        create.name = "Full disk \(n) " + String(repeating: "x", count: 150)
        create.fullAccessLicenses = 1
        create.ownerEmail = "owner\(n)@full.example"
        create.ownerFirstName = "Owner"
        create.ownerLastName = "Number\(n)"
        return (try connection.call(Methods.createAccount, create, id: UInt64(n + 1)), create.name)
    }

    @Test(.enabled(if: FullDiskTests.canMount))
    func aFullFilesystemRefusesWritesKeepsReadsAndRecoversWhenThereIsRoom() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("accessd-full-\(UUID().uuidString.prefix(8))").path
        let mountPoint = directory + "/fs"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        try #require(Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mountPoint]))
        defer {
            _ = Self.run("/bin/umount", [mountPoint])
            try? FileManager.default.removeItem(atPath: directory)
        }
        // Leave about 256 KiB free.
        var status = statvfs()
        #expect(statvfs(mountPoint, &status) == 0)
        let free = Int(status.f_bavail) * Int(status.f_frsize)
        let filler = mountPoint + "/filler"
        #expect(FileManager.default.createFile(atPath: filler, contents: Data(count: max(0, free - 256 * 1024))))

        let daemon = try binary.start(directory: directory, arguments: ["--state-dir", mountPoint + "/state"])
        let connection = try RawConnection(path: daemon.socket)
        var acknowledged: [String: String] = [:]
        var refusal: Accessd_V1_Response?
        for n in 0..<10_000 {
            let (response, name) = try createAccount(connection, n)
            if response.code == 0 {
                acknowledged[try Accessd_V1_CreateAccountResponse(serializedBytes: response.payload).account.id] = name
            } else {
                refusal = response
                break
            }
        }
        let refused = try #require(refusal, "the filesystem filled up")
        #expect(refused.code == 14, "UNAVAILABLE: \(refused.message)")
        #expect(refused.message.contains("No space left on device"), "\(refused.message)")
        #expect(acknowledged.count > 10)

        // Reads keep working and see every acknowledged write.
        for (n, (id, name)) in acknowledged.enumerated() {
            var get = Accessd_V1_GetAccountRequest()
            get.accountID = id
            let response = try connection.call(Methods.getAccount, get, id: UInt64(20_000 + n))
            #expect(response.code == 0 && (try? Accessd_V1_Account(serializedBytes: response.payload).name) == name)
        }
        // Still full: still refused, and the daemon stays up.
        #expect(try createAccount(connection, 50_000).0.code == 14)

        // Room again: writes succeed.
        try FileManager.default.removeItem(atPath: filler)
        let (after, name) = try createAccount(connection, 60_000)
        #expect(after.code == 0, "\(after.message)")
        acknowledged[try Accessd_V1_CreateAccountResponse(serializedBytes: after.payload).account.id] = name
        #expect(binary.stop(daemon) == 0)

        // Everything acknowledged is there after a restart.
        let again = try binary.start(directory: directory, arguments: ["--state-dir", mountPoint + "/state"])
        let check = try RawConnection(path: again.socket)
        var lost = 0
        for (n, (id, name)) in acknowledged.enumerated() {
            var get = Accessd_V1_GetAccountRequest()
            get.accountID = id
            let response = try check.call(Methods.getAccount, get, id: UInt64(n + 1))
            if response.code != 0 || (try? Accessd_V1_Account(serializedBytes: response.payload).name) != name { lost += 1 }
        }
        #expect(lost == 0, "\(lost) of \(acknowledged.count) acknowledged writes are gone")
        #expect(binary.stop(again) == 0)
    }
}
