import AccessWire
import Foundation
import SwiftProtobuf
import Testing

@testable import accessctl

/// `--json` (JSONOutput), held against SwiftProtobuf's own JSON of the same
/// messages: the same fields with the same values, plus every field at its
/// default, integers as numbers and enums without their prefix.
@Suite struct JSONOutputTests {
    /// Parses one JSON document.
    static func parse(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    /// Whether `ours` says what `theirs` (SwiftProtobuf's JSON, 64-bit
    /// integers as numbers) says, and everything theirs leaves out is a default.
    static func agree(_ ours: Any, _ theirs: Any, at path: String = "$") -> [String] {
        switch (ours, theirs) {
        case (let ours as [String: Any], let theirs as [String: Any]):
            var problems: [String] = []
            for (key, value) in theirs {
                guard let mine = ours[key] else {
                    problems.append("\(path).\(key): missing")
                    continue
                }
                problems += agree(mine, value, at: "\(path).\(key)")
            }
            for (key, value) in ours where theirs[key] == nil && !isDefault(value) {
                problems.append("\(path).\(key): \(value) is not a default, and SwiftProtobuf left it out")
            }
            return problems
        case (let ours as [Any], let theirs as [Any]):
            guard ours.count == theirs.count else { return ["\(path): \(ours.count) elements, not \(theirs.count)"] }
            return zip(ours, theirs).enumerated().flatMap {
                agree($0.element.0, $0.element.1, at: "\(path)[\($0.offset)]")
            }
        case (let ours as String, let theirs as String):
            // An enum: SwiftProtobuf writes USER_STATUS_ACTIVE where we write ACTIVE.
            return ours == theirs || theirs.hasSuffix("_" + ours) ? [] : ["\(path): \(ours) for \(theirs)"]
        case (let ours as Bool, let theirs as Bool):
            return ours == theirs ? [] : ["\(path): \(ours) for \(theirs)"]
        case (let ours as NSNumber, let theirs as NSNumber):
            return ours == theirs ? [] : ["\(path): \(ours) for \(theirs)"]
        default:
            return ["\(path): \(type(of: ours)) \(ours) for \(type(of: theirs)) \(theirs)"]
        }
    }

    static func isDefault(_ value: Any) -> Bool {
        switch value {
        case is NSNull: return true
        case let text as String: return text.isEmpty || text == "UNSPECIFIED"
        case let flag as Bool: return !flag
        case let number as NSNumber: return number == 0 || number == false
        case let list as [Any]: return list.isEmpty
        case let object as [String: Any]: return object.values.allSatisfy(isDefault)
        default: return false
        }
    }

    static func check(_ message: some SwiftProtobuf.Message, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let ours = try JSONOutput.document(message)
        #expect(!ours.contains("\n"), "one line", sourceLocation: sourceLocation)
        var options = JSONEncodingOptions()
        options.alwaysPrintInt64sAsNumbers = true
        let theirs = try message.jsonString(options: options)
        let problems = agree(try parse(ours), try parse(theirs))
        #expect(problems.isEmpty, "\(problems)\nours:   \(ours)\ntheirs: \(theirs)", sourceLocation: sourceLocation)
    }

    static var user: Accessd_V1_User {
        var user = Accessd_V1_User()
        user.id = "usr_5"
        user.email = "olga@acme.example"
        user.firstName = "Olga \"O'Neil\"\n\u{1}"
        user.accountID = "acc_1"
        user.roleID = "rol_2"
        user.status = .active
        user.extraPermissions = [.editBilling, .shareAccess]
        user.createdAtMs = 1_796_176_983_191
        return user
    }

    @Test func everyFieldIsThereWithItsDefault() throws {
        let text = try JSONOutput.document(Accessd_V1_CheckResponse())
        #expect(text == #"{"allowed":false,"path":null,"reason":"","deniedBy":""}"#)
        let users = try JSONOutput.document(Accessd_V1_ListUsersResponse())
        #expect(
            users
                == #"{"users":[],"nextPageToken":"","licensesInUse":0,"licenseCount":0,"totalUsers":0,"totalMatching":0}"#
        )
        let user = try #require(try Self.parse(try JSONOutput.document(Accessd_V1_User())) as? [String: Any])
        #expect(user["status"] as? String == "UNSPECIFIED")
        #expect((user["extraPermissions"] as? [Any])?.isEmpty == true)
        #expect(user["officeIds"] is [Any])
    }

    @Test func integersAreNumbersDigitForDigit() throws {
        var stats = Accessd_V1_GetStatsResponse()
        stats.revision = UInt64.max
        stats.lastSnapshotAtMs = Int64.min
        stats.connections = 3
        let text = try JSONOutput.document(stats)
        #expect(text.contains(#""revision":18446744073709551615,"#), "\(text)")
        #expect(text.contains(#""lastSnapshotAtMs":-9223372036854775808,"#), "\(text)")
        let object = try #require(try Self.parse(text) as? [String: Any])
        #expect(object["connections"] as? NSNumber == 3 && !(object["connections"] is String))
        var caller = Accessd_V1_Caller()
        caller.pid = -7
        #expect(try JSONOutput.document(caller) == #"{"uid":0,"pid":-7}"#)
    }

    @Test func enumsLoseTheirPrefix() throws {
        let object = try #require(try Self.parse(try JSONOutput.document(Self.user)) as? [String: Any])
        #expect(object["status"] as? String == "ACTIVE")
        #expect(object["extraPermissions"] as? [String] == ["EDIT_BILLING", "SHARE_ACCESS"])
        // Every enum value of the protos has its enum's prefix, so that names without it are still distinct.
        let set = try Google_Protobuf_FileDescriptorSet(
            serializedBytes: try #require(Data(base64Encoded: WireDescriptors.fileDescriptorSetBase64))
        )
        var count = 0
        for file in set.file {
            for descriptor in file.enumType + file.messageType.flatMap(\.enumType) {
                let prefix = JSONOutput.Schema.upperSnake(descriptor.name) + "_"
                for value in descriptor.value {
                    #expect(value.name.hasPrefix(prefix), "\(descriptor.name).\(value.name)")
                    count += 1
                }
            }
        }
        #expect(count > 40)
        var unnamed = Accessd_V1_User()
        unnamed.status = .UNRECOGNIZED(42)
        #expect(
            try JSONOutput.document(unnamed).contains(#""status":42,"#),
            "a number the protos do not name stays a number"
        )
    }

    @Test func itSaysWhatSwiftProtobufSays() throws {
        try Self.check(Self.user)
        var users = Accessd_V1_ListUsersResponse()
        var row = Accessd_V1_UserRow()
        row.id = "usr_5"
        row.status = .pending
        row.permissions = [.viewProjects]
        var office = Accessd_V1_Office()
        office.id = "off_3"
        office.name = "Berlin"
        row.offices = [office, office]
        users.users = [row, Accessd_V1_UserRow()]
        users.totalUsers = 2
        users.nextPageToken = "ab"
        try Self.check(users)
        var event = Accessd_V1_Event()
        event.seq = 12
        event.userAdded = Self.user
        event.caller.uid = 1000
        try Self.check(event)
        var check = Accessd_V1_CheckResponse()
        check.path.clientLink.agencyAccountID = "acc_9"
        check.path.clientLink.roleID = "rol_3"
        try Self.check(check)
        var request = Accessd_V1_Request()
        request.id = 7
        request.payload = Data([0, 1, 2, 250])
        request.metadata = ["trace": "abc", "b": ""]
        request.timeoutMs = 1500
        try Self.check(request)
        try Self.check(Accessd_V1_GetStatsResponse())
        var accounts = Accessd_V1_ListAccountsResponse()
        var account = Accessd_V1_Account()
        account.id = "acc_1"
        account.kind = .agency
        account.billing.companyName = "Acme GmbH"
        accounts.accounts = [account]
        try Self.check(accounts)
    }

    @Test func aMapIsAnObjectAndBytesAreBase64() throws {
        var request = Accessd_V1_Request()
        request.payload = Data([0, 1, 2, 250])
        request.metadata = ["trace": "abc"]
        let object = try #require(try Self.parse(try JSONOutput.document(request)) as? [String: Any])
        #expect(object["metadata"] as? [String: String] == ["trace": "abc"])
        #expect(object["payload"] as? String == "AAEC+g==")
        #expect(object["dryRun"] as? Bool == false)
    }
}
