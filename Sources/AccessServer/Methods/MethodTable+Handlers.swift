import AccessMapping
import AccessCore

extension MethodTable {
    /// Every rpc of every service in `proto/accessd/v1`, by full path
    /// ("/accessd.v1.UserService/AddUser"). Built once.
    public static let handlers: [String: MethodHandler] = {
        var table: [String: MethodHandler] = [:]
        let services: [(service: String, methods: [(String, MethodHandler)])] = [
            ("AccessService", accessService),
            ("AccountService", accountService),
            ("AdminService", adminService),
            ("ClientService", clientService),
            ("EventService", eventService),
            ("HealthService", healthService),
            ("OfficeService", officeService),
            ("ProductService", productService),
            ("ProjectService", projectService),
            ("RoleService", roleService),
            ("SharingService", sharingService),
            ("UserService", userService),
        ]
        for (service, methods) in services {
            for (method, handler) in methods {
                let path = path(service: service, method: method)
                precondition(table[path] == nil, "two handlers for \(path)")
                table[path] = handler
            }
        }
        return table
    }()
}
