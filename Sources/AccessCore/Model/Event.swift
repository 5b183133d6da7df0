/// One accepted change, numbered. Every accepted write produces one or more (R20);
/// `AccessState.apply` is the only way the state changes.
public struct Event: Hashable, Sendable {
    /// Gapless, from 1. A thing created by this event has this number in its id.
    public var seq: UInt64
    public var time: Timestamp
    public var actor: Principal
    /// The local process whose call produced the event, when the caller
    /// named one (the daemon does, from the socket's peer credentials).
    public var caller: Caller?
    public var change: Change

    public init(seq: UInt64, time: Timestamp, actor: Principal, caller: Caller? = nil, change: Change) {
        self.seq = seq
        self.time = time
        self.actor = actor
        self.caller = caller
        self.change = change
    }

    /// The event with no secret in it: an outbox message's activation token
    /// emptied. What is kept in the recent history and what leaves the
    /// process; the token itself lives in the outbox until acknowledged (R20).
    public var withoutSecrets: Event {
        guard case .outboxMessageQueued(var message) = change, !message.token.isEmpty else { return self }
        message.token = ""
        var event = self
        event.change = .outboxMessageQueued(message)
        return event
    }

    /// The activation token of the outbox message this event queues, if any:
    /// what the journal keeps beside an event that goes out without it.
    public var outboxToken: (message: OutboxMessageID, token: String)? {
        guard case .outboxMessageQueued(let message) = change, !message.token.isEmpty else { return nil }
        return (message.id, message.token)
    }

    /// The event with `token` put back into the outbox message it queues
    /// (journal replay: the record holds the tokens beside the events).
    public func withToken(_ token: String) -> Event {
        guard case .outboxMessageQueued(var message) = change else { return self }
        message.token = token
        var event = self
        event.change = .outboxMessageQueued(message)
        return event
    }
}

/// A process on the daemon's host, as the kernel named it when it called
/// (uid and pid of the socket's peer). Not a user: `Principal` is who the
/// call acts for; this is which service asked.
public struct Caller: Hashable, Sendable, CustomStringConvertible {
    public var uid: UInt32
    public var pid: Int32

    public init(uid: UInt32, pid: Int32) {
        self.uid = uid
        self.pid = pid
    }

    public var description: String { "uid \(uid) pid \(pid)" }
}

/// What an event changed: its kind (the case) and the changed thing, whole,
/// as it is after the change, so that applying needs no other input.
public enum Change: Hashable, Sendable {
    case accountCreated(Account)
    case accountRenamed(Account)
    case licenseCountChanged(Account)
    case billingUpdated(Account)

    case roleCreated(Role)
    case roleEdited(Role)
    case roleDeleted(RoleID)

    case userAdded(User)
    case userEdited(User)
    case userActivated(User)
    case userDeactivated(User)
    case userReactivated(User)
    /// Replaces any earlier activation of the same user (R9).
    case activationIssued(PendingActivation)

    case officeCreated(Office)
    case officeRenamed(Office)
    /// Also removes the office from every user and project (R13).
    case officeDeleted(OfficeID)

    case projectCreated(Project)
    case projectUpdated(Project)
    case projectDeleted(ProjectID)

    case productCreated(Product)
    case productRenamed(Product)
    /// Also removes the product from every share that lists it (R15).
    case productDeleted(ProductID)

    case accessShared(Share)
    case shareUpdated(Share)
    case shareRemoved(ShareID)
    case shareRetired(ShareID)

    case clientAdded(ClientLink)
    case clientAccessRequested(ClientLink)
    case clientAccessApproved(ClientLink)
    case clientAccessDenied(ClientLink)
    case clientAccessRevoked(ClientLink)
    case clientRemoved(ClientLinkKey)

    case outboxMessageQueued(OutboxMessage)
    case outboxAcknowledged([OutboxMessageID])

    /// The kind's name, for logs and the wire, for example `userAdded`.
    public var kind: String {
        switch self {
        case .accountCreated: "accountCreated"
        case .accountRenamed: "accountRenamed"
        case .licenseCountChanged: "licenseCountChanged"
        case .billingUpdated: "billingUpdated"
        case .roleCreated: "roleCreated"
        case .roleEdited: "roleEdited"
        case .roleDeleted: "roleDeleted"
        case .userAdded: "userAdded"
        case .userEdited: "userEdited"
        case .userActivated: "userActivated"
        case .userDeactivated: "userDeactivated"
        case .userReactivated: "userReactivated"
        case .activationIssued: "activationIssued"
        case .officeCreated: "officeCreated"
        case .officeRenamed: "officeRenamed"
        case .officeDeleted: "officeDeleted"
        case .projectCreated: "projectCreated"
        case .projectUpdated: "projectUpdated"
        case .projectDeleted: "projectDeleted"
        case .productCreated: "productCreated"
        case .productRenamed: "productRenamed"
        case .productDeleted: "productDeleted"
        case .accessShared: "accessShared"
        case .shareUpdated: "shareUpdated"
        case .shareRemoved: "shareRemoved"
        case .shareRetired: "shareRetired"
        case .clientAdded: "clientAdded"
        case .clientAccessRequested: "clientAccessRequested"
        case .clientAccessApproved: "clientAccessApproved"
        case .clientAccessDenied: "clientAccessDenied"
        case .clientAccessRevoked: "clientAccessRevoked"
        case .clientRemoved: "clientRemoved"
        case .outboxMessageQueued: "outboxMessageQueued"
        case .outboxAcknowledged: "outboxAcknowledged"
        }
    }
}
