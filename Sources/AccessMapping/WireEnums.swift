package import AccessCore
package import AccessWire

/// A domain enum and the proto enum that carries it on the wire.
///
/// The proto enums have an UNSPECIFIED zero (except the ones whose zero is a
/// real value, such as `ACCESS_REQUEST_STATUS_NONE`) and keep values this
/// build does not know as `UNRECOGNIZED(n)`; neither maps to a domain value.
package protocol WireMappedEnum: CaseIterable, Hashable, Sendable {
    associatedtype Wire: RawRepresentable & Hashable where Wire.RawValue == Int
    /// The proto enum's full name, for messages ("accessd.v1.AccountKind").
    static var wireEnumName: String { get }
    /// The prefix of the proto value names ("ACCOUNT_KIND_").
    static var wirePrefix: String { get }
    /// The domain value's name without the prefix ("STANDARD").
    var wireSuffix: String { get }
    var wire: Wire { get }
}

extension WireMappedEnum {
    /// The proto value's name, for example `ACCOUNT_KIND_STANDARD`.
    package var wireName: String { Self.wirePrefix + wireSuffix }

    /// The domain value for a wire value; nil for UNSPECIFIED and unknown values.
    package static func from(wire: Wire) -> Self? { allCases.first { $0.wire == wire } }

    /// A wire value that must name a domain value; INVALID_ARGUMENT otherwise,
    /// saying which values there are.
    package static func parse(_ wire: Wire, field: @autoclosure () -> String) throws(AccessError) -> Self {
        if let value = from(wire: wire) { return value }
        let choices = allCases.map(\.wireName).joined(separator: ", ")
        if wire.rawValue == 0 {
            throw AccessError(.invalidArgument, "\(field()) is not set (\(wirePrefix)UNSPECIFIED); set it to one of \(choices)")
        }
        throw AccessError(
            .invalidArgument,
            "\(field()) is \(wire.rawValue), which is not a value of \(wireEnumName) this daemon knows; use one of \(choices)")
    }
}

extension AccountKind: WireMappedEnum {
    package static var wireEnumName: String { "accessd.v1.AccountKind" }
    package static var wirePrefix: String { "ACCOUNT_KIND_" }
    package var wireSuffix: String { rawValue }
    package var wire: Accessd_V1_AccountKind {
        switch self {
        case .standard: .standard
        case .agency: .agency
        case .partner: .partner
        }
    }
}

extension Region: WireMappedEnum {
    package static var wireEnumName: String { "accessd.v1.Region" }
    package static var wirePrefix: String { "REGION_" }
    package var wireSuffix: String { rawValue }
    package var wire: Accessd_V1_Region {
        switch self {
        case .global: .global
        case .eu: .eu
        }
    }
}

extension Permission {
    /// `from(wire:)` without the generic search (Check's hot path): a table
    /// by wire value, derived from `wire`, so the mapping is written once.
    package static func fromWire(_ wire: Accessd_V1_Permission) -> Permission? {
        let value = wire.rawValue
        return value >= 0 && value < byWireValue.count ? byWireValue[value] : nil
    }

    private static let byWireValue: [Permission?] = {
        var table = [Permission?](repeating: nil, count: (allCases.map(\.wire.rawValue).max() ?? 0) + 1)
        for permission in allCases { table[permission.wire.rawValue] = permission }
        return table
    }()
}

extension Permission: WireMappedEnum {
    package static var wireEnumName: String { "accessd.v1.Permission" }
    package static var wirePrefix: String { "PERMISSION_" }
    package var wireSuffix: String { name }
    package var wire: Accessd_V1_Permission {
        switch self {
        case .editAccountSettings: .editAccountSettings
        case .viewProjects: .viewProjects
        case .viewAllProjects: .viewAllProjects
        case .manageProjects: .manageProjects
        case .manageProducts: .manageProducts
        case .viewBilling: .viewBilling
        case .editBilling: .editBilling
        case .shareAccess: .shareAccess
        case .manageClients: .manageClients
        }
    }
}

extension UserStatus: WireMappedEnum {
    package static var wireEnumName: String { "accessd.v1.UserStatus" }
    package static var wirePrefix: String { "USER_STATUS_" }
    package var wireSuffix: String { rawValue }
    package var wire: Accessd_V1_UserStatus {
        switch self {
        case .pending: .pending
        case .active: .active
        case .deactivated: .deactivated
        }
    }
}

extension RoleAccess: WireMappedEnum {
    package static var wireEnumName: String { "accessd.v1.RoleAccess" }
    package static var wirePrefix: String { "ROLE_ACCESS_" }
    package var wireSuffix: String { rawValue }
    package var wire: Accessd_V1_RoleAccess {
        switch self {
        case .full: .full
        case .viewer: .viewer
        }
    }
}

extension ProjectVisibility: WireMappedEnum {
    package static var wireEnumName: String { "accessd.v1.ProjectVisibility" }
    package static var wirePrefix: String { "PROJECT_VISIBILITY_" }
    package var wireSuffix: String { rawValue }
    package var wire: Accessd_V1_ProjectVisibility {
        switch self {
        case .public: .public
        case .private: .private
        }
    }
}

extension ProductKind: WireMappedEnum {
    package static var wireEnumName: String { "accessd.v1.ProductKind" }
    package static var wirePrefix: String { "PRODUCT_KIND_" }
    package var wireSuffix: String { rawValue }
    package var wire: Accessd_V1_ProductKind {
        switch self {
        case .container: .container
        case .gateway: .gateway
        }
    }
}

extension AccessRequestStatus: WireMappedEnum {
    package static var wireEnumName: String { "accessd.v1.AccessRequestStatus" }
    package static var wirePrefix: String { "ACCESS_REQUEST_STATUS_" }
    package var wireSuffix: String { rawValue }
    package var wire: Accessd_V1_AccessRequestStatus {
        switch self {
        case .none: .none
        case .pending: .pending
        case .approved: .approved
        case .denied: .denied
        }
    }
}

extension UserSortField: WireMappedEnum {
    package static var wireEnumName: String { "accessd.v1.UserSortField" }
    package static var wirePrefix: String { "USER_SORT_FIELD_" }
    package var wireSuffix: String { rawValue.uppercased() }
    package var wire: Accessd_V1_UserSortField {
        switch self {
        case .name: .name
        case .email: .email
        case .status: .status
        case .role: .role
        case .permissions: .permissions
        case .offices: .offices
        }
    }
}

// MARK: - Public conversions, domain to wire

extension Accessd_V1_AccountKind {
    package init(_ kind: AccountKind) { self = kind.wire }
}

extension Accessd_V1_Region {
    package init(_ region: Region) { self = region.wire }
}

extension Accessd_V1_Permission {
    package init(_ permission: Permission) { self = permission.wire }
}

extension Accessd_V1_UserStatus {
    package init(_ status: UserStatus) { self = status.wire }
}

extension Accessd_V1_RoleAccess {
    package init(_ access: RoleAccess) { self = access.wire }
}

extension Accessd_V1_ProjectVisibility {
    package init(_ visibility: ProjectVisibility) { self = visibility.wire }
}

extension Accessd_V1_ProductKind {
    package init(_ kind: ProductKind) { self = kind.wire }
}

extension Accessd_V1_AccessRequestStatus {
    package init(_ status: AccessRequestStatus) { self = status.wire }
}

extension Accessd_V1_UserSortField {
    package init(_ field: UserSortField) { self = field.wire }
}

extension Accessd_V1_BuiltInRole {
    package init(_ builtIn: BuiltInRole?) {
        switch builtIn {
        case nil: self = .none
        case .accountOwner: self = .accountOwner
        case .member: self = .member
        case .viewer: self = .viewer
        }
    }
}

extension BuiltInRole {
    /// `BUILT_IN_ROLE_NONE` is nil; an unknown value is INVALID_ARGUMENT.
    package static func parse(_ wire: Accessd_V1_BuiltInRole, field: @autoclosure () -> String) throws(AccessError) -> BuiltInRole? {
        switch wire {
        case .none: return nil
        case .accountOwner: return .accountOwner
        case .member: return .member
        case .viewer: return .viewer
        case .UNRECOGNIZED(let value):
            throw AccessError(
                .invalidArgument,
                "\(field()) is \(value), which is not a value of accessd.v1.BuiltInRole this daemon knows; use one of BUILT_IN_ROLE_NONE, BUILT_IN_ROLE_ACCOUNT_OWNER, BUILT_IN_ROLE_MEMBER, BUILT_IN_ROLE_VIEWER"
            )
        }
    }
}

// MARK: - Permissions

extension Permissions {
    /// The permissions in declaration order, as the wire lists them.
    package var wire: [Accessd_V1_Permission] { members.map(\.wire) }

    /// A list of permissions from the wire: every entry must be a known
    /// permission (`field[i]` names the bad one). Repeats are harmless.
    package static func parse(_ wire: [Accessd_V1_Permission], field: @autoclosure () -> String) throws(AccessError) -> Permissions {
        var result = Permissions()
        for (index, value) in wire.enumerated() {
            result.insert(Permissions(try Permission.parse(value, field: "\(field())[\(index)]")))
        }
        return result
    }
}
