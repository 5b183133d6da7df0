import AccessMapping
import AccessCore
import AccessWire

extension MethodTable {
    /// UserService (R4-R12).
    static var userService: [Entry] {
        [
            Handlers.write(
                Methods.addUser,
                command: { request, state throws(AccessError) in
                    let account: AccountID = try WireInput.id(request.accountID, field: "account_id")
                    return .addUser(
                        AddUser(
                            account: account, email: request.email, firstName: request.firstName,
                            lastName: request.lastName,
                            role: try WireInput.role(request.role, field: "role", in: account, state: state),
                            extraPermissions: try Permissions.parse(request.extraPermissions, field: "extra_permissions"),
                            offices: try WireInput.idSet(request.officeIds, field: "office_ids")))
                },
                reply: userReply),
            Handlers.read(Methods.getUser) { request, context throws(AccessError) in
                let id: UserID = try WireInput.id(request.userID, field: "user_id")
                return Accessd_V1_User(try context.state.getUser(id, as: context.principal))
            },
            Handlers.write(
                Methods.editUser,
                command: { request, state throws(AccessError) in
                    let id: UserID = try WireInput.id(request.userID, field: "user_id")
                    var role: RoleID?
                    if !WireInput.trimmed(request.role).isEmpty {
                        // A role id or name of the user's account.
                        guard let user = state.users[id] else { throw AccessError(.notFound, "no user \(PeerText.quote(id))") }
                        role = try WireInput.role(request.role, field: "role", in: user.account, state: state)
                    }
                    return .editUser(
                        EditUser(
                            user: id, firstName: request.hasFirstName ? request.firstName : nil,
                            lastName: request.hasLastName ? request.lastName : nil,
                            email: request.hasEmail ? request.email : nil,
                            offices: try WireInput.replacement(
                                request.officeIds, field: "office_ids", flag: request.setOffices, flagField: "set_offices"),
                            role: role,
                            extraPermissions: try WireInput.permissionReplacement(
                                request.extraPermissions, field: "extra_permissions", flag: request.setExtraPermissions,
                                flagField: "set_extra_permissions")))
                },
                reply: userReply),
            userWrite(Methods.deactivateUser) { .deactivateUser($0) },
            userWrite(Methods.reactivateUser) { .reactivateUser($0) },
            userWrite(Methods.resendActivation) { .resendActivation($0) },
            Handlers.write(
                Methods.activateUser,
                command: { request, _ throws(AccessError) in .activateUser(token: request.token) },
                reply: userReply),
            Handlers.read(Methods.listUsers) { request, context throws(AccessError) in
                var statuses = Set<UserStatus>()
                for (index, status) in request.statuses.enumerated() {
                    statuses.insert(try UserStatus.parse(status, field: "statuses[\(index)]"))
                }
                let query = ListUsersQuery(
                    account: try WireInput.id(request.accountID, field: "account_id"),
                    sortBy: try UserSortField.parse(request.sortBy, field: "sort_by"), descending: request.descending,
                    search: request.search, statuses: statuses,
                    roles: try WireInput.idSet(request.roleIds, field: "role_ids"),
                    offices: try WireInput.idSet(request.officeIds, field: "office_ids"),
                    permissions: try Permissions.parse(request.permissions, field: "permissions"),
                    pageSize: Int(request.pageSize), pageToken: request.pageToken)
                return Accessd_V1_ListUsersResponse(try context.state.listUsers(query, as: context.principal))
            },
        ]
    }

    /// A UserRequest write answered with the user after it.
    /// A UserRequest write answered with the user after it.
    private static func userWrite(
        _ method: Method<Accessd_V1_UserRequest, Accessd_V1_UserResponse>, _ make: @escaping @Sendable (UserID) -> Command
    ) -> Entry {
        Handlers.write(
            method,
            command: { request, _ throws(AccessError) in make(try WireInput.id(request.userID, field: "user_id")) },
            reply: userReply)
    }

    @Sendable private static func userReply(_ events: [Event], _ state: AccessState) -> Accessd_V1_UserResponse {
        var response = Accessd_V1_UserResponse()
        if let user = events.changedUser(in: state) { response.user = Accessd_V1_User(user) }
        response.events = Handlers.wire(events)
        return response
    }
}
