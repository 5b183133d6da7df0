// accessd-core-bench: per-call costs of the domain core at scale (issue 2).
//
// Builds N users in M accounts through `execute` (as the daemon would), then
// times Check, GetUser, AddUser, EditUser and ListUsers, measures resident
// memory per user, and times "copy the state, then apply 1,000 writes" at a
// small and at the full size: with persistent collections that time must not
// grow with the size. Prints one `RESULT` line per figure.
//
// Usage: accessd-core-bench [--users N] [--accounts M] [--small N]

import AccessBenchSupport
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
    // Each sampled user's home account, found before the clock starts.
    let homes = sample.map { state.users[$0.0]!.account }
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
        let home = homes[i % sample.count]
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
