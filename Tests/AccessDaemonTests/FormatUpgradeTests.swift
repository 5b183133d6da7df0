import AccessStore
import AccessCore
import AccessTestSupport
import AccessWire
import Foundation
import Logging
import Testing

@testable import AccessDaemon

/// Formats are versioned and every earlier one is read (docs/protocol.md):
/// a state directory written by the previous accessd (journal format 1,
/// snapshot format 2; `Tests/Fixtures/state-journal1-snapshot2`, its README
/// says how it was made) loads whole, and what issue 12 changed comes out
/// as the new formats say: no activation token in any event or reply, only
/// the mailer's outbox holds them; refused keyed writes keep nothing.
@Suite(.serialized) struct FormatUpgradeTests {
    @Test func aStateWrittenInJournalFormat1AndSnapshotFormat2LoadsWholeWithTokensOnlyInTheOutbox() throws {
        let tokens = try StateFixture.tokens()
        #expect(tokens.count == 2)
        let (root, state) = try StateFixture.copy()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let recovered = try StateDirectory(path: state).recover(logger: logger)
        #expect(recovered.snapshot?.hasSuffix("snapshot-00000000000000000003.snap") == true)
        #expect(recovered.replayed == 2)
        #expect(recovered.durable.lsn == 5)
        #expect(recovered.durable.state.revision == 11)
        #expect(recovered.durable.state.users.count == 3)
        // The mailer still gets both tokens: one from the format-2 snapshot's outbox, one from a format-1 event.
        let outbox = Dictionary(uniqueKeysWithValues: recovered.durable.state.outbox.values.map { ($0.id.rawValue, $0.token) })
        #expect(outbox == tokens)
        // No event held for reads and streams carries one.
        for event in try recovered.durable.history.events(after: 8) {
            #expect(event.outboxToken == nil, "event \(event.seq) keeps its token")
        }
        // The applied keyed writes keep their first reply, without the token; the refusals format 1 journaled are gone.
        let now = Timestamp(millisecondsSinceEpoch: try recovered.durable.history.events(after: 10).first?.time.millisecondsSinceEpoch ?? 0)
        let idempotency = recovered.durable.idempotency
        let olga = try #require(recovered.durable.state.principal(forActor: "olga@acme.example").userID).rawValue
        for key in ["add-ada", "add-vic"] {
            let entry = try #require(idempotency.lookup(actor: olga, key: key, now: now), "\(key) is kept")
            #expect(entry.code == .ok)
            let reply = try Accessd_V1_UserResponse(serializedBytes: entry.payload)
            #expect(reply.events.contains { if case .outboxMessageQueued = $0.change { true } else { false } })
            #expect(StateFixture.everyToken(in: entry.payload, tokens).isEmpty, "the first reply of \(key) no longer carries a token")
        }
        for key in ["refused-1", "refused-2"] {
            #expect(idempotency.lookup(actor: olga, key: key, now: now) == nil, "the refusal of \(key) is not kept (R21)")
        }
        #expect(idempotency.count == 2)
    }

    @Test func theUpgradedStateIsWrittenInTheNewFormatsAndReadsBackTheSame() async throws {
        let tokens = try StateFixture.tokens()
        let (root, state) = try StateFixture.copy()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let configuration = DaemonConfiguration(socketPath: root + "/run/accessd.sock", stateDirectory: state)
        let first = try AccessDaemonServer(configuration: configuration, logger: Logger(label: "test"))
        try await first.start()
        let connection = try RawConnection(path: configuration.socketPath)
        var add = Accessd_V1_AddUserRequest()
        add.accountID = "acc_1"
        add.email = "new@acme.example"
        add.firstName = "New"
        add.lastName = "Comer"
        add.role = "Viewer"
        let added = try connection.call(Methods.addUser, add, id: 1, actor: "olga@acme.example")
        #expect(added.code == 0, "\(added.message)")
        try await first.stop()

        let names = try FileManager.default.contentsOfDirectory(atPath: state)
        let snapshot = try #require(names.filter { $0.hasSuffix(".snap") }.sorted().last)
        let snapshotBytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: state + "/" + snapshot)))
        #expect(SnapshotFile.header(snapshotBytes)?.version == SnapshotFile.formatVersion)
        let segment = try #require(names.filter { $0.hasPrefix("journal-") }.sorted().last)
        let segmentBytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: state + "/" + segment)))
        #expect(try JournalFormat.scan(segmentBytes).version == JournalFormat.version)

        let second = try AccessDaemonServer(configuration: configuration, logger: Logger(label: "test"))
        let published = second.owner.published
        #expect(published.state.users.count == 4)
        let outbox = published.state.outbox.values.map(\.token)
        #expect(Set(outbox).isSuperset(of: Set(tokens.values)) && outbox.count == 3)
        try? await second.tearDown(.release)
    }

    /// The formats before the hash chain: a state of journal format 2 and
    /// snapshot format 3 (`Tests/Fixtures/state-journal2-snapshot3`) loads
    /// whole, its replies and tokens where they were.
    @Test func aStateWrittenInJournalFormat2AndSnapshotFormat3LoadsWhole() throws {
        let tokens = try StateFixture.tokens(StateFixture.journal2Snapshot3)
        #expect(tokens.count == 2)
        let (root, state) = try StateFixture.copy(StateFixture.journal2Snapshot3)
        defer { try? FileManager.default.removeItem(atPath: root) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let recovered = try StateDirectory(path: state).recover(logger: logger)
        #expect(recovered.snapshot?.hasSuffix("snapshot-00000000000000000002.snap") == true)
        #expect(recovered.replayed == 2)
        #expect(recovered.durable.lsn == 4)
        #expect(recovered.durable.state.revision == 12)
        #expect(recovered.durable.state.users.count == 3)
        #expect(recovered.durable.state.roles.values.contains { $0.name == "Auditors" })
        let outbox = Dictionary(uniqueKeysWithValues: recovered.durable.state.outbox.values.map { ($0.id.rawValue, $0.token) })
        #expect(outbox == tokens)
        let now = Timestamp(millisecondsSinceEpoch: try recovered.durable.history.events(after: 11).first?.time.millisecondsSinceEpoch ?? 0)
        let olga = try #require(recovered.durable.state.principal(forActor: "olga@acme.example").userID).rawValue
        for key in ["add-ada", "add-vic"] {
            let entry = try #require(recovered.durable.idempotency.lookup(actor: olga, key: key, now: now), "\(key) is kept")
            #expect(entry.code == .ok)
            #expect(StateFixture.everyToken(in: entry.payload, tokens).isEmpty)
        }
        #expect(recovered.durable.idempotency.count == 2, "refusals keep nothing (R21)")
    }

    /// The daemon started on the formats before the hash chain writes journal
    /// format 3, and its first record names the hash of the last record of
    /// format 2 (SHA-256 of the zero hash and its bytes): the chain is whole
    /// from there on, across a restart.
    @Test func theChainStartsAtTheLastRecordOfTheOlderFormat() async throws {
        let (root, state) = try Self.copyFixture(Self.fixture2)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let old = try [UInt8](Data(contentsOf: URL(fileURLWithPath: state + "/journal-00000000000000000003.log")))
        let oldScan = try JournalFormat.scan(old)
        #expect(oldScan.version == 2)
        let last = try LogRecord.decode(Array(try #require(oldScan.records.last).payload), formatVersion: 2).record
        #expect(last.lsn == 4 && last.previousHash == .zero && last.batchID == .none)

        let configuration = DaemonConfiguration(socketPath: root + "/run/accessd.sock", stateDirectory: state)
        let daemon = try AccessDaemonServer(configuration: configuration, logger: Logger(label: "test"))
        try await daemon.start()
        let connection = try RawConnection(path: configuration.socketPath)
        var add = Accessd_V1_AddUserRequest()
        add.accountID = "acc_1"
        add.email = "chain@acme.example"
        add.firstName = "Chain"
        add.lastName = "Link"
        add.role = "Viewer"
        #expect(try connection.call(Methods.addUser, add, id: 1, actor: "olga@acme.example").code == 0)
        try await daemon.stop()

        let segment = state + "/" + JournalFormat.segmentName(firstLSN: 5)
        let scan = try JournalFormat.scan(try [UInt8](Data(contentsOf: URL(fileURLWithPath: segment))))
        #expect(scan.version == JournalFormat.version)
        let first = try LogRecord.decode(Array(try #require(scan.records.first).payload), formatVersion: scan.version).record
        #expect(first.lsn == 5)
        #expect(first.previousHash == last.hash, "record 5 follows record 4 of the older format")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let recovered = try StateDirectory(path: state).recover(logger: logger)
        #expect(recovered.durable.lsn == 5 && recovered.durable.logHash == first.hash)
        #expect(recovered.durable.state.users.count == 4)
    }
}
