import AccessStore
import AccessMapping
import AccessPaths
import AccessCore
import AccessDaemon
import AccessServer
import AccessWire
import Foundation
import Logging
import SwiftProtobuf

/// The seed corpus of every target (`Tests/FuzzCorpus/<target>/`), made by
/// the real code: frames and payloads encoded by swift-protobuf from the
/// fixture's ids, a journal written by `JournalWriter`, snapshots written by
/// `StateDirectory.writeSnapshot`, config files as an operator writes them.
/// `accessd-fuzz --generate-corpus DIR` writes them; regenerate them when the
/// method table or a format changes.
public enum SeedCorpus {
    /// The seeds of a target, by file name.
    public static func seeds(for target: FuzzTarget) -> [(name: String, bytes: [UInt8])] {
        do {
            switch target {
            case .frame: return try frameSeeds()
            case .methods: return try methodSeeds()
            case .journal: return try journalSeeds()
            case .snapshot: return try snapshotSeeds()
            case .config: return configSeeds()
            }
        } catch {
            preconditionFailure("the \(target) seeds cannot be made: \(error)")
        }
    }

    /// Writes every target's seeds into `directory/<target>/`.
    public static func write(to directory: String) throws {
        for target in FuzzTarget.allCases {
            let folder = directory + "/" + target.rawValue
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for seed in seeds(for: target) {
                try Data(seed.bytes).write(to: URL(fileURLWithPath: folder + "/" + seed.name))
            }
        }
    }

    // MARK: - frame

    static func frameSeeds() throws -> [(name: String, bytes: [UInt8])] {
        let fixture = Fixture.shared
        let ids = fixture.ids
        func frame(_ build: (inout Accessd_V1_ClientFrame) throws -> Void) throws -> [UInt8] {
            var message = Accessd_V1_ClientFrame()
            try build(&message)
            let bytes: [UInt8] = try message.serializedBytes()
            var framed: [UInt8] = []
            withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { framed += $0 }
            return framed + bytes
        }
        var checkRequest = Accessd_V1_CheckRequest()
        checkRequest.user = "carl@acme.example"
        checkRequest.accountID = ids["acme"]!
        checkRequest.permission = .manageProjects
        checkRequest.projectID = ids["apollo"]!
        let check = try frame {
            $0.request.id = 1
            $0.request.method = Methods.check.path
            $0.request.payload = try checkRequest.serializedBytes()
        }
        var productCheck = checkRequest
        productCheck.productID = ids["web"]!
        productCheck.user = ids["bob"]!
        let check2 = try frame {
            $0.request.id = 300
            $0.request.method = Methods.check.path
            $0.request.payload = try productCheck.serializedBytes()
            $0.request.timeoutMs = 250
        }
        let addUser = try frame {
            $0.request.id = 2
            $0.request.method = Methods.addUser.path
            $0.request.payload = Data(fixture.calls.first { $0.path.hasSuffix("/AddUser") }!.payload)
            $0.request.actor = "ann@acme.example"
            $0.request.dryRun = true
            $0.request.idempotencyKey = "key-1"
            $0.request.minRevision = 12
        }
        let withMetadata = try frame {
            $0.request.id = 3
            $0.request.method = Methods.getUser.path
            $0.request.metadata = ["trace": "abc"]
            $0.request.actor = "Zoë ✓"
        }
        let cancel = try frame { $0.cancel.id = 2 }
        let empty: [UInt8] = [0, 0, 0, 0]
        let header: [UInt8] = [0, 6]  // no splits, a maximum of 4 KiB
        let split: [UInt8] = [3, 1, 5, 2, 6]  // splits of 1, 5 and 2 bytes, a maximum of 4 KiB
        return [
            ("check", header + check),
            ("check-product", header + check2),
            ("add-user", header + addUser),
            ("metadata", header + withMetadata),
            ("cancel", header + cancel),
            ("empty-frame", header + empty),
            ("stream-split", split + check + cancel + addUser + empty),
            ("too-long", [0, 0] + [0, 0, 1, 0] + Array(repeating: 0, count: 8)),
            ("incomplete", split + Array(check.dropLast(3))),
        ]
    }

    // MARK: - methods

    /// One call of the `methods` target: the path's index, the actor byte, the payload.
    static func methodCall(_ path: String, actor: UInt8, _ payload: [UInt8]) -> [UInt8] {
        let index = UInt8(MethodsFuzz.paths.firstIndex(of: path)!)
        return payload.count < 255 ? [index, actor, UInt8(payload.count)] + payload : [index, actor, 255] + payload
    }

    static func methodSeeds() throws -> [(name: String, bytes: [UInt8])] {
        let fixture = Fixture.shared
        let ids = fixture.ids
        var seeds: [(name: String, bytes: [UInt8])] = []
        // The actor byte of an email: 2 + the fixture actor's index; "" is the administrator (0).
        func actorByte(_ email: String) -> UInt8 {
            guard let index = fixture.actors.firstIndex(where: { $0.email == email }) else { return 0 }
            return UInt8(2 + index)
        }
        for (index, call) in fixture.calls.enumerated() {
            let method = call.path.split(separator: "/").last!
            seeds.append(("tour-\(index)-\(method)", methodCall(call.path, actor: actorByte(call.actor), call.payload)))
        }
        func seed<Request, Response>(
            _ name: String, _ method: Method<Request, Response>, as actor: String = "", _ fill: (inout Request) -> Void
        ) throws {
            var message = Request()
            fill(&message)
            seeds.append((name, methodCall(method.path, actor: actorByte(actor), try message.serializedBytes())))
        }
        let (ann, carl, bob, gary) = ("ann@acme.example", "carl@acme.example", "bob@beta.example", "gary@agency.example")
        try seed("check-project", Methods.check) { (m: inout Accessd_V1_CheckRequest) in
            m.user = carl
            m.accountID = ids["acme"]!
            m.permission = .manageProjects
            m.projectID = ids["apollo"]!
        }
        try seed("check-share", Methods.check) { (m: inout Accessd_V1_CheckRequest) in
            m.user = ids["bob"]!
            m.accountID = ids["acme"]!
            m.permission = .manageProducts
            m.productID = ids["web"]!
        }
        try seed("check-client", Methods.check) { (m: inout Accessd_V1_CheckRequest) in
            m.user = gary
            m.accountID = ids["acme"]!
            m.permission = .viewBilling
        }
        try seed("batch-check", Methods.batchCheck) { (m: inout Accessd_V1_BatchCheckRequest) in
            var first = Accessd_V1_CheckRequest()
            first.user = gary
            first.accountID = ids["acme"]!
            first.permission = .viewBilling
            var second = first
            second.user = "nobody@example.com"
            var third = first
            third.productID = "prd_1"
            third.permission = .manageProducts
            m.checks = [first, second, third]
        }
        try seed("accessible", Methods.listAccessibleAccounts) { (m: inout Accessd_V1_ListAccessibleAccountsRequest) in
            m.user = ids["gary"]!
        }
        try seed("get-user", Methods.getUser, as: ann) { (m: inout Accessd_V1_GetUserRequest) in m.userID = ids["carl"]! }
        try seed("list-users", Methods.listUsers, as: ann) { (m: inout Accessd_V1_ListUsersRequest) in
            m.accountID = ids["acme"]!
            m.search = "a"
            m.statuses = [.pending, .active]
            m.sortBy = .email
            m.descending = true
            m.officeIds = [ids["berlin"]!]
            m.permissions = [.viewProjects]
            m.roleIds = [ids["auditor"]!]
            m.pageSize = 2
        }
        try seed("edit-user", Methods.editUser, as: ann) { (m: inout Accessd_V1_EditUserRequest) in
            m.userID = ids["carl"]!
            m.role = "Auditor"
            m.setExtraPermissions = true
            m.extraPermissions = [.viewAllProjects]
            m.setOffices = true
            m.firstName = "Carla"
        }
        try seed("activate-dora", Methods.activateUser) { (m: inout Accessd_V1_ActivateUserRequest) in
            m.token = fixture.tokens.first ?? ""
        }
        for method in [Methods.deactivateUser, Methods.reactivateUser, Methods.resendActivation] {
            try seed("\(method.name)-dora", method, as: ann) { m in m.userID = ids["dora"]! }
        }
        try seed("reactivate-erin", Methods.reactivateUser, as: ann) { (m: inout Accessd_V1_UserRequest) in
            m.userID = ids["erin"]!
        }
        try seed("deactivate-owner", Methods.deactivateUser, as: ann) { (m: inout Accessd_V1_UserRequest) in
            m.userID = ids["ann"]!
        }
        try seed("edit-role", Methods.editRole, as: ann) { (m: inout Accessd_V1_EditRoleRequest) in
            m.roleID = ids["auditor"]!
            m.setPermissions = true
            m.permissions = [.viewBilling]
            m.access = .full
        }
        try seed("delete-role", Methods.deleteRole, as: ann) { (m: inout Accessd_V1_DeleteRoleRequest) in m.roleID = ids["auditor"]! }
        try seed("list-roles", Methods.listRoles, as: carl) { (m: inout Accessd_V1_ListRolesRequest) in m.accountID = ids["acme"]! }
        try seed("rename-office", Methods.renameOffice, as: ann) { (m: inout Accessd_V1_RenameOfficeRequest) in
            m.officeID = ids["berlin"]!
            m.name = "Berlin Mitte"
        }
        try seed("delete-office", Methods.deleteOffice, as: ann) { (m: inout Accessd_V1_DeleteOfficeRequest) in
            m.officeID = ids["berlin"]!
        }
        try seed("update-project", Methods.updateProject, as: carl) { (m: inout Accessd_V1_UpdateProjectRequest) in
            m.projectID = ids["apollo"]!
            m.visibility = .public
            m.setMembers = true
            m.memberIds = [ids["carl"]!, ids["dora"]!]
        }
        try seed("delete-project", Methods.deleteProject, as: ann) { (m: inout Accessd_V1_DeleteProjectRequest) in
            m.projectID = ids["apollo"]!
        }
        try seed("list-projects", Methods.listProjects, as: carl) { (m: inout Accessd_V1_ListProjectsRequest) in
            m.accountID = ids["acme"]!
        }
        try seed("rename-product", Methods.renameProduct, as: ann) { (m: inout Accessd_V1_RenameProductRequest) in
            m.productID = ids["web"]!
            m.name = "Website"
        }
        try seed("delete-product", Methods.deleteProduct, as: ann) { (m: inout Accessd_V1_DeleteProductRequest) in
            m.productID = ids["web"]!
        }
        try seed("list-products", Methods.listProducts, as: bob) { (m: inout Accessd_V1_ListProductsRequest) in
            m.accountID = ids["acme"]!
        }
        try seed("share-all", Methods.shareAccess, as: ann) { (m: inout Accessd_V1_ShareAccessRequest) in
            m.ownerAccountID = ids["acme"]!
            m.granteeEmail = gary
            m.scope.allCurrentAndNew = true
            m.billing = true
        }
        try seed("retire-share", Methods.retireShare, as: bob) { (m: inout Accessd_V1_ShareIdRequest) in m.shareID = ids["share"]! }
        try seed("remove-share", Methods.removeShare, as: ann) { (m: inout Accessd_V1_ShareIdRequest) in m.shareID = ids["share"]! }
        try seed("shared-with", Methods.listSharedWith, as: ann) { (m: inout Accessd_V1_ListSharedWithRequest) in
            m.ownerAccountID = ids["acme"]!
        }
        let agencyAndAcme = { (m: inout Accessd_V1_ClientLinkRequest) in
            m.agencyAccountID = ids["agency"]!
            m.clientAccountID = ids["acme"]!
        }
        try seed("RevokeAccess", Methods.revokeAccess, as: ann, agencyAndAcme)
        try seed("DenyAccess", Methods.denyAccess, as: ann, agencyAndAcme)
        try seed("RemoveClient", Methods.removeClient, as: ann, agencyAndAcme)
        try seed("list-clients", Methods.listClients, as: gary) { (m: inout Accessd_V1_ListClientsRequest) in
            m.agencyAccountID = ids["agency"]!
        }
        try seed("list-agencies", Methods.listAgencies, as: ann) { (m: inout Accessd_V1_ListAgenciesRequest) in
            m.clientAccountID = ids["acme"]!
        }
        try seed("rename-account", Methods.renameAccount, as: ann) { (m: inout Accessd_V1_RenameAccountRequest) in
            m.accountID = ids["acme"]!
            m.name = "Acme Inc"
        }
        try seed("update-billing", Methods.updateBilling, as: ann) { (m: inout Accessd_V1_UpdateBillingRequest) in
            m.accountID = ids["acme"]!
            m.billing.billingEmail = "billing@acme.example"
        }
        try seed("get-billing", Methods.getBilling, as: ann) { (m: inout Accessd_V1_GetBillingRequest) in m.accountID = ids["acme"]! }
        try seed("licenses", Methods.setLicenseCount) { (m: inout Accessd_V1_SetLicenseCountRequest) in
            m.accountID = ids["acme"]!
            m.count = 2
        }
        try seed("list-accounts", Methods.listAccounts) { (m: inout Accessd_V1_ListAccountsRequest) in
            m.pageSize = 1
        }
        try seed("list-events", Methods.listEvents) { (m: inout Accessd_V1_ListEventsRequest) in
            m.afterSeq = 3
            m.limit = 5
        }
        try seed("acknowledge", Methods.acknowledgeOutbox) { (m: inout Accessd_V1_AcknowledgeOutboxRequest) in
            m.ids = ["msg_1", "msg_zz"]
        }
        // Every method that has no seed yet, with an empty payload, as Acme's owner.
        for path in MethodsFuzz.paths where !seeds.contains(where: { $0.bytes.first == methodCall(path, actor: 0, []).first }) {
            seeds.append(("empty-\(path.split(separator: "/").last!)", methodCall(path, actor: actorByte(ann), [])))
        }
        // Two calls: a write, then a read of what it changed.
        let first = seeds.first { $0.name.hasSuffix("rename-office") }!.bytes
        let second = seeds.first { $0.name.hasSuffix("list-users") }!.bytes
        seeds.append(("two-calls", first + second))
        return seeds
    }

    // MARK: - journal

    /// The fixture's writes as journal records, as `StateOwner.run` builds them, one per write.
    static func journalRecords() throws -> [[UInt8]] {
        var records: [[UInt8]] = []
        var previous = LogHash.zero
        for (index, events) in Fixture.shared.writes.enumerated() {
            var record = Accessd_V1_JournalRecord()
            record.lsn = UInt64(index + 1)
            record.events = events.map(Accessd_V1_Event.init)
            if index == 0 {
                var reply = Accessd_V1_IdempotentReply()
                reply.actor = "administrator"
                reply.key = "create-acme"
                reply.atMs = events.first?.time.millisecondsSinceEpoch ?? 0
                reply.payload = Data([1, 2, 3])
                reply.revision = events.last?.seq ?? 0
                record.idempotentReplies = [reply]
            }
            // Chained as the daemon chains them (journal format 3), with batch ids of the seed's own.
            let batch = BatchID(Array(repeating: UInt8(truncatingIfNeeded: index + 1), count: BatchID.length))!
            let chained = try LogRecord(record, batchID: batch, previousHash: previous)
            previous = chained.hash
            records.append(chained.bytes)
        }
        return records
    }

    static func journalSeeds() throws -> [(name: String, bytes: [UInt8])] {
        let records = try journalRecords()
        // The real writer writes the segment.
        let storage = MemoryStorage()
        let writer = JournalWriter(
            storage: storage, directory: JournalFuzz.directory, policy: .always, logger: JournalFuzz.logger,
            onFatalSync: { error in preconditionFailure("a sync failed in memory: \(error)") })
        for (index, record) in records.enumerated() {
            if case .failure(let error) = writer.append(lsn: UInt64(index + 1), payload: record, generation: 0) { throw error }
        }
        writer.close()
        guard let segment = storage.contents.sorted(by: { $0.key < $1.key }).first?.value else {
            throw Violation("the journal writer wrote no segment")
        }
        func framed(_ records: ArraySlice<[UInt8]>) -> [UInt8] {
            records.flatMap { [UInt8(truncatingIfNeeded: $0.count >> 8), UInt8(truncatingIfNeeded: $0.count)] + $0 }
        }
        let short = records.prefix(4)
        return [
            ("segment", [0] + segment),
            ("segment-torn", [0] + segment.dropLast(5)),
            ("segment-header-only", [0] + segment.prefix(JournalFormat.headerLength)),
            ("segment-damaged", [2] + segment.prefix(200) + [0xFF] + segment.dropFirst(201)),
            ("records", [1] + framed(records[...])),
            ("records-short", [1] + framed(short)),
            ("records-two-segments", [0x21] + framed(records[...])),
            ("records-torn", [1] + framed(short) + [0x7F, 0xFF, 1, 2, 3]),
            ("records-gap", [3] + framed(records.prefix(1)) + framed(records.dropFirst(2).prefix(2))),
            ("records-read-only", [5] + framed(short)),
        ]
    }

    // MARK: - snapshot

    static func snapshotSeeds() throws -> [(name: String, bytes: [UInt8])] {
        let fixture = Fixture.shared
        var seeds: [(name: String, bytes: [UInt8])] = []
        func write(_ name: String, _ value: DurableState) throws {
            let storage = MemoryStorage()
            _ = try StateDirectory(storage: storage, path: SnapshotFuzz.directory).writeSnapshot(value, writtenAt: SnapshotFuzz.writtenAt)
            guard let file = storage.contents.values.first else { throw Violation("writeSnapshot wrote no file") }
            seeds.append((name, [0] + file))
            seeds.append((name + "-payload", [1] + file.dropFirst(32)))
        }
        // The fixture as recovery rebuilds it from its journal, idempotent reply and all.
        let journal = MemoryStorage()
        let segment = try journalRecords().reduce(JournalFormat.header(firstLSN: 1)) { $0 + JournalFormat.frame($1) }
        try journal.writeAtomically(segment, to: JournalFuzz.directory + "/" + JournalFormat.segmentName(firstLSN: 1))
        let recovered = try StateDirectory(storage: journal, path: JournalFuzz.directory).recover(logger: JournalFuzz.logger)
        try write("fixture", recovered.durable)
        try write("empty", DurableState(state: AccessState(), history: EventHistory()))
        // A small state: the first account alone.
        var small = AccessState()
        do {
            try small.apply(fixture.writes[0])
        } catch {
            throw Violation("the first write does not apply to an empty state: \(error)")
        }
        try write("one-account", DurableState(state: small, history: EventHistory(), lsn: 1))
        return seeds
    }

    // MARK: - config

    static func configSeeds() -> [(name: String, bytes: [UInt8])] {
        let full = """
            # every key
            socket = /run/accessd/accessd.sock
            state_dir = /var/lib/accessd
            admin_uids = 0, 1001
            admin_gids = 27
            max_frame_bytes = 4194304
            max_calls_per_connection = 128
            max_connections = 1024
            frame_stall_timeout_ms = 10000
            snapshot_interval_s = 60
            drain_timeout_s = 10
            activation_lifetime_s = 604800
            event_retention = 100000
            log_level = info
            fsync = interval
            snapshot_every_records = 100000
            event_loops = 2

            """
        // Every key of the table at its default (a path where the default is where accessd runs).
        let everyKey = ConfigKey.allCases.filter { $0.spec.formerNameOf == nil }.map { key in
            "\(key.name) = \(key.spec.defaultValue ?? "/run/accessd/\(key.name)")"
        }.joined(separator: "\n") + "\n"
        let texts: [(String, String)] = [
            ("full", full),
            ("every-key", everyKey),
            ("systemd", "# /etc/accessd/accessd.conf\nsocket = /run/accessd.sock\n\n# admin_gids = 27\n\nlog_level = info\n"),
            ("unknown-key", "socket = /a\nsokcet = /b\n"),
            ("no-equals", "\n\nmax_connections 10\n"),
            ("bad-number", "max_frame_bytes = 12\n"),
            ("bad-ids", "admin_uids = 0, root\n"),
            ("bad-fsync", "log_level = debug\nfsync = sometimes\n"),
            ("comments", "  # only comments   \n\t# and tabs\nevent_loops = 4 # trailing\n"),
            ("crlf", "socket = /run/a.sock\r\nevent_loops = 3\r\n"),
            ("empty", ""),
        ]
        return texts.map { ($0.0, Array($0.1.utf8)) }
    }
}
