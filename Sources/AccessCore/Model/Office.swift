/// A place users and projects belong to; shared offices make PUBLIC projects
/// visible (R14). Names are unique in the account, case-insensitively (R13).
public struct Office: Hashable, Sendable {
    public var id: OfficeID
    public var account: AccountID
    public var name: String

    public init(
        id: OfficeID, account: AccountID, name: String
    ) {
        self.id = id
        self.account = account
        self.name = name
    }
}
