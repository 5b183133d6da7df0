import AccessStore
import AccessTestSupport
import Foundation
import Testing

@testable import AccessDaemon

/// Issue 5: the unit files under scripts/systemd pass `systemd-analyze verify`
/// with no output, score at most 2.0 in `systemd-analyze security` (the score
/// the README states), and carry what an operator expects; scripts/install.sh
/// lays them out so that systemd-sysusers and systemctl enable work.
@Suite(.serialized) struct SystemdUnitFileTests {
    static let analyze = SystemdTestSupport.tool("systemd-analyze")
    static var units: URL { SystemdTestSupport.packageRoot.appendingPathComponent("scripts/systemd") }

    func unit(_ name: String) throws -> String {
        try String(contentsOf: Self.units.appendingPathComponent(name), encoding: .utf8)
    }

    /// `Key=value` lines of a unit file, comments left out.
    func settings(_ text: String) -> [(key: String, value: String)] {
        text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), !line.hasPrefix("["), let equals = line.firstIndex(of: "=") else { return nil }
            return (String(line[..<equals]), String(line[line.index(after: equals)...]))
        }
    }

    /// scripts/install.sh into a fresh root that also holds systemd's own units
    /// and /bin/kill, as a Debian host does.
    func installedRoot() throws -> String {
        let root = SystemdTestSupport.temporaryDirectory("root")
        let binaries = try #require(AccessdBinaryTests.binary).deletingLastPathComponent().path
        let install = SystemdTestSupport.packageRoot.appendingPathComponent("scripts/install.sh").path
        let result = try SystemdTestSupport.run("/bin/bash", [install, "--root", root, "--binaries", binaries])
        #expect(result.status == 0, "\(result.stderr)")
        try FileManager.default.createDirectory(atPath: root + "/usr/lib/systemd", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/usr/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "/usr/lib/systemd/system", toPath: root + "/usr/lib/systemd/system")
        try FileManager.default.copyItem(atPath: "/usr/bin/kill", toPath: root + "/usr/bin/kill")
        try FileManager.default.createSymbolicLink(atPath: root + "/bin", withDestinationPath: "usr/bin")
        return root
    }

    @Test(.enabled(if: analyze != nil, "systemd-analyze is absent (scripts/test.sh installs systemd)"))
    func systemdAnalyzeVerifyPrintsNothingForTheInstalledUnits() throws {
        let root = try installedRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let result = try SystemdTestSupport.run(Self.analyze!, ["verify", "--root=\(root)", "accessd.service", "accessd.socket"])
        #expect(result.status == 0)
        #expect(result.stdout.isEmpty && result.stderr.isEmpty, "verify printed:\n\(result.stdout)\(result.stderr)")
    }

    @Test(.enabled(if: analyze != nil, "systemd-analyze is absent (scripts/test.sh installs systemd)"))
    func systemdAnalyzeSecurityScoresAtMostTwoAndTheReadmeSaysTheScore() throws {
        // Issue 13: allowing setpriority costs 0.1 (0.4 before); the issue asks for 0.5 or better.
        let service = Self.units.appendingPathComponent("accessd.service").path
        let result = try SystemdTestSupport.run(
            Self.analyze!, ["security", "--offline=true", "--threshold=20", "--no-pager", service])
        #expect(result.status == 0, "exposure above 2.0:\n\(result.stdout)\(result.stderr)")
        let overall = try #require(
            (result.stdout + result.stderr).split(separator: "\n").first { $0.contains("Overall exposure level") })
        let score = try #require(overall.split(separator: " ").compactMap { Double($0) }.first, "\(overall)")
        #expect(score <= 2.0, "\(overall)")
        #expect(score <= 0.5, "issue 13 keeps the exposure at 0.5 or better: \(overall)")
        let readme = try String(
            contentsOf: SystemdTestSupport.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("exposure level \(String(format: "%.1f", score))"), "the README states the score: \(overall)")
    }

    /// Issue 15: the drop-in for a shared log in PostgreSQL, installed as an
    /// example and put where an operator puts it, verifies clean, keeps the
    /// exposure at 2.0 or better (the README says its score), and opens only
    /// what the log needs: TCP, to the addresses allowed, and the password as
    /// a credential.
    @Test(.enabled(if: analyze != nil, "systemd-analyze is absent (scripts/test.sh installs systemd)"))
    func theSharedLogDropInVerifiesScoresAndOpensOnlyWhatTheLogNeeds() throws {
        let root = try installedRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let example = root + "/usr/local/share/doc/accessd/examples/shared-log.conf"
        #expect(FileManager.default.fileExists(atPath: example), "install.sh installs the drop-in as an example")
        #expect(!FileManager.default.fileExists(atPath: root + "/etc/systemd/system/accessd.service.d"), "not in force")
        let dropIns = root + "/etc/systemd/system/accessd.service.d"
        try FileManager.default.createDirectory(atPath: dropIns, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: example, toPath: dropIns + "/shared-log.conf")
        let verify = try SystemdTestSupport.run(Self.analyze!, ["verify", "--root=\(root)", "accessd.service"])
        #expect(verify.status == 0)
        #expect(verify.stdout.isEmpty && verify.stderr.isEmpty, "verify printed:\n\(verify.stdout)\(verify.stderr)")
        let security = try SystemdTestSupport.run(
            Self.analyze!, ["security", "--offline=true", "--root=\(root)", "--threshold=20", "--no-pager", "accessd.service"])
        #expect(security.status == 0, "exposure above 2.0:\n\(security.stdout)\(security.stderr)")
        let overall = try #require(
            (security.stdout + security.stderr).split(separator: "\n").first { $0.contains("Overall exposure level") })
        let score = try #require(overall.split(separator: " ").compactMap { Double($0) }.first, "\(overall)")
        #expect(score > 0.5 && score <= 2.0, "the drop-in is in force and the exposure stays OK: \(overall)")
        let readme = try String(
            contentsOf: SystemdTestSupport.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("with the drop-in, \(String(format: "%.1f", score))"), "the README states the score: \(overall)")

        let dropIn = settings(try unit("accessd-shared-log.conf"))
        func values(_ key: String) -> [String] { dropIn.filter { $0.key == key }.map(\.value) }
        #expect(values("PrivateNetwork") == ["no"])
        let families = Set(values("RestrictAddressFamilies").flatMap { $0.split(separator: " ").map(String.init) })
        #expect(families == ["AF_UNIX", "AF_INET", "AF_INET6"])
        #expect(values("IPAddressDeny").isEmpty, "the unit's IPAddressDeny=any stays in force")
        #expect(!values("IPAddressAllow").isEmpty && !values("IPAddressAllow").contains("any"))
        #expect(values("LoadCredential") == ["postgresql-password:/etc/accessd/postgresql-password"])
        #expect(Set(dropIn.map(\.key)) == ["PrivateNetwork", "RestrictAddressFamilies", "IPAddressAllow", "LoadCredential"])
    }

    @Test func theServiceUnitHasWhatAnOperatorExpects() throws {
        let service = settings(try unit("accessd.service"))
        func value(_ key: String) -> String? { service.last { $0.key == key }?.value }
        #expect(value("Type") == "notify")
        #expect(value("WatchdogSec") != nil)
        #expect(value("StateDirectory") == "accessd")
        #expect(value("RuntimeDirectory") == "accessd")
        #expect(value("User") == "accessd" || value("DynamicUser") == "yes")
        #expect(value("ExecReload")?.contains("-HUP") == true)
        // Issue 13, item 2: a reload first checks the file, so a broken one fails `systemctl reload`.
        let reloads = service.filter { $0.key == "ExecReload" }.map(\.value)
        let start = try #require(value("ExecStart")?.split(separator: " ").map(String.init))
        #expect(reloads.count == 2, "\(reloads)")
        #expect(reloads.first == "\(start[0]) --check-config \(start.dropFirst().joined(separator: " "))", "\(reloads)")
        #expect(reloads.last == "/bin/kill -HUP $MAINPID")
        #expect(value("ExecStart")?.hasPrefix("/usr/local/bin/accessd") == true, "the path scripts/install.sh uses")
        #expect(value("ProtectSystem") == "strict")
        #expect(value("ProtectHome") == "yes")
        #expect(value("PrivateTmp") == "yes")
        #expect(value("NoNewPrivileges") == "yes")
        #expect(value("RestrictAddressFamilies") == "AF_UNIX")
        #expect(service.contains { $0 == ("SystemCallFilter", "@system-service") })
        // Issue 13, item 1: @resources is denied but setpriority allowed back, after the denial
        // (the snapshot thread's nice 10); libdispatch's threads may take nice -4.
        let filters = service.filter { $0.key == "SystemCallFilter" }.map(\.value)
        #expect(filters == ["@system-service", "~@privileged @resources", "setpriority"], "\(filters)")
        #expect(value("LimitNICE") == "-4")
        #expect(value("CapabilityBoundingSet") == "")
        #expect(value("UMask") == "0077")
        #expect(value("PrivateUsers") == nil, "PrivateUsers= maps every client to uid 65534 and breaks peer credentials")
        #expect(value("RestartPreventExitStatus")?.split(separator: " ").contains("78") == true)
        // Issue 12, item 6: systemd's default soft limit of 1024 descriptors is below max_connections plus the daemon's own.
        let descriptors = Int(value("LimitNOFILE") ?? "") ?? 0
        #expect(descriptors >= DaemonConfiguration(socketPath: "", stateDirectory: "").maximumConnections + 64, "LimitNOFILE=\(descriptors)")
    }

    @Test func theSocketUnitIsGroupReadableAndOutsideTheRuntimeDirectory() throws {
        let socket = settings(try unit("accessd.socket"))
        func value(_ key: String) -> String? { socket.last { $0.key == key }?.value }
        #expect(value("SocketMode") == "0660")
        #expect(value("SocketGroup") == "accessd")
        #expect(value("FileDescriptorName") == "accessd")
        let path = try #require(value("ListenStream"))
        #expect(path.hasPrefix("/run/") && !path.hasPrefix("/run/accessd/"), "systemd empties /run/accessd when the service stops")
        let config = try unit("accessd.conf")
        #expect(config.contains("socket = \(path)"), "accessctl finds the socket through /etc/accessd/accessd.conf")
    }

    @Test(.enabled(if: SystemdTestSupport.tool("systemd-sysusers") != nil && SystemdTestSupport.tool("systemctl") != nil))
    func theInstalledRootGetsTheUserAndTheEnabledSocket() throws {
        let root = try installedRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let sysusers = try SystemdTestSupport.run(
            SystemdTestSupport.tool("systemd-sysusers")!, ["--root=\(root)", root + "/etc/sysusers.d/accessd.conf"])
        #expect(sysusers.status == 0, "\(sysusers.stderr)")
        let passwd = try String(contentsOfFile: root + "/etc/passwd", encoding: .utf8)
        #expect(passwd.contains("accessd:x:"))
        let group = try String(contentsOfFile: root + "/etc/group", encoding: .utf8)
        #expect(group.contains("accessd:x:"))
        let enable = try SystemdTestSupport.run(SystemdTestSupport.tool("systemctl")!, ["--root=\(root)", "enable", "accessd.socket"])
        #expect(enable.status == 0, "\(enable.stderr)")
        let link = try FileManager.default.destinationOfSymbolicLink(
            atPath: root + "/etc/systemd/system/sockets.target.wants/accessd.socket")
        #expect(link == "/etc/systemd/system/accessd.socket")
    }
}
