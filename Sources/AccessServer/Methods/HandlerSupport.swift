import AccessMapping
import AccessCore
import AccessWire
import Foundation
import SwiftProtobuf

/// How the handlers are built: decode the request message, do the work,
/// encode the reply message.
enum Handlers {
    /// The request message of a method, or INVALID_ARGUMENT naming the type.
    static func decode<Request: SwiftProtobuf.Message>(_: Request.Type, _ payload: Data) throws(AccessError) -> Request {
        do {
            return try Request(serializedBytes: payload)
        } catch {
            throw AccessError(.invalidArgument, "the payload does not decode as \(Request.protoMessageName)")
        }
    }

    /// A reply message, encoded. Encoding a proto3 message built here cannot fail.
    static func encode(_ message: some SwiftProtobuf.Message) -> Data {
        do {
            return try message.serializedBytes()
        } catch {
            assertionFailure("\(type(of: message)) does not encode: \(error)")
            return Data()
        }
    }

    /// A read: answered from the published state for `context.principal`.
    static func read<Request, Response>(
        _ method: Method<Request, Response>, shortcut: ReadShortcut = .none,
        _ answer: @escaping @Sendable (_ request: Request, _ context: ReadContext) throws(AccessError) -> Response
    ) -> MethodTable.Entry {
        precondition(method.kind == .read, "\(method.path) is not a read")
        return MethodTable.Entry(
            method: method.erased,
            handler: .read(
                { (payload: Data, context: ReadContext) throws(AccessError) -> Data in
                    encode(try answer(try decode(Request.self, payload), context))
                }, shortcut: shortcut))
    }

    /// A write: the request decodes into a command (ids parsed, names of roles
    /// resolved against the state); the reply is built from the events and
    /// the state after them.
    static func write<Request, Response>(
        _ method: Method<Request, Response>,
        command: @escaping @Sendable (_ request: Request, _ state: AccessState) throws(AccessError) -> Command,
        reply: @escaping @Sendable (_ events: [Event], _ state: AccessState) -> Response
    ) -> MethodTable.Entry {
        precondition(method.kind == .write, "\(method.path) is not a write")
        return MethodTable.Entry(
            method: method.erased,
            handler: .write(
                command: { (payload: Data, state: AccessState) throws(AccessError) -> Command in
                    try command(try decode(Request.self, payload), state)
                },
                reply: { (events: [Event], state: AccessState) -> Data in encode(reply(events, state)) }))
    }

    /// A write whose reply is `WriteResponse`: the events.
    static func write<Request>(
        _ method: Method<Request, Accessd_V1_WriteResponse>,
        command: @escaping @Sendable (_ request: Request, _ state: AccessState) throws(AccessError) -> Command
    ) -> MethodTable.Entry {
        write(method, command: command) { events, _ in writeResponse(events) }
    }

    /// A call the daemon serves itself.
    static func daemon<Request, Response>(_ method: Method<Request, Response>, _ call: DaemonCall) -> MethodTable.Entry {
        MethodTable.Entry(method: method.erased, handler: .daemon(call))
    }

    static func writeResponse(_ events: [Event]) -> Accessd_V1_WriteResponse {
        var response = Accessd_V1_WriteResponse()
        response.events = wire(events)
        return response
    }

    static func wire(_ events: [Event]) -> [Accessd_V1_Event] { events.map(Accessd_V1_Event.init) }
}

extension Array where Element == Event {
    /// The last thing an event of this batch carries, as `extract` picks it:
    /// the thing as it is after the write. Replies prefer it to the state, so
    /// that a dry run (events not applied) answers the same.
    func last<Thing>(_ extract: (Change) -> Thing?) -> Thing? {
        for event in reversed() { if let thing = extract(event.change) { return thing } }
        return nil
    }

    /// The user a user write changed: from its events, else (a resent
    /// activation carries no user) from the state.
    func changedUser(in state: AccessState) -> User? {
        let fromEvents: User? = last {
            switch $0 {
            case .userAdded(let user), .userEdited(let user), .userActivated(let user), .userDeactivated(let user),
                .userReactivated(let user):
                user
            default: nil
            }
        }
        if let fromEvents { return fromEvents }
        let id: UserID? = last {
            switch $0 {
            case .activationIssued(let activation): activation.user
            case .outboxMessageQueued(let message): message.user
            default: nil
            }
        }
        return id.flatMap { state.users[$0] }
    }

    func changedAccount() -> Account? {
        last {
            switch $0 {
            case .accountCreated(let account), .accountRenamed(let account), .licenseCountChanged(let account),
                .billingUpdated(let account):
                account
            default: nil
            }
        }
    }

    func changedRole() -> Role? {
        last {
            switch $0 {
            case .roleCreated(let role), .roleEdited(let role): role
            default: nil
            }
        }
    }

    func changedOffice() -> Office? {
        last {
            switch $0 {
            case .officeCreated(let office), .officeRenamed(let office): office
            default: nil
            }
        }
    }

    func changedProject() -> Project? {
        last {
            switch $0 {
            case .projectCreated(let project), .projectUpdated(let project): project
            default: nil
            }
        }
    }

    func changedProduct() -> Product? {
        last {
            switch $0 {
            case .productCreated(let product), .productRenamed(let product): product
            default: nil
            }
        }
    }

    func changedShare() -> Share? {
        last {
            switch $0 {
            case .accessShared(let share), .shareUpdated(let share): share
            default: nil
            }
        }
    }

    func changedClientLink() -> ClientLink? {
        last {
            switch $0 {
            case .clientAdded(let link), .clientAccessRequested(let link), .clientAccessApproved(let link),
                .clientAccessDenied(let link), .clientAccessRevoked(let link):
                link
            default: nil
            }
        }
    }
}
