import AccessStore
import AccessPaths
import AccessTestSupport
import AccessWire
import Foundation
import SwiftProtobuf
import Testing

@testable import AccessDaemon

#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's metrics (README "Metrics and health") through the real
/// binary: AdminService.GetMetrics and `accessctl metrics` give Prometheus
/// text whose counts follow the calls made, the journal and snapshots; the
/// textfile for node_exporter; GetStats' daemon-wide figures.
@Suite(.serialized) struct MetricsTests {
    let binary = AccessdBinaryTests()

    static func directory(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("accessd-\(name)-\(UUID().uuidString.prefix(8))").path
    }

    /// A daemon with `config` as its config file.
    func start(_ directory: String, config: String = "") throws -> AccessdBinaryTests.Daemon {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/accessd.conf"
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        return try binary.start(directory: directory, arguments: ["--config", path])
    }

    static func metrics(_ connection: RawConnection, id: UInt64) throws -> PrometheusExposition {
        let response = try connection.call(Methods.getMetrics, Accessd_V1_GetMetricsRequest(), id: id)
        try #require(response.code == 0, "\(response.message)")
        return try PrometheusExposition(try Accessd_V1_GetMetricsResponse(serializedBytes: response.payload).text)
    }

    static func stats(_ connection: RawConnection, id: UInt64) throws -> Accessd_V1_GetStatsResponse {
        let response = try connection.call(Methods.getStats, Accessd_V1_GetStatsRequest(), id: id)
        try #require(response.code == 0, "\(response.message)")
        return try Accessd_V1_GetStatsResponse(serializedBytes: response.payload)
    }

    /// An account and its owner (olga@acme.example); the account's id.
    static func createAccount(_ connection: RawConnection, id: UInt64) throws -> String {
        var create = Accessd_V1_CreateAccountRequest()
        create.name = "Acme"
        create.fullAccessLicenses = 3
        create.ownerEmail = "olga@acme.example"
        create.ownerFirstName = "Olga"
        create.ownerLastName = "Owner"
        let response = try connection.call(Methods.createAccount, create, id: id)
        try #require(response.code == 0, "\(response.message)")
        return try Accessd_V1_CreateAccountResponse(serializedBytes: response.payload).account.id
    }

    static func check(_ connection: RawConnection, user: String, account: String, id: UInt64) throws -> UInt32 {
        var check = Accessd_V1_CheckRequest()
        check.user = user
        check.accountID = account
        check.permission = .editAccountSettings
        return try connection.call(Methods.check, check, id: id).code
    }

    /// Every histogram series of `family`: buckets that never fall as `le`
    /// grows, a +Inf bucket equal to `_count`, and a `_sum`. Returns the counts by series.
    @discardableResult
    static func checkHistogram(_ metrics: PrometheusExposition, _ family: String) -> [[String: String]: Double] {
        var counts: [[String: String]: Double] = [:]
        var series: [[String: String]: [(Double, Double)]] = [:]
        for bucket in metrics.samples(family + "_bucket") {
            var labels = bucket.labels
            let le = labels.removeValue(forKey: "le")!
            series[labels, default: []].append((le == "+Inf" ? .infinity : Double(le)!, bucket.value))
        }
        #expect(!series.isEmpty, "\(family) has series")
        for (labels, buckets) in series {
            let sorted = buckets.sorted { $0.0 < $1.0 }
            #expect(sorted.last?.0 == .infinity, "\(family)\(labels) has a +Inf bucket")
            for (lower, upper) in zip(sorted, sorted.dropFirst()) {
                #expect(lower.1 <= upper.1, "\(family)\(labels): le=\(lower.0) holds \(lower.1), le=\(upper.0) holds \(upper.1)")
            }
            let count = metrics.value(family + "_count", labels)
            #expect(count == sorted.last?.1, "\(family)\(labels): _count \(count ?? -1), +Inf \(sorted.last?.1 ?? -1)")
            #expect((metrics.value(family + "_sum", labels) ?? -1) >= 0, "\(family)\(labels) has a _sum")
            counts[labels] = count
        }
        return counts
    }

    @Test func theMetricsCountCallsByMethodAndCodeAndTheirHistogramsAgree() throws {
        let directory = Self.directory("metrics")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try start(directory)
        defer { #expect(binary.stop(daemon) == 0) }
        let connection = try RawConnection(path: daemon.socket)

        let account = try Self.createAccount(connection, id: 1)
        for id in 2...4 as ClosedRange<UInt64> {
            #expect(try Self.check(connection, user: "olga@acme.example", account: account, id: id) == 0)
        }
        #expect(try Self.check(connection, user: "nobody@acme.example", account: account, id: 5) == 5, "NOT_FOUND")
        #expect(try connection.call("/accessd.v1.NoService/Nothing", bytes: [], id: 6).code == 12, "UNIMPLEMENTED")

        let first = try Self.metrics(connection, id: 7)
        func calls(_ service: String, _ method: String, _ code: String) -> Double? {
            first.value("accessd_calls_total", ["service": "accessd.v1." + service, "method": method, "code": code])
        }
        #expect(calls("AccessService", "Check", "OK") == 3)
        #expect(calls("AccessService", "Check", "NOT_FOUND") == 1)
        #expect(calls("AdminService", "CreateAccount", "OK") == 1)
        #expect(first.value("accessd_calls_total", ["service": "unknown", "method": "unknown", "code": "UNIMPLEMENTED"]) == 1)
        #expect(first.samples("accessd_calls_total").count == 4, "only the calls made: \(first.samples("accessd_calls_total"))")
        let durations = Self.checkHistogram(first, "accessd_call_duration_seconds")
        #expect(durations[["service": "accessd.v1.AccessService", "method": "Check"]] == 4, "every Check has its duration")
        #expect(durations[["service": "accessd.v1.AdminService", "method": "CreateAccount"]] == 1)
        #expect(first.types["accessd_calls_total"] == "counter" && first.types["accessd_call_duration_seconds"] == "histogram")

        // The journal: one record (one write), synced (fsync = always).
        #expect(first.value("accessd_journal_records_total") == 1)
        #expect((first.value("accessd_journal_bytes_total") ?? 0) > 0)
        let syncs = try #require(first.value("accessd_journal_syncs_total"))
        #expect(syncs >= 1)
        #expect(Self.checkHistogram(first, "accessd_journal_sync_duration_seconds")[[:]] == syncs)
        #expect(first.value("accessd_journal_append_failures_total") == 0)
        // The state, the connections, the daemon.
        let stats = try Self.stats(connection, id: 8)
        #expect(first.value("accessd_revision") == Double(stats.revision))
        #expect(first.value("accessd_users") == 1 && first.value("accessd_accounts") == 1)
        #expect(first.value("accessd_connections") == 1)
        #expect(first.value("accessd_serving") == 1)
        #expect(first.value("accessd_build_info", ["version": AccessdVersion.current]) == 1)
        #expect((first.value("accessd_received_bytes_total") ?? 0) > 0 && (first.value("accessd_sent_bytes_total") ?? 0) > 0)
        #expect(first.value("accessd_recovery_replayed_records") == 0)
        #expect(first.value("accessd_snapshots_total") == 0)

        // A second write and a snapshot move the journal and snapshot figures.
        var licenses = Accessd_V1_SetLicenseCountRequest()
        licenses.accountID = account
        licenses.count = 5
        #expect(try connection.call(Methods.setLicenseCount, licenses, id: 9).code == 0)
        let snapshot = try connection.call(Methods.snapshot, Accessd_V1_SnapshotRequest(), id: 10)
        #expect(snapshot.code == 0)
        let written = try Accessd_V1_SnapshotResponse(serializedBytes: snapshot.payload)
        let second = try Self.metrics(connection, id: 11)
        #expect(second.value("accessd_journal_records_total") == 2)
        #expect((second.value("accessd_journal_syncs_total") ?? 0) > syncs)
        #expect(second.value("accessd_snapshots_total") == 1)
        #expect(second.value("accessd_snapshot_last_revision") == Double(written.revision))
        let size = try FileManager.default.attributesOfItem(atPath: written.path)[.size] as? Int
        #expect(second.value("accessd_snapshot_size_bytes") == size.map(Double.init))
        #expect(Self.checkHistogram(second, "accessd_snapshot_duration_seconds")[[:]] == 1)
        // The first scrape is counted now that it was answered; the scrape in flight is not.
        #expect(second.value("accessd_calls_total", ["service": "accessd.v1.AdminService", "method": "GetMetrics", "code": "OK"]) == 1)
        #expect(second.value("accessd_calls_in_flight") == 0)
    }

    @Test func accessctlMetricsPrintsTheTextAndANonAdministratorIsRefused() throws {
        let directory = "/tmp/accessd-metrics-peer-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try start(directory, config: "read_only_uids = 65534\n")
        defer { #expect(binary.stop(daemon) == 0) }
        let printed = try HealthTests.accessctl(["metrics", "--socket", daemon.socket])
        #expect(printed.status == 0, "\(printed.output)")
        let metrics = try PrometheusExposition(printed.output)
        #expect(metrics.value("accessd_accounts") == 0)

        // nobody (uid 65534) is a read-only peer: GetMetrics is an administrator's call.
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { return }
        HealthTests.openToEveryone(daemon)
        let refused = try AdministratorPeerTests().accessctlAsNobody(["metrics", "--socket", daemon.socket])
        #expect(refused.status == 2, "\(refused.output)")
        #expect(refused.output.contains("PERMISSION_DENIED"), "\(refused.output)")
        #expect(refused.output.contains("GetMetrics is an administrator's call"), "\(refused.output)")
    }

    @Test func theTextfileIsWrittenAtomicallyAsValidPrometheusTextAndFollowsWrites() throws {
        let directory = Self.directory("textfile")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let textfiles = directory + "/node-exporter"
        try FileManager.default.createDirectory(atPath: textfiles, withIntermediateDirectories: true)
        let path = textfiles + "/accessd.prom"
        let daemon = try start(directory, config: "metrics_textfile = \(path)\nmetrics_textfile_interval_s = 1\n")
        defer { #expect(binary.stop(daemon) == 0) }

        func read(until condition: (PrometheusExposition) -> Bool) throws -> PrometheusExposition? {
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                    let parsed = try PrometheusExposition(text)
                    if condition(parsed) { return parsed }
                }
                usleep(100_000)
            }
            return nil
        }
        let first = try #require(try read { _ in true }, "the textfile appears at start")
        #expect(first.value("accessd_journal_records_total") == 0)
        #expect(first.value("accessd_serving") == 1)
        #expect(first.types.count > 20, "\(first.types.keys.sorted())")
        Self.checkHistogram(first, "accessd_journal_sync_duration_seconds")
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o644, "node_exporter's user can read it: \(String(mode, radix: 8))")
        let names = try FileManager.default.contentsOfDirectory(atPath: textfiles)
        #expect(names == ["accessd.prom"], "only the file itself: the temporary one was renamed \(names)")

        let connection = try RawConnection(path: daemon.socket)
        _ = try Self.createAccount(connection, id: 1)
        let after = try #require(try read { $0.value("accessd_journal_records_total") == 1 }, "the file follows the write")
        #expect(after.value("accessd_accounts") == 1)
        #expect(
            after.value("accessd_calls_total", ["service": "accessd.v1.AdminService", "method": "CreateAccount", "code": "OK"]) == 1)
        #expect(after.value("accessd_calls_in_flight") == 0, "the textfile is no call: nothing subtracted")
    }

    @Test func aTextfilePathNodeExporterWouldNotReadIsAConfigError() throws {
        var configuration = DaemonConfiguration(socketPath: "/s", stateDirectory: "/d")
        for bad in ["metrics.prom", "/var/lib/node-exporter/accessd.txt", "/var/lib/node-exporter/"] {
            let file = try ConfigFile(text: "metrics_textfile = \(bad)\n", path: "a.conf")
            #expect(throws: ConfigFile.Invalid.self, "\(bad)") { try file.apply(to: &configuration) }
        }
        let good = try ConfigFile(
            text: "metrics_textfile = /var/lib/node-exporter/accessd.prom\nmetrics_textfile_interval_s = 30\n", path: "a.conf")
        try good.apply(to: &configuration)
        #expect(configuration.metricsTextfile == "/var/lib/node-exporter/accessd.prom")
        #expect(configuration.metricsTextfileIntervalSeconds == 30)
        let zero = try ConfigFile(text: "metrics_textfile_interval_s = 0\n", path: "a.conf")
        #expect(throws: ConfigFile.Invalid.self) { try zero.apply(to: &configuration) }
    }

    /// GetStats.calls_in_flight counts every connection's calls (here reads
    /// waiting for a revision on four connections, so on both loops), not
    /// the caller's; it also says the uptime and version.
    @Test func callsInFlightAreCountedDaemonWide() throws {
        let directory = Self.directory("inflight")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try start(directory, config: "event_loops = 2\n")
        defer { #expect(binary.stop(daemon) == 0) }
        let observer = try RawConnection(path: daemon.socket)
        let before = try Self.stats(observer, id: 1)
        #expect(before.callsInFlight == 0)
        #expect(before.daemonVersion == AccessdVersion.current)
        #expect(before.uptimeMs > 0)

        var waiting: [RawConnection] = []
        for _ in 0..<4 {
            let connection = try RawConnection(path: daemon.socket)
            var request = Accessd_V1_Request()
            request.id = 42
            request.method = Methods.listEvents.path
            request.payload = try Accessd_V1_ListEventsRequest().serializedData()
            request.minRevision = 1
            request.timeoutMs = 30_000
            try connection.send(request)
            waiting.append(connection)
        }
        var stats = before
        let deadline = Date().addingTimeInterval(5)
        var id: UInt64 = 2
        while stats.callsInFlight < 4, Date() < deadline {
            usleep(20_000)
            id += 1
            stats = try Self.stats(observer, id: id)
        }
        #expect(stats.callsInFlight == 4, "four reads wait, on other connections")
        let metrics = try Self.metrics(observer, id: 100)
        #expect(metrics.value("accessd_calls_in_flight") == 4)
        #expect(metrics.value("accessd_connections") == 5)

        // A write reaches the revision: every wait is answered, nothing is in flight.
        _ = try Self.createAccount(observer, id: 101)
        for connection in waiting { #expect(try connection.readResponse().code == 0) }
        let after = try Self.stats(observer, id: 102)
        #expect(after.callsInFlight == 0)
        #expect(after.uptimeMs >= before.uptimeMs)
        let answered = try Self.metrics(observer, id: 103)
        let lists = answered.value(
            "accessd_call_duration_seconds_count", ["service": "accessd.v1.EventService", "method": "ListEvents"])
        #expect(lists == 4)
        #expect(answered.value("accessd_calls_in_flight") == 0)
    }
}
