package import AccessCore
package import AccessWire
import Foundation

/// Parsing of wire input into domain values. Every failure is INVALID_ARGUMENT
/// with a message that names the proto field and says what it should hold;
/// the caller's text in it is quoted with `PeerText.quote` (bounded, escaped).
package enum WireInput {
    /// "an account id", "a user id".
    package static func article<ID: EntityID>(_: ID.Type) -> String {
        let noun = ID.noun
        return (noun.first.map { "aeio".contains($0) } ?? false ? "an " : "a ") + noun
    }

    /// A required id of one kind.
    package static func id<ID: EntityID>(_ text: String, field: @autoclosure () -> String, as _: ID.Type = ID.self) throws(AccessError) -> ID {
        guard !text.isEmpty else { throw AccessError(.invalidArgument, "\(field()) is required") }
        guard let id = ID(text) else {
            throw AccessError(.invalidArgument, "\(field()) \(PeerText.quote(text)) is not \(article(ID.self)) id (\(ID.prefix)...)")
        }
        return id
    }

    /// An id that may be empty (nil).
    package static func optionalID<ID: EntityID>(_ text: String, field: @autoclosure () -> String, as _: ID.Type = ID.self) throws(AccessError) -> ID? {
        text.isEmpty ? nil : try id(text, field: field(), as: ID.self)
    }

    /// A list of ids, in order; `field[i]` names a bad one.
    package static func idList<ID: EntityID>(_ texts: [String], field: @autoclosure () -> String, as _: ID.Type = ID.self) throws(AccessError) -> [ID] {
        var result: [ID] = []
        result.reserveCapacity(texts.count)
        for (index, text) in texts.enumerated() {
            result.append(try id(text, field: "\(field())[\(index)]", as: ID.self))
        }
        return result
    }

    /// A set of ids; repeats are harmless.
    package static func idSet<ID: EntityID>(_ texts: [String], field: @autoclosure () -> String, as _: ID.Type = ID.self) throws(AccessError) -> Set<ID> {
        Set(try idList(texts, field: field(), as: ID.self))
    }

    /// A list that replaces something only when its `set_` flag is set: ids
    /// without the flag would be silently ignored, so they are refused.
    package static func replacement<ID: EntityID>(
        _ texts: [String], field: String, flag: Bool, flagField: String, as _: ID.Type = ID.self
    ) throws(AccessError) -> Set<ID>? {
        guard flag else {
            guard texts.isEmpty else {
                throw AccessError(
                    .invalidArgument,
                    "\(field) is given but \(flagField) is false; set \(flagField) to replace them (an empty \(field) with \(flagField) clears them)"
                )
            }
            return nil
        }
        return try idSet(texts, field: field, as: ID.self)
    }

    /// Permissions that replace others only when their `set_` flag is set.
    package static func permissionReplacement(
        _ wire: [Accessd_V1_Permission], field: String, flag: Bool, flagField: String
    ) throws(AccessError) -> Permissions? {
        guard flag else {
            guard wire.isEmpty else {
                throw AccessError(
                    .invalidArgument,
                    "\(field) is given but \(flagField) is false; set \(flagField) to replace them (an empty \(field) with \(flagField) clears them)"
                )
            }
            return nil
        }
        return try Permissions.parse(wire, field: field)
    }

    /// A count on the wire (uint32) as the domain's Int.
    package static func count(_ value: UInt32) -> Int { Int(value) }

    /// Trimmed of whitespace at both ends.
    package static func trimmed(_ text: String) -> String {
        // The common case (an id or an email) has nothing to trim: skip Foundation.
        if let first = text.utf8.first, let last = text.utf8.last, (0x21...0x7E).contains(first), (0x21...0x7E).contains(last) {
            return text
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A user named by id or email (AccessService: "a user id or email"):
    /// resolved like an actor; an unknown one is NOT_FOUND.
    /// `user`, returning the record (one lookup for an id).
    package static func userRecord(_ text: String, field: String, in state: AccessState) throws(AccessError) -> User {
        let text = trimmed(text)
        guard !text.isEmpty else {
            throw AccessError(.invalidArgument, "\(field) is required: a user id (usr_...) or the email of a user")
        }
        do throws(AccessError) {
            return try state.user(forActor: text)
        } catch where error.code == .unauthenticated {
            throw AccessError(.notFound, "no user has the id or email \(PeerText.quote(text))")
        }
    }

    package static func user(_ text: String, field: String, in state: AccessState) throws(AccessError) -> UserID {
        let text = trimmed(text)
        guard !text.isEmpty else {
            throw AccessError(.invalidArgument, "\(field) is required: a user id (usr_...) or the email of a user")
        }
        let principal: Principal
        do throws(AccessError) {
            principal = try state.principal(forActor: text)
        } catch where error.code == .unauthenticated {
            throw AccessError(.notFound, "no user has the id or email \(PeerText.quote(text))")
        }
        guard let id = principal.userID else {
            throw AccessError(.notFound, "no user has the id or email \(PeerText.quote(text))")
        }
        return id
    }
}

extension Billing {
    /// Billing from the wire: an empty field is an absent one.
    package init(wire: Accessd_V1_Billing) {
        self.init(
            billingEmail: wire.billingEmail.isEmpty ? nil : wire.billingEmail,
            companyName: wire.companyName.isEmpty ? nil : wire.companyName,
            address: wire.address.isEmpty ? nil : wire.address)
    }
}

extension ShareScope {
    /// A share's scope from the wire: exactly one of `all_current_and_new`
    /// (true) or `products` (possibly empty, for a share of billing only).
    package init(wire: Accessd_V1_ShareScope, field: String) throws(AccessError) {
        switch wire.scope {
        case nil:
            throw AccessError(
                .invalidArgument,
                "\(field) is required: set \(field).all_current_and_new to true, or list product ids in \(field).products (none, for billing only)"
            )
        case .allCurrentAndNew(let all):
            guard all else {
                throw AccessError(
                    .invalidArgument,
                    "\(field).all_current_and_new is false; set it to true, or list product ids in \(field).products instead")
            }
            self = .allCurrentAndNew
        case .products(let list):
            self = .products(try WireInput.idSet(list.productIds, field: "\(field).products.product_ids", as: ProductID.self))
        }
    }
}
