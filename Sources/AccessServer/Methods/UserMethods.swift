import AccessMapping
import AccessCore
import AccessWire

extension MethodTable {
    /// UserService (R4-R12).
    static var userService: [(String, MethodHandler)] {
        [
            (
                "AddUser",
                Handlers.write(
                    Accessd_V1_AddUserRequest.self,
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
                    reply: userReply)
            ),
            (
                "GetUser",
                Handlers.read(Accessd_V1_GetUserRequest.self) { request, context throws(AccessError) in
                    let id: UserID = try WireInput.id(request.userID, field: "user_id")
                    return Accessd_V1_User(try context.state.getUser(id, as: context.principal))
                }
            ),
            (
                "EditUser",
                Handlers.write(
                    Accessd_V1_EditUserRequest.self,
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
                    reply: userReply)
            ),
            ("DeactivateUser", userWrite { .deactivateUser($0) }),
            ("ReactivateUser", userWrite { .reactivateUser($0) }),
            ("ResendActivation", userWrite { .resendActivation($0) }),
            (
                "ActivateUser",
                Handlers.write(
                    Accessd_V1_ActivateUserRequest.self,
                    command: { request, _ throws(AccessError) in .activateUser(token: request.token) },
                    reply: userReply)
            ),
            (
                "ListUsers",
                Handlers.read(Accessd_V1_ListUsersRequest.self) { request, context throws(AccessError) in
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
                }
            ),
        ]
    }

    /// A UserRequest write answered with the user after it.
    private static func userWrite(_ make: @escaping @Sendable (UserID) -> Command) -> MethodHandler {
        Handlers.write(
            Accessd_V1_UserRequest.self,
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
