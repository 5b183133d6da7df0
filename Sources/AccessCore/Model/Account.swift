/// What an account is for; sharing (R16) and client links (R18) depend on it.
public enum AccountKind: String, CaseIterable, Hashable, Sendable {
    case standard = "STANDARD"
    case agency = "AGENCY"
    case partner = "PARTNER"
}

/// Where an account lives. Emails are unique per region; sharing and client
/// links stay inside one region (R16, R18).
public enum Region: String, CaseIterable, Hashable, Sendable {
    case global = "GLOBAL"
    case eu = "EU"
}

/// Billing details of an account; every field optional.
public struct Billing: Hashable, Sendable {
    public var billingEmail: String?
    public var companyName: String?
    public var address: String?

    public init(billingEmail: String? = nil, companyName: String? = nil, address: String? = nil) {
        self.billingEmail = billingEmail
        self.companyName = companyName
        self.address = address
    }
}

public struct Account: Hashable, Sendable {
    public var id: AccountID
    public var name: String
    public var kind: AccountKind
    public var region: Region
    /// Full-Access licenses bought (R2); at least 1.
    public var fullAccessLicenses: Int
    public var billing: Billing
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(
        id: AccountID, name: String, kind: AccountKind, region: Region, fullAccessLicenses: Int, billing: Billing, createdAt: Timestamp, updatedAt: Timestamp
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.region = region
        self.fullAccessLicenses = fullAccessLicenses
        self.billing = billing
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
