import AccessTestSupport
import AccessWire
import Foundation
import SwiftProtobuf
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The real `accessd` on a temporary socket that any local uid may open (the
/// socket 0666 in a 0755 directory, as a deployment whose socket group holds
/// every service), with `scripts/hostile-peer.py` run as unprivileged uids
/// through setpriv, and the daemon's memory and CPU read from /proc. The
/// tests need root (they are skipped otherwise).
final class HostileRig {
    static let enabled = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")

    static var script: String { SystemdTestSupport.packageRoot.appendingPathComponent("scripts/hostile-peer.py").path }

    let directory: String
    let socket: String
    let daemon: DaemonProcess
    var pid: Int32 { daemon.process.processIdentifier }
    /// The account and owner `setUp` made.
    private(set) var account = ""
    private(set) var owner = ""

    /// - Parameters:
    ///   - config: config-file lines.
    ///   - wrapper: a command the daemon runs under (for example `prlimit --nofile=96:96 --`).
    init(config: String = "", wrapper: [String] = []) throws {
        directory = SystemdTestSupport.temporaryDirectory("hostile")
        chmod(directory, 0o755)
        socket = directory + "/run/accessd.sock"
        let configPath = directory + "/accessd.conf"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let binary = try #require(AccessdBinaryTests.binary, "accessd is built with the tests").path
        let arguments = ["--socket", socket, "--state-dir", directory + "/state", "--config", configPath, "--log-level", "notice"]
        if wrapper.isEmpty {
            daemon = try DaemonProcess(executable: binary, arguments: arguments, directory: directory)
        } else {
            daemon = try DaemonProcess(
                executable: wrapper[0], arguments: Array(wrapper.dropFirst()) + [binary] + arguments, directory: directory)
        }
        guard daemon.waitForOutput("listening on") else {
            throw RawConnection.Failure(description: "accessd did not start: \(daemon.stderr)")
        }
        chmod(directory + "/run", 0o755)
        chmod(socket, 0o666)
    }

    deinit {
        daemon.signal(SIGTERM)
        _ = daemon.wait(timeout: 20)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// An account with its owner, made as root.
    func setUp() throws {
        let connection = try RawConnection(path: socket)
        var create = Accessd_V1_CreateAccountRequest()
        create.name = "Acme"
        create.fullAccessLicenses = 5
        create.ownerEmail = "olga@acme.example"
        create.ownerFirstName = "Olga"
        create.ownerLastName = "Owner"
        let response = try connection.call(Methods.createAccount, create, id: 1)
        guard response.code == 0 else { throw RawConnection.Failure(description: response.message) }
        let created = try Accessd_V1_CreateAccountResponse(serializedBytes: response.payload)
        account = created.account.id
        owner = created.owner.id
    }

    // MARK: The daemon, from /proc

    /// A `kB` line of /proc/PID/status (VmHWM: the peak resident memory; VmRSS).
    func statusKiB(_ key: String) -> Int {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return 0
    }

    /// CPU seconds the daemon has used (user + system).
    func cpuSeconds() -> Double {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime 14, stime 15 (1-based), so 11 and 12 here.
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The limit line of /proc/PID/limits for open files: (soft, hard).
    func openFilesLimit() -> (soft: String, hard: String) {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix("Max open files") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            return (String(parts[3]), String(parts[4]))
        }
        return ("?", "?")
    }

    // MARK: Peers

    /// `scripts/hostile-peer.py` as `uid` (and `gid`, with supplementary `groups`).
    func peer(_ arguments: [String], uid: UInt32 = 65534, gid: UInt32 = 65534, groups: [UInt32] = []) throws -> DaemonProcess {
        let groupFlag = groups.isEmpty ? "--clear-groups" : "--groups=" + groups.map(String.init).joined(separator: ",")
        return try DaemonProcess(
            executable: "/usr/bin/setpriv",
            arguments: ["--reuid=\(uid)", "--regid=\(gid)", groupFlag, "/usr/bin/python3", Self.script] + arguments,
            directory: directory)
    }

    /// Runs a peer to its end and decodes its JSON line.
    func run(_ arguments: [String], uid: UInt32 = 65534, gid: UInt32 = 65534, groups: [UInt32] = [], timeout: Double = 60) throws
        -> [String: Any]
    {
        let process = try peer(arguments, uid: uid, gid: gid, groups: groups)
        _ = process.wait(timeout: timeout)
        return try Self.json(process)
    }

    static func json(_ process: DaemonProcess) throws -> [String: Any] {
        let line = process.stdout.split(separator: "\n").first.map(String.init) ?? ""
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw RawConnection.Failure(description: "the peer printed \(process.stdout), stderr \(process.stderr)")
        }
        return object
    }

    /// One call from a peer of `uid`: its code and message.
    func call(_ request: Accessd_V1_Request, uid: UInt32 = 65534, gid: UInt32 = 65534, groups: [UInt32] = []) throws
        -> (code: Int, message: String, payload: [UInt8])
    {
        let result = try run(["call", socket, Self.hex(try Self.frame(request))], uid: uid, gid: gid, groups: groups)
        let payload = Self.bytes(fromHex: result["payload"] as? String ?? "")
        return (result["code"] as? Int ?? -1, result["message"] as? String ?? "", payload)
    }

    // MARK: Frames

    static func request(_ method: String, _ payload: some SwiftProtobuf.Message, id: UInt64 = 1, actor: String = "") throws
        -> Accessd_V1_Request
    {
        try Accessd_V1_Request(id: id, method: method, payload, actor: actor)
    }

    static func frame(_ request: Accessd_V1_Request) throws -> [UInt8] {
        var frame = Accessd_V1_ClientFrame()
        frame.request = request
        let body: [UInt8] = try frame.serializedBytes()
        let length = UInt32(body.count)
        return [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)] + body
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func bytes(fromHex hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
            out.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        return out
    }

    /// Writes `bytes` to a file the peer can read, for frames too long for a command line (`@FILE`).
    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o644)
        return "@" + path
    }

    // MARK: Checks from another connection

    /// A Check frame for the owner (allowed).
    func checkRequest(id: UInt64) throws -> Accessd_V1_Request {
        var check = Accessd_V1_CheckRequest()
        check.user = owner
        check.accountID = account
        check.permission = .editAccountSettings
        return try Self.request(Methods.check.path, check, id: id)
    }

    /// Checks one after another from a connection of root's for `seconds`:
    /// each one's time to its answer, in milliseconds.
    func checkLatencies(for seconds: Double) throws -> [Double] {
        let connection = try RawConnection(path: socket)
        var latencies: [Double] = []
        let end = Date().addingTimeInterval(seconds)
        var id: UInt64 = 1
        while Date() < end {
            let started = DispatchTime.now().uptimeNanoseconds
            try connection.send(try checkRequest(id: id))
            let response = try connection.readResponse(timeout: 5)
            guard response.code == 0 else { throw RawConnection.Failure(description: "Check failed: \(response.message)") }
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6)
            id += 1
            usleep(5_000)
        }
        return latencies
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
    }

    /// One line for the closing note: a Check's p99 and max during an attack, beside idle.
    static func report(_ name: String, idle: [Double], attack: [Double], hwmKiB: Int) {
        print(
            String(
                format: "RESULT name=hostile-%@ check_p99_idle_ms=%.2f check_p99_attack_ms=%.2f check_max_attack_ms=%.2f checks=%d vmhwm_growth_mib=%.1f",
                name, percentile(idle, 0.99), percentile(attack, 0.99), attack.max() ?? 0, attack.count, Double(hwmKiB) / 1024))
    }
}
