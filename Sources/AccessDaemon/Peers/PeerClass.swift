import AccessStore
/// What a local peer may do (docs/protocol.md, "Who is calling"). Any
/// process that can open the socket is a peer; the daemon cannot tell a
/// service from the user it names as `actor`, so the class is decided by the
/// peer's uid and groups, never by what it sends.
public enum PeerClass: String, Sendable, CaseIterable {
    /// Every call, administrator calls included (creating accounts, license
    /// counts, snapshots, the outbox with its activation tokens).
    case administrator
    /// Every call but administrator calls: reads and writes acting for any
    /// user it names (a trusted service).
    case service
    /// Check and the read methods only; writes get PERMISSION_DENIED.
    case readOnly = "read-only"
    /// Nothing: the connection is refused with one PERMISSION_DENIED frame.
    case none

    /// May the peer make writes (other than administrator calls)?
    public var mayWrite: Bool { self == .administrator || self == .service }
}

/// The configured classes: uid and group lists, and the class of a peer that
/// no list names. Plain data (the config keys `admin_uids`, `admin_gids`,
/// `service_uids`, `service_gids`, `read_only_uids`, `read_only_gids`,
/// `default_peer_class`).
public struct PeerClasses: Sendable, Equatable {
    public var administratorUIDs: Set<UInt32> = []
    public var administratorGIDs: Set<UInt32> = []
    public var serviceUIDs: Set<UInt32> = []
    public var serviceGIDs: Set<UInt32> = []
    public var readOnlyUIDs: Set<UInt32> = []
    public var readOnlyGIDs: Set<UInt32> = []
    /// The class of a peer that no list names.
    public var unlisted: PeerClass = .service

    public init() {}

    /// The class of a peer: root is always an administrator; then a list
    /// naming its uid (administrators, then services, then read-only); then a
    /// list naming one of its groups, primary or supplementary, in the same
    /// order; else `unlisted`. A uid listed is more specific than a group, so
    /// `read_only_uids` narrows one member of an administrators' group.
    public func classify(uid: UInt32, gid: UInt32, groups: [UInt32]) -> PeerClass {
        if uid == 0 { return .administrator }
        if administratorUIDs.contains(uid) { return .administrator }
        if serviceUIDs.contains(uid) { return .service }
        if readOnlyUIDs.contains(uid) { return .readOnly }
        func any(_ set: Set<UInt32>) -> Bool { set.contains(gid) || groups.contains(where: set.contains) }
        if any(administratorGIDs) { return .administrator }
        if any(serviceGIDs) { return .service }
        if any(readOnlyGIDs) { return .readOnly }
        return unlisted
    }
}
