public import SwiftProtobuf

/// What a method does, as the daemon serves it.
public enum MethodKind: Sendable, Hashable {
    /// One reply, from a state the daemon has published; it changes nothing
    /// (`min_revision` applies; `dry_run` and idempotency keys do not).
    case read
    /// One reply, after the state's owner has decided and applied the
    /// command in order with the other writes (`dry_run` and idempotency keys apply).
    case write
    /// Server streaming: replies with `more` set, then a final one.
    case stream
}

/// Which peers may call a method (docs/protocol.md, "Who may call what").
public enum MethodAudience: Sendable, Hashable {
    /// Every peer the daemon admits, read-only peers included.
    case everyPeer
    /// Services and administrators: not read-only peers.
    case writers
    /// Administrators only (root, `admin_uids`, `admin_gids`). For the
    /// domain's calls (R1, R3, R20) the core decides it from the principal,
    /// naming the rule; for the daemon's own calls, the daemon from the peer.
    case administrators
}

/// A method of `proto/accessd/v1`, typed by its request and response
/// messages: `client.call(Methods.addUser, request)` can only send an
/// `AddUserRequest` and only decode a `UserResponse`.
public struct Method<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>: Sendable, Hashable {
    /// The service's name in package `accessd.v1` ("UserService").
    public let service: String
    /// The rpc's name ("AddUser").
    public let name: String
    public let kind: MethodKind
    public let audience: MethodAudience
    /// The full path the frames carry: "/accessd.v1.UserService/AddUser".
    public let path: String

    init(_ service: String, _ name: String, _ kind: MethodKind, _ audience: MethodAudience) {
        self.service = service
        self.name = name
        self.kind = kind
        self.audience = audience
        self.path = "/accessd.v1.\(service)/\(name)"
    }

    /// The method without its message types, for tables of every method.
    public var erased: AnyMethod {
        AnyMethod(
            service: service, name: name, kind: kind, audience: audience, path: path,
            requestType: Request.protoMessageName, responseType: Response.protoMessageName)
    }
}

/// A method of the catalogue without its message types.
public struct AnyMethod: Sendable, Hashable, CustomStringConvertible {
    public let service: String
    public let name: String
    public let kind: MethodKind
    public let audience: MethodAudience
    public let path: String
    /// The request message's full name ("accessd.v1.AddUserRequest").
    public let requestType: String
    /// The response message's full name ("accessd.v1.UserResponse").
    public let responseType: String

    /// May a read-only peer call it?
    public var openToReadOnlyPeers: Bool { kind != .write && audience == .everyPeer }

    public var description: String { path }
}

/// Every method of `proto/accessd/v1`: the one place a method's path, its
/// message types, its kind and who may call it are written down.
/// MethodCatalogueTests holds it equal to the protos' descriptors.
public enum Methods {
    // MARK: AccessService

    public static let check = Method<Accessd_V1_CheckRequest, Accessd_V1_CheckResponse>(
        "AccessService", "Check", .read, .everyPeer)
    public static let batchCheck = Method<Accessd_V1_BatchCheckRequest, Accessd_V1_BatchCheckResponse>(
        "AccessService", "BatchCheck", .read, .everyPeer)
    public static let listAccessibleAccounts = Method<Accessd_V1_ListAccessibleAccountsRequest, Accessd_V1_ListAccessibleAccountsResponse>(
        "AccessService", "ListAccessibleAccounts", .read, .everyPeer)

    // MARK: AccountService

    public static let getAccount = Method<Accessd_V1_GetAccountRequest, Accessd_V1_Account>(
        "AccountService", "GetAccount", .read, .everyPeer)
    public static let renameAccount = Method<Accessd_V1_RenameAccountRequest, Accessd_V1_WriteResponse>(
        "AccountService", "RenameAccount", .write, .writers)
    public static let getBilling = Method<Accessd_V1_GetBillingRequest, Accessd_V1_Billing>(
        "AccountService", "GetBilling", .read, .everyPeer)
    public static let updateBilling = Method<Accessd_V1_UpdateBillingRequest, Accessd_V1_WriteResponse>(
        "AccountService", "UpdateBilling", .write, .writers)

    // MARK: AdminService

    public static let createAccount = Method<Accessd_V1_CreateAccountRequest, Accessd_V1_CreateAccountResponse>(
        "AdminService", "CreateAccount", .write, .administrators)
    public static let setLicenseCount = Method<Accessd_V1_SetLicenseCountRequest, Accessd_V1_WriteResponse>(
        "AdminService", "SetLicenseCount", .write, .administrators)
    public static let snapshot = Method<Accessd_V1_SnapshotRequest, Accessd_V1_SnapshotResponse>(
        "AdminService", "Snapshot", .read, .administrators)
    public static let getStats = Method<Accessd_V1_GetStatsRequest, Accessd_V1_GetStatsResponse>(
        "AdminService", "GetStats", .read, .administrators)
    public static let backup = Method<Accessd_V1_BackupRequest, Accessd_V1_BackupChunk>(
        "AdminService", "Backup", .stream, .administrators)
    public static let getMetrics = Method<Accessd_V1_GetMetricsRequest, Accessd_V1_GetMetricsResponse>(
        "AdminService", "GetMetrics", .read, .administrators)
    public static let listAccounts = Method<Accessd_V1_ListAccountsRequest, Accessd_V1_ListAccountsResponse>(
        "AdminService", "ListAccounts", .read, .everyPeer)

    // MARK: ClientService

    public static let addClient = Method<Accessd_V1_ClientLinkRequest, Accessd_V1_ClientLinkResponse>(
        "ClientService", "AddClient", .write, .writers)
    public static let requestAccess = Method<Accessd_V1_ClientLinkRequest, Accessd_V1_ClientLinkResponse>(
        "ClientService", "RequestAccess", .write, .writers)
    public static let approveAccess = Method<Accessd_V1_ApproveAccessRequest, Accessd_V1_ClientLinkResponse>(
        "ClientService", "ApproveAccess", .write, .writers)
    public static let denyAccess = Method<Accessd_V1_ClientLinkRequest, Accessd_V1_ClientLinkResponse>(
        "ClientService", "DenyAccess", .write, .writers)
    public static let revokeAccess = Method<Accessd_V1_ClientLinkRequest, Accessd_V1_ClientLinkResponse>(
        "ClientService", "RevokeAccess", .write, .writers)
    public static let removeClient = Method<Accessd_V1_ClientLinkRequest, Accessd_V1_WriteResponse>(
        "ClientService", "RemoveClient", .write, .writers)
    public static let listClients = Method<Accessd_V1_ListClientsRequest, Accessd_V1_ListClientLinksResponse>(
        "ClientService", "ListClients", .read, .everyPeer)
    public static let listAgencies = Method<Accessd_V1_ListAgenciesRequest, Accessd_V1_ListClientLinksResponse>(
        "ClientService", "ListAgencies", .read, .everyPeer)

    // MARK: EventService

    public static let listEvents = Method<Accessd_V1_ListEventsRequest, Accessd_V1_ListEventsResponse>(
        "EventService", "ListEvents", .read, .everyPeer)
    public static let followEvents = Method<Accessd_V1_FollowEventsRequest, Accessd_V1_Event>(
        "EventService", "FollowEvents", .stream, .everyPeer)
    public static let listOutbox = Method<Accessd_V1_ListOutboxRequest, Accessd_V1_ListOutboxResponse>(
        "EventService", "ListOutbox", .read, .administrators)
    public static let acknowledgeOutbox = Method<Accessd_V1_AcknowledgeOutboxRequest, Accessd_V1_WriteResponse>(
        "EventService", "AcknowledgeOutbox", .write, .administrators)

    // MARK: HealthService

    public static let healthCheck = Method<Accessd_V1_HealthCheckRequest, Accessd_V1_HealthCheckResponse>(
        "HealthService", "Check", .read, .everyPeer)

    // MARK: OfficeService

    public static let createOffice = Method<Accessd_V1_CreateOfficeRequest, Accessd_V1_OfficeResponse>(
        "OfficeService", "CreateOffice", .write, .writers)
    public static let getOffice = Method<Accessd_V1_GetOfficeRequest, Accessd_V1_Office>(
        "OfficeService", "GetOffice", .read, .everyPeer)
    public static let listOffices = Method<Accessd_V1_ListOfficesRequest, Accessd_V1_ListOfficesResponse>(
        "OfficeService", "ListOffices", .read, .everyPeer)
    public static let renameOffice = Method<Accessd_V1_RenameOfficeRequest, Accessd_V1_OfficeResponse>(
        "OfficeService", "RenameOffice", .write, .writers)
    public static let deleteOffice = Method<Accessd_V1_DeleteOfficeRequest, Accessd_V1_WriteResponse>(
        "OfficeService", "DeleteOffice", .write, .writers)

    // MARK: ProductService

    public static let createProduct = Method<Accessd_V1_CreateProductRequest, Accessd_V1_ProductResponse>(
        "ProductService", "CreateProduct", .write, .writers)
    public static let getProduct = Method<Accessd_V1_GetProductRequest, Accessd_V1_Product>(
        "ProductService", "GetProduct", .read, .everyPeer)
    public static let listProducts = Method<Accessd_V1_ListProductsRequest, Accessd_V1_ListProductsResponse>(
        "ProductService", "ListProducts", .read, .everyPeer)
    public static let renameProduct = Method<Accessd_V1_RenameProductRequest, Accessd_V1_ProductResponse>(
        "ProductService", "RenameProduct", .write, .writers)
    public static let deleteProduct = Method<Accessd_V1_DeleteProductRequest, Accessd_V1_WriteResponse>(
        "ProductService", "DeleteProduct", .write, .writers)

    // MARK: ProjectService

    public static let createProject = Method<Accessd_V1_CreateProjectRequest, Accessd_V1_ProjectResponse>(
        "ProjectService", "CreateProject", .write, .writers)
    public static let getProject = Method<Accessd_V1_GetProjectRequest, Accessd_V1_Project>(
        "ProjectService", "GetProject", .read, .everyPeer)
    public static let listProjects = Method<Accessd_V1_ListProjectsRequest, Accessd_V1_ListProjectsResponse>(
        "ProjectService", "ListProjects", .read, .everyPeer)
    public static let updateProject = Method<Accessd_V1_UpdateProjectRequest, Accessd_V1_ProjectResponse>(
        "ProjectService", "UpdateProject", .write, .writers)
    public static let deleteProject = Method<Accessd_V1_DeleteProjectRequest, Accessd_V1_WriteResponse>(
        "ProjectService", "DeleteProject", .write, .writers)

    // MARK: RoleService

    public static let createRole = Method<Accessd_V1_CreateRoleRequest, Accessd_V1_RoleResponse>(
        "RoleService", "CreateRole", .write, .writers)
    public static let getRole = Method<Accessd_V1_GetRoleRequest, Accessd_V1_Role>(
        "RoleService", "GetRole", .read, .everyPeer)
    public static let listRoles = Method<Accessd_V1_ListRolesRequest, Accessd_V1_ListRolesResponse>(
        "RoleService", "ListRoles", .read, .everyPeer)
    public static let editRole = Method<Accessd_V1_EditRoleRequest, Accessd_V1_RoleResponse>(
        "RoleService", "EditRole", .write, .writers)
    public static let deleteRole = Method<Accessd_V1_DeleteRoleRequest, Accessd_V1_WriteResponse>(
        "RoleService", "DeleteRole", .write, .writers)

    // MARK: SharingService

    public static let shareAccess = Method<Accessd_V1_ShareAccessRequest, Accessd_V1_ShareResponse>(
        "SharingService", "ShareAccess", .write, .writers)
    public static let listSharedWith = Method<Accessd_V1_ListSharedWithRequest, Accessd_V1_ListSharedWithResponse>(
        "SharingService", "ListSharedWith", .read, .everyPeer)
    public static let listSharedWithMe = Method<Accessd_V1_ListSharedWithMeRequest, Accessd_V1_ListSharedWithMeResponse>(
        "SharingService", "ListSharedWithMe", .read, .everyPeer)
    public static let removeShare = Method<Accessd_V1_ShareIdRequest, Accessd_V1_WriteResponse>(
        "SharingService", "RemoveShare", .write, .writers)
    public static let retireShare = Method<Accessd_V1_ShareIdRequest, Accessd_V1_WriteResponse>(
        "SharingService", "RetireShare", .write, .writers)

    // MARK: UserService

    public static let addUser = Method<Accessd_V1_AddUserRequest, Accessd_V1_UserResponse>(
        "UserService", "AddUser", .write, .writers)
    public static let getUser = Method<Accessd_V1_GetUserRequest, Accessd_V1_User>(
        "UserService", "GetUser", .read, .everyPeer)
    public static let editUser = Method<Accessd_V1_EditUserRequest, Accessd_V1_UserResponse>(
        "UserService", "EditUser", .write, .writers)
    public static let deactivateUser = Method<Accessd_V1_UserRequest, Accessd_V1_UserResponse>(
        "UserService", "DeactivateUser", .write, .writers)
    public static let reactivateUser = Method<Accessd_V1_UserRequest, Accessd_V1_UserResponse>(
        "UserService", "ReactivateUser", .write, .writers)
    public static let resendActivation = Method<Accessd_V1_UserRequest, Accessd_V1_UserResponse>(
        "UserService", "ResendActivation", .write, .writers)
    public static let activateUser = Method<Accessd_V1_ActivateUserRequest, Accessd_V1_UserResponse>(
        "UserService", "ActivateUser", .write, .writers)
    public static let listUsers = Method<Accessd_V1_ListUsersRequest, Accessd_V1_ListUsersResponse>(
        "UserService", "ListUsers", .read, .everyPeer)

    /// Every method, in the protos' order.
    public static let all: [AnyMethod] = [
        check.erased, batchCheck.erased, listAccessibleAccounts.erased, getAccount.erased, renameAccount.erased,
        getBilling.erased, updateBilling.erased, createAccount.erased, setLicenseCount.erased,
        snapshot.erased, getStats.erased, backup.erased, getMetrics.erased,
        listAccounts.erased, addClient.erased, requestAccess.erased, approveAccess.erased,
        denyAccess.erased, revokeAccess.erased, removeClient.erased, listClients.erased,
        listAgencies.erased, listEvents.erased, followEvents.erased, listOutbox.erased,
        acknowledgeOutbox.erased, healthCheck.erased, createOffice.erased, getOffice.erased,
        listOffices.erased, renameOffice.erased, deleteOffice.erased, createProduct.erased,
        getProduct.erased, listProducts.erased, renameProduct.erased, deleteProduct.erased,
        createProject.erased, getProject.erased, listProjects.erased, updateProject.erased,
        deleteProject.erased, createRole.erased, getRole.erased, listRoles.erased,
        editRole.erased, deleteRole.erased, shareAccess.erased, listSharedWith.erased,
        listSharedWithMe.erased, removeShare.erased, retireShare.erased, addUser.erased,
        getUser.erased, editUser.erased, deactivateUser.erased, reactivateUser.erased,
        resendActivation.erased, activateUser.erased, listUsers.erased,
    ]

    /// Each method's index in `all` by its path.
    public static let indexByPath: [String: Int] = Dictionary(
        uniqueKeysWithValues: all.enumerated().map { ($0.element.path, $0.offset) })

    /// Every method by path.
    public static let byPath: [String: AnyMethod] = indexByPath.mapValues { all[$0] }

    /// The paths' bytes with their index in `all`, by their length, for `knownIndex(_:)`.
    private static let pathsByLength: [[(bytes: [UInt8], index: Int)]] = {
        var table = [[(bytes: [UInt8], index: Int)]](repeating: [], count: (all.map(\.path.utf8.count).max() ?? 0) + 1)
        for (index, method) in all.enumerated() { table[method.path.utf8.count].append((Array(method.path.utf8), index)) }
        return table
    }()

    /// The index in `all` of the method whose path these bytes are, or nil:
    /// a request frame's method found without making a String (the hot
    /// path's one allocation per call otherwise) or hashing one.
    public static func knownIndex(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count < pathsByLength.count else { return nil }
        for candidate in pathsByLength[bytes.count] {
            if candidate.bytes.withUnsafeBytes({ sameBytes($0, bytes) }) { return candidate.index }
        }
        return nil
    }

    private static let checkPath = Array(check.path.utf8)

    /// Whether these bytes are Check's path (the Check lane's one method).
    public static func isCheckPath(_ bytes: UnsafeRawBufferPointer) -> Bool {
        checkPath.withUnsafeBytes { sameBytes($0, bytes) }
    }

    /// Whether two runs of bytes are equal, compared eight bytes at a time
    /// (every path starts "/accessd.v1.").
    private static func sameBytes(_ stored: UnsafeRawBufferPointer, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard stored.count == bytes.count else { return false }
        var offset = 0
        while offset + 8 <= stored.count {
            if stored.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                != bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            {
                return false
            }
            offset += 8
        }
        while offset < stored.count {
            if stored[offset] != bytes[offset] { return false }
            offset += 1
        }
        return true
    }

    /// The catalogue's own string for a path given as bytes, or nil when no method has it.
    public static func knownPath(_ bytes: UnsafeRawBufferPointer) -> String? {
        knownIndex(bytes).map { all[$0].path }
    }
}
