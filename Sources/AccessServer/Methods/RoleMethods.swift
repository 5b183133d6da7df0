import AccessMapping
import AccessCore
import AccessWire

extension MethodTable {
    /// RoleService (R4, R10).
    static var roleService: [Entry] {
        [
            Handlers.write(
                Methods.createRole,
                command: { request, _ throws(AccessError) in
                    .createRole(
                        account: try WireInput.id(request.accountID, field: "account_id"), name: request.name,
                        access: try RoleAccess.parse(request.access, field: "access"),
                        permissions: try Permissions.parse(request.permissions, field: "permissions"))
                },
                reply: roleReply),
            Handlers.read(Methods.getRole) { request, context throws(AccessError) in
                let id: RoleID = try WireInput.id(request.roleID, field: "role_id")
                return Accessd_V1_Role(try context.state.getRole(id, as: context.principal))
            },
            Handlers.read(Methods.listRoles) { request, context throws(AccessError) in
                let account: AccountID = try WireInput.id(request.accountID, field: "account_id")
                var response = Accessd_V1_ListRolesResponse()
                response.roles = try context.state.listRoles(account, as: context.principal).map(Accessd_V1_Role.init)
                return response
            },
            Handlers.write(
                Methods.editRole,
                command: { request, _ throws(AccessError) in
                    .editRole(
                        EditRole(
                            role: try WireInput.id(request.roleID, field: "role_id"),
                            name: request.hasName ? request.name : nil,
                            access: request.access == .unspecified
                                ? nil : try RoleAccess.parse(request.access, field: "access"),
                            permissions: try WireInput.permissionReplacement(
                                request.permissions, field: "permissions", flag: request.setPermissions,
                                flagField: "set_permissions")))
                },
                reply: roleReply),
            Handlers.write(Methods.deleteRole) { request, _ throws(AccessError) in
                .deleteRole(try WireInput.id(request.roleID, field: "role_id"))
            },
        ]
    }

    @Sendable private static func roleReply(_ events: [Event], _ state: AccessState) -> Accessd_V1_RoleResponse {
        var response = Accessd_V1_RoleResponse()
        if let role = events.changedRole() { response.role = Accessd_V1_Role(role) }
        response.events = Handlers.wire(events)
        return response
    }
}
