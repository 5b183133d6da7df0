// accessd-core-bench: per-call costs of the domain core at scale (issue 2).
//
// Builds N users in M accounts through `execute` (as the daemon would), then
// times Check, GetUser, AddUser, EditUser and ListUsers, measures resident
// memory per user, and times "copy the state, then apply 1,000 writes" at a
// small and at the full size: with persistent collections that time must not
// grow with the size. Prints one `RESULT` line per figure.
//
// Usage: accessd-core-bench [--users N] [--accounts M] [--small N]

import AccessCore

#if canImport(Glibc)
    import Glibc
#endif

struct Options {
    var users = 1_000_000
    var accounts = 100_000
    var smallUsers = 10_000

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let flag = iterator.next() {
            guard let value = iterator.next().flatMap(Int.init) else { fatalError("\(flag) needs a number") }
            switch flag {
            case "--users": users = value
            case "--accounts": accounts = value
            case "--small": smallUsers = value
            default: fatalError("unknown flag \(flag); use --users N --accounts M --small N")
            }
        }
    }
}

/// SplitMix64, so every run builds the same data.
struct Random: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func residentBytes() -> Int {
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

func seconds(_ duration: Duration) -> Double {
    let (s, attoseconds) = duration.components
    return Double(s) + Double(attoseconds) / 1e18
}

/// Runs `body` `count` times and returns nanoseconds per call (best of `rounds`).
func nanosecondsPerCall(count: Int, rounds: Int = 5, _ body: (Int) -> Void) -> Double {
    let clock = ContinuousClock()
    var best = Double.infinity
    for round in 0..<rounds {
        let elapsed = clock.measure { for i in 0..<count { body(round * count + i) } }
        best = min(best, seconds(elapsed) * 1e9 / Double(count))
    }
    return best
}

func report(_ name: String, _ fields: [(String, String)]) {
    print("RESULT name=\(name) " + fields.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
    fflush(nil)
}

func format(_ value: Double, _ digits: Int = 1) -> String {
    var multiplier = 1.0
    for _ in 0..<digits { multiplier *= 10 }
    return String(Double((value * multiplier).rounded()) / multiplier)
}

/// A state with `users` users spread over `accounts` accounts, plus one
/// account of 1,000 users for ListUsers, built through `execute`; every user
/// is activated and the outbox drained, as after a quiet week.
struct Population {
    var state = AccessState()
    var rng = Random(state: 42)
    var now = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
    var owners: [(account: AccountID, owner: UserID)] = []
    var memberRole: [AccountID: RoleID] = [:]
    var viewerRole: [AccountID: RoleID] = [:]
    var userIDs: [UserID] = []
    var bigAccount: (account: AccountID, owner: UserID)?

    mutating func execute(_ command: Command, as principal: Principal) -> [Event] {
        now = now.adding(milliseconds: 1)
        do {
            return try state.execute(command, context: CommandContext(principal: principal, now: now), using: &rng)
        } catch {
            fatalError("setup command refused: \(error)")
        }
    }

    mutating func addAccount(index: Int, licenses: Int) -> (AccountID, UserID) {
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

    mutating func addUsers(_ count: Int, to account: AccountID, owner: UserID, prefix: String) {
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

    mutating func drainOutbox() {
        let ids = Array(state.outbox.keys)
        var start = 0
        while start < ids.count {
            _ = execute(.acknowledgeOutbox(Array(ids[start..<min(start + 10_000, ids.count)])), as: .administrator)
            start += 10_000
        }
    }

    static func build(users: Int, accounts: Int, withBigAccount: Bool) -> Population {
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

/// `writes` EditUser writes, with or without first taking a copy of the state
/// (as the daemon does for a snapshot writer) that stays alive meanwhile;
/// returns the median nanoseconds for the whole batch.
func thousandWrites(_ population: inout Population, writes: Int, copyFirst: Bool, rounds: Int = 9) -> Double {
    let clock = ContinuousClock()
    var timings: [Double] = []
    var held: AccessState?
    for round in 0..<rounds {
        let elapsed = clock.measure {
            if copyFirst { held = population.state }  // the O(1) copy a snapshot writer would hold
            for i in 0..<writes {
                let owner = population.owners[(round &* writes &+ i &* 7919) % population.owners.count].owner
                _ = population.execute(.editUser(EditUser(user: owner, firstName: "Renamed\(round)x\(i)")), as: .user(owner))
            }
        }
        timings.append(seconds(elapsed) * 1e9)
        held = nil
    }
    if held != nil { print("unreachable") }
    return timings.sorted()[timings.count / 2]
}

/// The per-call figures at one size; returns them by name for the ratios.
func measure(_ population: inout Population) -> [String: Double] {
    var figures: [String: Double] = [:]
    let state = population.state
    let users = state.users.count
    let ids = population.userIDs
    let accountList = population.owners.map(\.account)
    var rng = Random(state: 7)
    let sample = (0..<100_000).map { _ in
        (ids[Int(rng.next() % UInt64(ids.count))], accountList[Int(rng.next() % UInt64(accountList.count))])
    }
    var sink = 0
    // A baseline in the same process: a plain Dictionary lookup of the same users.
    var plain: [UserID: User] = [:]
    for (id, user) in state.users { plain[id] = user }
    figures["baseline_dictionary_lookup"] = nanosecondsPerCall(count: 100_000) { i in
        if plain[sample[i % sample.count].0] != nil { sink += 1 }
    }
    plain = [:]
    figures["check_home_account"] = nanosecondsPerCall(count: 100_000) { i in
        let (user, _) = sample[i % sample.count]
        let home = state.users[user]!.account
        if (try? state.check(CheckRequest(user: user, account: home, permission: .manageProjects)))?.allowed == true { sink += 1 }
    }
    figures["check_other_account"] = nanosecondsPerCall(count: 100_000) { i in
        let (user, account) = sample[i % sample.count]
        if (try? state.check(CheckRequest(user: user, account: account, permission: .manageProducts)))?.allowed == true { sink += 1 }
    }
    figures["get_user"] = nanosecondsPerCall(count: 100_000) { i in
        let (user, _) = sample[i % sample.count]
        if (try? state.getUser(user, as: .administrator)) != nil { sink += 1 }
    }
    let (bigAccount, bigOwner) = population.bigAccount!
    let query = ListUsersQuery(account: bigAccount, sortBy: .email, search: "user1", pageSize: 50)
    figures["list_users_first_page"] = nanosecondsPerCall(count: 200) { _ in
        if let page = try? state.listUsers(query, as: .user(bigOwner)) { sink += page.users.count }
    }
    var addIndex = 0
    figures["add_user"] = nanosecondsPerCall(count: 10_000, rounds: 3) { _ in
        let (account, owner) = population.owners[addIndex % population.owners.count]
        addIndex += 1
        _ = population.execute(
            .addUser(
                AddUser(
                    account: account, email: "bench\(addIndex)@added.example", firstName: "Bench", lastName: "User",
                    role: population.viewerRole[account]!)), as: .user(owner))
    }
    var editIndex = 0
    figures["edit_user"] = nanosecondsPerCall(count: 10_000, rounds: 3) { _ in
        let (_, owner) = population.owners[(editIndex &* 7919) % population.owners.count]
        editIndex += 1
        _ = population.execute(.editUser(EditUser(user: owner, lastName: "Edited\(editIndex)")), as: .user(owner))
    }
    figures["1000_writes_no_copy"] = thousandWrites(&population, writes: 1000, copyFirst: false)
    figures["copy_then_1000_writes"] = thousandWrites(&population, writes: 1000, copyFirst: true)
    if sink == -1 { print(sink) }  // keeps the optimizer from dropping the reads
    for name in figures.keys.sorted() {
        let unit = name.contains("1000_writes") ? "ns_total" : "ns_per_call"
        report(name, [("users", "\(users)"), (unit, format(figures[name]!, 0))])
    }
    for name in ["check_home_account", "check_other_account", "get_user"] {
        report(
            "vs_baseline", [("users", "\(users)"), ("figure", name),
            ("ratio_vs_dictionary_lookup", format(figures[name]! / figures["baseline_dictionary_lookup"]!, 2))])
    }
    report(
        "copy_overhead", [("users", "\(users)"), ("ratio_copy_then_writes_vs_writes", format(figures["copy_then_1000_writes"]! / figures["1000_writes_no_copy"]!, 2))])
    return figures
}

let options = Options(CommandLine.arguments)
let clock = ContinuousClock()

// The large state first, so that its memory is measured on a fresh heap.
let rssBefore = residentBytes()
var large = Population()
let largeBuild = clock.measure {
    large = Population.build(users: options.users, accounts: options.accounts, withBigAccount: true)
}
let userCount = large.state.users.count
report("build", [("users", "\(userCount)"), ("accounts", "\(large.state.accounts.count)"), ("seconds", format(seconds(largeBuild), 1))])
let bookkeeping = large.userIDs.count * MemoryLayout<UserID>.stride + large.owners.count * 64 + large.memberRole.count * 128
report(
    "memory",
    [
        ("users", "\(userCount)"), ("rss_mib", format(Double(residentBytes()) / 1_048_576)),
        ("rss_bytes_per_user", format(Double(residentBytes() - rssBefore - bookkeeping) / Double(userCount), 0)),
    ])

var small = Population()
let smallBuild = clock.measure {
    small = Population.build(users: options.smallUsers, accounts: max(1, options.smallUsers / 10), withBigAccount: true)
}
report("build", [("users", "\(small.state.users.count)"), ("seconds", format(seconds(smallBuild), 2))])
let smallFigures = measure(&small)
small = Population()

let largeFigures = measure(&large)
for name in largeFigures.keys.sorted() {
    report(
        "growth",
        [
            ("figure", name), ("small_users", "\(options.smallUsers)"), ("large_users", "\(userCount)"),
            ("ratio_large_vs_small", format(largeFigures[name]! / smallFigures[name]!, 2)),
        ])
}
