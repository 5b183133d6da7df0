import AccessClient
import AccessTestSupport
import AccessWire
import Foundation
import SwiftProtobuf
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The C client library (clients/c, protobuf-c) against the real `accessd`:
/// the same calls made from C and from `AccessClient`, each through a relay
/// that records every byte, get byte-for-byte the same replies from the
/// daemon (and were byte-for-byte the same requests).
///
/// The C side is `accessd-client-test --replay`, built here with the
/// project's Makefile; the test is skipped only when protoc-c or
/// libprotobuf-c is missing (scripts/test.sh installs them). The C library's
/// own test is scripts/test-c-client.sh.
@Suite(.serialized) struct CClientTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func run(_ executable: String, _ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// protoc-c and libprotobuf-c (Debian's protobuf-c-compiler and libprotobuf-c-dev) are here.
    static var protobufCPresent: Bool {
        guard let which = try? run("sh", ["-c", "command -v protoc-c && command -v make && pkg-config --exists libprotobuf-c"])
        else { return false }
        return which.status == 0
    }

    /// One call: the method, who it acts for, the encoded request.
    struct Call {
        var method: String
        var actor: String
        var payload: [UInt8]

        init(_ method: String, _ request: some SwiftProtobuf.Message, actor: String = "") throws {
            self.method = method
            self.actor = actor
            self.payload = try request.serializedBytes()
        }

        var line: String {
            "\(method) \(actor.isEmpty ? "-" : actor) \(payload.isEmpty ? "-" : payload.hex)"
        }
    }

    /// What a client made of one reply: the code, and the payload (OK) or message.
    struct Outcome: Equatable, CustomStringConvertible {
        var code: UInt32
        var payload: [UInt8]
        var message: String
        var description: String { "\(code) \(payload.isEmpty ? "-" : payload.hex) \(message)" }
    }

    @Test(.enabled(if: CClientTests.protobufCPresent, "protoc-c, make or libprotobuf-c missing (scripts/test.sh installs them)"))
    func theDaemonSendsTheCClientTheBytesItSendsTheSwiftClient() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("accessd-c-\(UUID().uuidString.prefix(8))").path
        // Mode 0755 whatever the umask: the clients refuse the relay's socket in a directory others can write.
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let root = Self.repository.path
        let build = directory + "/c-build"
        let make = try Self.run("make", ["-C", root + "/clients/c", "BUILD=" + build, build + "/accessd-client-test"])
        try #require(make.status == 0, "make -C clients/c failed:\n\(make.output)")

        let binary = AccessdBinaryTests()
        let daemon = try binary.start(directory: directory)
        defer { _ = binary.stop(daemon) }

        // The state both clients read: set up first, on its own connection.
        let setup = try await AccessClient.connect(socketPath: daemon.socket)
        var create = Accessd_V1_CreateAccountRequest()
        create.name = "Acme"
        create.fullAccessLicenses = 2
        create.ownerEmail = "olga@acme.example"
        create.ownerFirstName = "Olga"
        create.ownerLastName = "Owner"
        let created = try await setup.call(
            Methods.createAccount, create)
        let account = created.account.id
        var ada = Accessd_V1_AddUserRequest()
        ada.accountID = account
        ada.email = "ada@acme.example"
        ada.firstName = "Ada"
        ada.lastName = "Lovelace"
        ada.role = "Member"
        let adaID = try await setup.call(
            Methods.addUser, ada, options: CallOptions(actor: "olga@acme.example")).user.id
        var vic = ada
        vic.email = "vic@acme.example"
        vic.role = "Viewer"
        _ = try await setup.call(
            Methods.addUser, vic, options: CallOptions(actor: "olga@acme.example"))
        await setup.close()

        // Reads and refused writes only: both clients see the same state.
        var check = Accessd_V1_CheckRequest()
        check.user = "olga@acme.example"
        check.accountID = account
        check.permission = .shareAccess
        var pendingCheck = check
        pendingCheck.user = adaID
        var getUser = Accessd_V1_GetUserRequest()
        getUser.userID = adaID
        var getNobody = Accessd_V1_GetUserRequest()
        getNobody.userID = "usr_nobody"
        var listUsers = Accessd_V1_ListUsersRequest()
        listUsers.accountID = account
        var bob = ada
        bob.email = "bob@acme.example"
        let calls = [
            try Call(Methods.check.path, check),
            try Call(Methods.check.path, pendingCheck),
            try Call(Methods.getUser.path, getUser),
            try Call(Methods.getUser.path, getNobody),
            try Call(Methods.listUsers.path, listUsers, actor: "olga@acme.example"),
            try Call(Methods.listOutbox.path, Accessd_V1_ListOutboxRequest()),
            try Call(Methods.addUser.path, bob, actor: "vic@acme.example"),
            try Call(Methods.addUser.path, bob, actor: "olga@acme.example"),
            try Call(Methods.createAccount.path, create, actor: "olga@acme.example"),
            try Call("/accessd.v1.AccessService/Nothing", check),
        ]

        let relay = try RecordingRelay(path: directory + "/relay.sock", target: daemon.socket)
        relay.start(connections: 2)

        // From C: accessd-client-test --replay, one line per reply.
        let replay = try Self.run(
            build + "/accessd-client-test", ["--replay", relay.path], input: calls.map(\.line).joined(separator: "\n") + "\n")
        #expect(replay.status == 0, "accessd-client-test --replay said:\n\(replay.output)")
        let fromC = replay.output.split(separator: "\n").map { line -> Outcome in
            let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            return Outcome(
                code: UInt32(parts[0]) ?? 99, payload: parts.count > 1 ? [UInt8](hex: String(parts[1])) : [],
                message: parts.count > 2 ? String(parts[2]) : "")
        }

        // From Swift: AccessClient, the same calls in the same order on a fresh connection.
        let client = try await AccessClient.connect(socketPath: relay.path)
        var fromSwift: [Outcome] = []
        for call in calls {
            do {
                let reply = try await client.call(call.method, payload: call.payload, options: CallOptions(actor: call.actor))
                fromSwift.append(Outcome(code: 0, payload: reply.payload, message: ""))
            } catch let error as CallError {
                fromSwift.append(Outcome(code: error.code.wire, payload: [], message: error.message))
            }
        }
        await client.close()

        let conversations = try await relay.finished(timeout: .seconds(10))
        try #require(conversations.count == 2, "the relay saw \(conversations.count) connections")
        let (c, swift) = (conversations[0], conversations[1])

        #expect(fromC == fromSwift, "C:\n\(fromC.map(\.description).joined(separator: "\n"))\nSwift:\n\(fromSwift.map(\.description).joined(separator: "\n"))")
        #expect(Set(fromSwift.map(\.code)) == [0, 5, 7, 8, 12], "OK, NOT_FOUND, PERMISSION_DENIED, RESOURCE_EXHAUSTED, UNIMPLEMENTED")
        #expect(c.fromDaemon.count > 1000, "the daemon's replies: \(c.fromDaemon.count) bytes")
        #expect(c.fromDaemon.hex == swift.fromDaemon.hex, "the daemon's reply bytes to C (first) and to Swift differ")
        #expect(c.toDaemon.hex == swift.toDaemon.hex, "the request bytes of C (first) and Swift differ")
        #expect(Self.frameCount(c.fromDaemon) == calls.count, "one reply frame per call")
    }

    /// How many whole frames `bytes` holds.
    static func frameCount(_ bytes: [UInt8]) -> Int {
        var offset = 0
        var count = 0
        while offset + 4 <= bytes.count {
            let length = Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            offset += 4 + length
            if offset <= bytes.count { count += 1 }
        }
        return count
    }
}

/// A Unix socket that forwards each connection to the daemon and records the
/// bytes both ways, one connection after another, on a thread of its own.
final class RecordingRelay: @unchecked Sendable {
    struct Conversation {
        var toDaemon: [UInt8] = []
        var fromDaemon: [UInt8] = []
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let path: String
    private let target: String
    private let listener: Int32
    private let lock = NSLock()
    private var conversations: [Conversation] = []
    private var done = false

    init(path: String, target: String) throws {
        self.path = path
        self.target = target
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw Failure(description: "socket() failed") }
        var address = Self.address(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(listener, 4) == 0 else {
            close(listener)
            throw Failure(description: "cannot listen on \(path): errno \(errno)")
        }
    }

    deinit { close(listener) }

    static func address(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8.prefix(raw.count - 1)))
        }
        return address
    }

    /// Serves `connections` connections in turn, then stops.
    func start(connections: Int) {
        let thread = Thread { [self] in
            for _ in 0..<connections {
                var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 30_000) > 0 else { break }
                let client = accept(listener, nil, nil)
                guard client >= 0 else { break }
                let conversation = relay(client)
                close(client)
                lock.withLock { conversations.append(conversation) }
            }
            lock.withLock { done = true }
        }
        thread.start()
    }

    /// Every conversation, once the relay has served them all.
    func finished(timeout: Duration) async throws -> [Conversation] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let all = lock.withLock({ done ? conversations : nil }) { return all }
            try await Task.sleep(for: .milliseconds(20))
        }
        return lock.withLock { conversations }
    }

    /// Forwards between the client and a new connection to the daemon until the client hangs up.
    private func relay(_ client: Int32) -> Conversation {
        var conversation = Conversation()
        let daemon = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(daemon) }
        var address = Self.address(target)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(daemon, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { return conversation }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: daemon, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 2, 30_000) > 0 else { return conversation }
            for (index, from, to) in [(0, client, daemon), (1, daemon, client)] where fds[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { recv(from, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { return conversation }
                let bytes = Array(buffer[0..<count])
                if index == 0 { conversation.toDaemon += bytes } else { conversation.fromDaemon += bytes }
                var sent = 0
                while sent < count {
                    let written = bytes[sent...].withUnsafeBytes { send(to, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    guard written > 0 else { return conversation }
                    sent += written
                }
            }
        }
    }
}

extension [UInt8] {
    var hex: String { map { String(format: "%02x", $0) }.joined() }

    init(hex: String) {
        guard hex != "-" else {
            self = []
            return
        }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex), index < hex.endIndex {
            bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        self = bytes
    }
}
