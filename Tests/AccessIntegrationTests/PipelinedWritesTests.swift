import AccessTestSupport
import AccessWire
import Foundation
import SwiftProtobuf
import Testing

/// docs/protocol.md, "Frames": writes received on one connection are applied
/// in the order they were sent. A write sent right behind another, in the same
/// read, may name what that one created or changed: its command and its actor
/// are resolved at the state's owner against the working state, not against
/// the state published before either ran. Against the real `accessd` binary.
@Suite(.serialized) struct PipelinedWritesTests {
    static let admin = "/accessd.v1.AdminService/"
    static let roles = "/accessd.v1.RoleService/"
    static let users = "/accessd.v1.UserService/"
    static let olga = "olga@acme.example"

    /// The replies to `count` calls, by id.
    static func replies(_ connection: RawConnection, count: Int) throws -> [UInt64: Accessd_V1_Response] {
        var replies: [UInt64: Accessd_V1_Response] = [:]
        while replies.count < count {
            let response = try connection.readResponse(timeout: 10)
            replies[response.id] = response
        }
        return replies
    }

    @Test func aWriteInTheSameReadNamesWhatTheWriteBeforeItCreated() throws {
        let directory = SystemdTestSupport.temporaryDirectory("pipelined")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socketPath = directory + "/run/accessd.sock"
        let notify = try NotifySocket(path: directory + "/notify.sock")
        let daemon = try DaemonProcess.accessd(
            arguments: ["--socket", socketPath, "--state-dir", directory + "/state"],
            environment: ["NOTIFY_SOCKET": notify.path], directory: directory)
        #expect(notify.waitFor("READY=1") != nil, "\(daemon.stderr)")
        let connection = try RawConnection(path: socketPath)

        var create = Accessd_V1_CreateAccountRequest()
        create.name = "Acme"
        create.fullAccessLicenses = 3
        create.ownerEmail = "olga@acme.example"
        create.ownerFirstName = "Olga"
        create.ownerLastName = "Owner"
        let created = try connection.call(Self.admin + "CreateAccount", create, id: 1)
        try #require(created.code == 0, "\(created.message)")
        let account = try Accessd_V1_CreateAccountResponse(serializedBytes: created.payload)
        let acme = account.account.id

        // Four writes in one read: a role, a user with that role by name, the
        // owner's new email, and a write by the owner named by that email.
        var role = Accessd_V1_CreateRoleRequest()
        role.accountID = acme
        role.name = "Auditors"
        role.access = .viewer
        role.permissions = [.viewProjects]
        var user = Accessd_V1_AddUserRequest()
        user.accountID = acme
        user.email = "ann@acme.example"
        user.firstName = "Ann"
        user.lastName = "Auditor"
        user.role = "Auditors"
        var email = Accessd_V1_EditUserRequest()
        email.userID = account.owner.id
        email.email = "olga.owner@acme.example"
        var second = Accessd_V1_CreateRoleRequest()
        second.accountID = acme
        second.name = "Reviewers"
        second.access = .viewer
        second.permissions = [.viewProjects]
        try connection.writeBytes(
            try RawConnection.frames([
                try Accessd_V1_Request(id: 2, method: Self.roles + "CreateRole", role, actor: Self.olga),
                try Accessd_V1_Request(id: 3, method: Self.users + "AddUser", user, actor: Self.olga),
                try Accessd_V1_Request(id: 4, method: Self.users + "EditUser", email, actor: Self.olga),
                try Accessd_V1_Request(id: 5, method: Self.roles + "CreateRole", second, actor: "olga.owner@acme.example"),
            ]))
        let replies = try Self.replies(connection, count: 4)
        for id in 2...5 as ClosedRange<UInt64> {
            #expect(replies[id]?.code == 0, "call \(id): \(replies[id]?.message ?? "no reply")")
        }
        let auditors = try Accessd_V1_RoleResponse(serializedBytes: replies[2]?.payload ?? Data()).role
        let ann = try Accessd_V1_UserResponse(serializedBytes: replies[3]?.payload ?? Data()).user
        #expect(ann.roleID == auditors.id && !auditors.id.isEmpty, "Ann has the role created one frame before")

        // What a write names that does not exist yet, even later in the same read, is still NOT_FOUND.
        var early = user
        early.email = "bob@acme.example"
        early.role = "Editors"
        var editors = role
        editors.name = "Editors"
        try connection.writeBytes(
            try RawConnection.frames([
                try Accessd_V1_Request(id: 6, method: Self.users + "AddUser", early, actor: "olga.owner@acme.example"),
                try Accessd_V1_Request(id: 7, method: Self.roles + "CreateRole", editors, actor: "olga.owner@acme.example"),
            ]))
        let later = try Self.replies(connection, count: 2)
        #expect(later[6]?.code == 5, "NOT_FOUND: the role comes after: \(later[6]?.message ?? "")")
        #expect(later[7]?.code == 0, "\(later[7]?.message ?? "")")
        daemon.signal(SIGTERM)
        #expect(daemon.wait() == 0, "\(daemon.stderr)")
    }
}
