// Shared by the benchmarks: a deterministic population of accounts and
// users built through the core, and small measuring helpers.

public import AccessCore

#if canImport(Glibc)
    import Glibc
#endif

/// SplitMix64, so every run builds the same data.
public struct Random: RandomNumberGenerator {
    public init(state: UInt64) { self.state = state }
    public var state: UInt64
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

public func residentBytes() -> Int {
    #if canImport(Glibc)
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 128)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return 0 }
        let fields = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    #else
        return 0
    #endif
}

/// A state with `users` users spread over `accounts` accounts, plus one
/// account of 1,000 users for ListUsers, built through `execute`; every user
/// is activated and the outbox drained, as after a quiet week.
public struct Population {
    public init() {}
    public var state = AccessState()
    public var rng = Random(state: 42)
    public var now = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
    public var owners: [(account: AccountID, owner: UserID)] = []
    public var memberRole: [AccountID: RoleID] = [:]
    public var viewerRole: [AccountID: RoleID] = [:]
    public var userIDs: [UserID] = []
    public var bigAccount: (account: AccountID, owner: UserID)?

    public mutating func execute(_ command: Command, as principal: Principal) -> [Event] {
        now = now.adding(milliseconds: 1)
        do {
            return try state.execute(command, context: CommandContext(principal: principal, now: now), using: &rng)
        } catch {
            fatalError("setup command refused: \(error)")
        }
    }

    public mutating func addAccount(index: Int, licenses: Int) -> (AccountID, UserID) {
        let events = execute(
            .createAccount(
                CreateAccount(
                    name: "Account \(index)", fullAccessLicenses: licenses, ownerEmail: "owner\(index)@a\(index).example",
                    ownerFirstName: "Owner", ownerLastName: "Number\(index)")),
            as: .administrator)
        guard case .accountCreated(let account) = events[0].change, case .userAdded(let owner) = events[4].change,
            case .roleCreated(let member) = events[2].change, case .roleCreated(let viewer) = events[3].change
        else { fatalError("unexpected events") }
        viewerRole[account.id] = viewer.id
        owners.append((account.id, owner.id))
        memberRole[account.id] = member.id
        userIDs.append(owner.id)
        return (account.id, owner.id)
    }

    public mutating func addUsers(_ count: Int, to account: AccountID, owner: UserID, prefix: String) {
        var pending: [(UserID, String)] = []
        for n in 0..<count {
            let events = execute(
                .addUser(
                    AddUser(
                        account: account, email: "\(prefix)user\(n)@example.com", firstName: "First\(n % 97)",
                        lastName: "Last\(n)", role: memberRole[account]!)),
                as: .user(owner))
            guard case .userAdded(let user) = events[0].change, case .outboxMessageQueued(let message) = events[2].change
            else { fatalError("unexpected events") }
            pending.append((user.id, message.token))
            userIDs.append(user.id)
        }
        for (_, token) in pending { _ = execute(.activateUser(token: token), as: .anonymous) }
    }

    public mutating func drainOutbox() {
        let ids = Array(state.outbox.keys)
        var start = 0
        while start < ids.count {
            _ = execute(.acknowledgeOutbox(Array(ids[start..<min(start + 10_000, ids.count)])), as: .administrator)
            start += 10_000
        }
    }

    public static func build(users: Int, accounts: Int, withBigAccount: Bool) -> Population {
        var population = Population()
        let bigUsers = withBigAccount ? 1000 : 0
        // Exactly `users` users: the remainder goes one each to the first accounts.
        let (perAccount, remainder) = (max(1, users - bigUsers)).quotientAndRemainder(dividingBy: accounts)
        for index in 0..<accounts {
            let size = max(1, perAccount + (index < remainder ? 1 : 0))
            let (account, owner) = population.addAccount(index: index, licenses: size + 5)
            population.addUsers(size - 1, to: account, owner: owner, prefix: "a\(index)-")
        }
        if withBigAccount {
            let (account, owner) = population.addAccount(index: accounts, licenses: 1100)
            population.addUsers(bigUsers - 1, to: account, owner: owner, prefix: "big-")
            population.bigAccount = (account, owner)
        }
        population.drainOutbox()
        return population
    }
}


public func seconds(_ duration: Duration) -> Double {
    let (s, attoseconds) = duration.components
    return Double(s) + Double(attoseconds) / 1e18
}

public func report(_ name: String, _ fields: [(String, String)]) {
    print("RESULT name=\(name) " + fields.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
    fflush(nil)
}

public func format(_ value: Double, _ digits: Int = 1) -> String {
    var multiplier = 1.0
    for _ in 0..<digits { multiplier *= 10 }
    return String(Double((value * multiplier).rounded()) / multiplier)
}
