/// One permission of the domain. An Account Owner holds all of them.
public enum Permission: Int, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// Users, roles, offices and the account name (R4).
    case editAccountSettings = 0
    case viewProjects
    case viewAllProjects
    case manageProjects
    case manageProducts
    case viewBilling
    case editBilling
    case shareAccess
    case manageClients

    /// The name used on the wire and in messages, for example `EDIT_ACCOUNT_SETTINGS`.
    public var name: String {
        switch self {
        case .editAccountSettings: "EDIT_ACCOUNT_SETTINGS"
        case .viewProjects: "VIEW_PROJECTS"
        case .viewAllProjects: "VIEW_ALL_PROJECTS"
        case .manageProjects: "MANAGE_PROJECTS"
        case .manageProducts: "MANAGE_PRODUCTS"
        case .viewBilling: "VIEW_BILLING"
        case .editBilling: "EDIT_BILLING"
        case .shareAccess: "SHARE_ACCESS"
        case .manageClients: "MANAGE_CLIENTS"
        }
    }

    public init?(name: String) {
        guard let match = Permission.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    public var description: String { name }
}

/// A set of permissions, stored as a bit set (two bytes per user).
public struct Permissions: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue & Permissions.allBits }

    public init(_ permission: Permission) { self.init(rawValue: 1 << UInt16(permission.rawValue)) }

    public init<S: Sequence>(_ permissions: S) where S.Element == Permission {
        self.init(rawValue: permissions.reduce(0) { $0 | (1 << UInt16($1.rawValue)) })
    }

    private static let allBits: UInt16 = (1 << UInt16(Permission.allCases.count)) - 1

    public static let all = Permissions(rawValue: allBits)
    /// The only permissions a VIEWER role or a user with one may carry (R10).
    public static let viewerAllowed = Permissions([.viewProjects, .viewBilling])

    public func contains(_ permission: Permission) -> Bool { contains(Permissions(permission)) }

    /// The permissions in declaration order.
    public var members: [Permission] { Permission.allCases.filter { contains($0) } }

    public var description: String { "[" + members.map(\.name).joined(separator: ", ") + "]" }
}
