package import AccessCore

extension WireInput {
    /// "A role id or name" of an account: an id of a role of the account is
    /// that role; otherwise a name is looked up among the account's roles,
    /// case-insensitively; otherwise a well-formed id is passed on for the
    /// core to judge (NOT_FOUND when it is not a role of the account).
    ///
    /// Reads the account's roles through the public read (`listRoles` as an
    /// administrator), which uses the core's per-account index: the cost is the
    /// account's roles, not every role. An unknown account is NOT_FOUND.
    ///
    /// This runs when the request is decoded, before the core checks the
    /// actor, so an unknown name is NOT_FOUND even for a caller the core would
    /// refuse; the message names no other role.
    package static func role(_ text: String, field: String, in account: AccountID, state: AccessState) throws(AccessError) -> RoleID {
        let text = trimmed(text)
        guard !text.isEmpty else {
            throw AccessError(.invalidArgument, "\(field) is required: a role id (rol_...) or a role name of the account, such as Member")
        }
        if let id = RoleID(text), state.roles[id]?.account == account { return id }
        let roles = try state.listRoles(account, as: .administrator)
        let folded = text.lowercased()
        if let match = roles.first(where: { $0.name.lowercased() == folded }) { return match.id }
        if let id = RoleID(text) { return id }
        // The account's role names are not listed: this runs before the core
        // has checked who is asking (the command is decoded first).
        throw AccessError(
            .notFound,
            "account \(account) has no role named \(PeerText.quote(text)); name a role by id (rol_...) or by a name RoleService.ListRoles shows")
    }
}
