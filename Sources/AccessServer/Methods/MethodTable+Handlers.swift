import AccessMapping
import AccessCore
public import AccessWire

extension MethodTable {
    /// Every method of the catalogue with its handler, by path
    /// ("/accessd.v1.UserService/AddUser"). Built once.
    public static let entries: [String: Entry] = {
        var table: [String: Entry] = [:]
        let services: [[Entry]] = [
            accessService, accountService, adminService, clientService, eventService, healthService,
            officeService, productService, projectService, roleService, sharingService, userService,
        ]
        for entry in services.joined() {
            precondition(table[entry.method.path] == nil, "two handlers for \(entry.method.path)")
            table[entry.method.path] = entry
        }
        return table
    }()

    /// The handler of every method, by path.
    public static let handlers: [String: MethodHandler] = entries.mapValues(\.handler)

    /// The handler of a method of the catalogue.
    public static func handler<Request, Response>(_ method: Method<Request, Response>) -> MethodHandler? {
        handlers[method.path]
    }
}
