package import AccessCore
package import AccessWire

// Events both ways: the journal stores `Accessd_V1_Event` and replays
// `Event(wire:)`, and replaying gives the same state as the live one. One
// thing never goes out: an outbox message's activation token. The journal
// keeps it beside the events (`JournalRecord.outbox_tokens`), and replay puts
// it back (`Event.withToken`).

extension Accessd_V1_Event {
    /// An event as the journal stores it, EventService returns it and write
    /// replies carry it. Derived fields (Account.licenses_in_use) are 0 here;
    /// an outbox message's token is left out (`OutboxMessage.token` is for
    /// the mailer's ListOutbox only).
    package init(_ event: Event) {
        self.init()
        seq = event.seq
        timeMs = event.time.millisecondsSinceEpoch
        actor = event.actor.description
        if let caller = event.caller { self.caller = Accessd_V1_Caller(caller) }
        change = Self.wire(event.change)
    }

    private static func wire(_ change: Change) -> OneOf_Change {
        switch change {
        case .accountCreated(let account): .accountCreated(Accessd_V1_Account(account))
        case .accountRenamed(let account): .accountRenamed(Accessd_V1_Account(account))
        case .licenseCountChanged(let account): .licenseCountChanged(Accessd_V1_Account(account))
        case .billingUpdated(let account): .billingUpdated(Accessd_V1_Account(account))
        case .roleCreated(let role): .roleCreated(Accessd_V1_Role(role))
        case .roleEdited(let role): .roleEdited(Accessd_V1_Role(role))
        case .roleDeleted(let id): .roleDeleted(id.rawValue)
        case .userAdded(let user): .userAdded(Accessd_V1_User(user))
        case .userEdited(let user): .userEdited(Accessd_V1_User(user))
        case .userActivated(let user): .userActivated(Accessd_V1_User(user))
        case .userDeactivated(let user): .userDeactivated(Accessd_V1_User(user))
        case .userReactivated(let user): .userReactivated(Accessd_V1_User(user))
        case .activationIssued(let activation): .activationIssued(Accessd_V1_PendingActivation(activation))
        case .officeCreated(let office): .officeCreated(Accessd_V1_Office(office))
        case .officeRenamed(let office): .officeRenamed(Accessd_V1_Office(office))
        case .officeDeleted(let id): .officeDeleted(id.rawValue)
        case .projectCreated(let project): .projectCreated(Accessd_V1_Project(project))
        case .projectUpdated(let project): .projectUpdated(Accessd_V1_Project(project))
        case .projectDeleted(let id): .projectDeleted(id.rawValue)
        case .productCreated(let product): .productCreated(Accessd_V1_Product(product))
        case .productRenamed(let product): .productRenamed(Accessd_V1_Product(product))
        case .productDeleted(let id): .productDeleted(id.rawValue)
        case .accessShared(let share): .accessShared(Accessd_V1_Share(share))
        case .shareUpdated(let share): .shareUpdated(Accessd_V1_Share(share))
        case .shareRemoved(let id): .shareRemoved(id.rawValue)
        case .shareRetired(let id): .shareRetired(id.rawValue)
        case .clientAdded(let link): .clientAdded(Accessd_V1_ClientLink(link))
        case .clientAccessRequested(let link): .clientAccessRequested(Accessd_V1_ClientLink(link))
        case .clientAccessApproved(let link): .clientAccessApproved(Accessd_V1_ClientLink(link))
        case .clientAccessDenied(let link): .clientAccessDenied(Accessd_V1_ClientLink(link))
        case .clientAccessRevoked(let link): .clientAccessRevoked(Accessd_V1_ClientLink(link))
        case .clientRemoved(let key): .clientRemoved(Accessd_V1_ClientLinkKey(key))
        case .outboxMessageQueued(let message): .outboxMessageQueued(Accessd_V1_OutboxMessage(message, token: false))
        case .outboxAcknowledged(let ids):
            .outboxAcknowledged(
                {
                    var list = Accessd_V1_OutboxMessageIds()
                    list.ids = ids.map(\.rawValue)
                    return list
                }())
        }
    }
}

extension Event {
    /// The domain event a stored or received `Accessd_V1_Event` carries.
    ///
    /// Throws DATA_LOSS when it does not map: no change set, an actor, id or
    /// enum value that is not one of the domain's. The message names the event
    /// and the field.
    package init(wire: Accessd_V1_Event) throws(AccessError) {
        let actor: Principal
        let change: Change
        do throws(AccessError) {
            actor = try Principal(wireActor: wire.actor)
            change = try Self.change(wire.change)
        } catch {
            throw AccessError(.dataLoss, "event \(wire.seq) does not map to a domain event: \(error.message)")
        }
        self.init(
            seq: wire.seq, time: Timestamp(millisecondsSinceEpoch: wire.timeMs), actor: actor,
            caller: wire.hasCaller ? Caller(wire: wire.caller) : nil, change: change)
    }

    private static func change(_ wire: Accessd_V1_Event.OneOf_Change?) throws(AccessError) -> Change {
        switch wire {
        case nil:
            throw AccessError(.invalidArgument, "no change is set (the oneof change is empty or of a kind this daemon does not know)")
        case .accountCreated(let account): .accountCreated(try Account(wire: account, field: "account_created"))
        case .accountRenamed(let account): .accountRenamed(try Account(wire: account, field: "account_renamed"))
        case .licenseCountChanged(let account):
            .licenseCountChanged(try Account(wire: account, field: "license_count_changed"))
        case .billingUpdated(let account): .billingUpdated(try Account(wire: account, field: "billing_updated"))
        case .roleCreated(let role): .roleCreated(try Role(wire: role, field: "role_created"))
        case .roleEdited(let role): .roleEdited(try Role(wire: role, field: "role_edited"))
        case .roleDeleted(let id): .roleDeleted(try WireInput.id(id, field: "role_deleted"))
        case .userAdded(let user): .userAdded(try User(wire: user, field: "user_added"))
        case .userEdited(let user): .userEdited(try User(wire: user, field: "user_edited"))
        case .userActivated(let user): .userActivated(try User(wire: user, field: "user_activated"))
        case .userDeactivated(let user): .userDeactivated(try User(wire: user, field: "user_deactivated"))
        case .userReactivated(let user): .userReactivated(try User(wire: user, field: "user_reactivated"))
        case .activationIssued(let activation):
            .activationIssued(try PendingActivation(wire: activation, field: "activation_issued"))
        case .officeCreated(let office): .officeCreated(try Office(wire: office, field: "office_created"))
        case .officeRenamed(let office): .officeRenamed(try Office(wire: office, field: "office_renamed"))
        case .officeDeleted(let id): .officeDeleted(try WireInput.id(id, field: "office_deleted"))
        case .projectCreated(let project): .projectCreated(try Project(wire: project, field: "project_created"))
        case .projectUpdated(let project): .projectUpdated(try Project(wire: project, field: "project_updated"))
        case .projectDeleted(let id): .projectDeleted(try WireInput.id(id, field: "project_deleted"))
        case .productCreated(let product): .productCreated(try Product(wire: product, field: "product_created"))
        case .productRenamed(let product): .productRenamed(try Product(wire: product, field: "product_renamed"))
        case .productDeleted(let id): .productDeleted(try WireInput.id(id, field: "product_deleted"))
        case .accessShared(let share): .accessShared(try Share(wire: share, field: "access_shared"))
        case .shareUpdated(let share): .shareUpdated(try Share(wire: share, field: "share_updated"))
        case .shareRemoved(let id): .shareRemoved(try WireInput.id(id, field: "share_removed"))
        case .shareRetired(let id): .shareRetired(try WireInput.id(id, field: "share_retired"))
        case .clientAdded(let link): .clientAdded(try ClientLink(wire: link, field: "client_added"))
        case .clientAccessRequested(let link):
            .clientAccessRequested(try ClientLink(wire: link, field: "client_access_requested"))
        case .clientAccessApproved(let link):
            .clientAccessApproved(try ClientLink(wire: link, field: "client_access_approved"))
        case .clientAccessDenied(let link): .clientAccessDenied(try ClientLink(wire: link, field: "client_access_denied"))
        case .clientAccessRevoked(let link):
            .clientAccessRevoked(try ClientLink(wire: link, field: "client_access_revoked"))
        case .clientRemoved(let key): .clientRemoved(try ClientLinkKey(wire: key, field: "client_removed"))
        case .outboxMessageQueued(let message):
            .outboxMessageQueued(try OutboxMessage(wire: message, field: "outbox_message_queued"))
        case .outboxAcknowledged(let list):
            .outboxAcknowledged(try WireInput.idList(list.ids, field: "outbox_acknowledged.ids"))
        }
    }
}
