extension Decider {
    /// R13: offices are managed by R4's users; names unique in the account, case-insensitively.
    mutating func createOffice(_ accountID: AccountID, _ name: String) throws(AccessError) {
        try authorize(.editAccountSettings, in: accountID)
        let name = try Validation.name(name, field: "office name")
        try requireFreeOfficeName(name, in: accountID)
        recorder.record(.officeCreated(Office(id: recorder.nextID(), account: accountID, name: name)))
    }

    mutating func renameOffice(_ id: OfficeID, _ name: String) throws(AccessError) {
        guard var office = state.offices[id] else { throw .notFound("no office \(PeerText.quote(id))") }
        try authorize(.editAccountSettings, in: office.account)
        office.name = try Validation.name(name, field: "office name")
        try requireFreeOfficeName(office.name, in: office.account, except: id)
        recorder.record(.officeRenamed(office))
    }

    /// R13: deleting an office removes it from every user and project (in `apply`).
    mutating func deleteOffice(_ id: OfficeID) throws(AccessError) {
        guard let office = state.offices[id] else { throw .notFound("no office \(PeerText.quote(id))") }
        try authorize(.editAccountSettings, in: office.account)
        recorder.record(.officeDeleted(id))
    }

    private func requireFreeOfficeName(_ name: String, in account: AccountID, except office: OfficeID? = nil) throws(AccessError) {
        if let other = state.indexes.officeByName[ScopedName(account: account, name: name)], other != office {
            throw .alreadyExists("account \(account) already has an office named \(PeerText.quote(name))", rule: .r13)
        }
    }
}
