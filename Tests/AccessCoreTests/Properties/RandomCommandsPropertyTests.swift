import AccessStatus
import Testing

@testable import AccessCore

/// Thousands of random commands (random actors, including unauthorised,
/// deactivated and unknown ones; bad and foreign ids; colliding emails;
/// exhausted licenses) from fixed seeds. After every step:
///
/// 1. no account uses more licenses than it has (counted from the users too);
/// 2. every account has an ACTIVE Account Owner (counted from the users);
/// 3. a rejected command left the state as it was and appended nothing, with
///    a status code and a message; an accepted one appended events numbered
///    without a gap from the previous `nextSeq`;
/// 4. replaying every event so far on an empty state gives the state, and the
///    indexes equal the ones rebuilt from scratch;
/// 5. `check` agrees with `ReferenceModel` on every user and account (and more),
///    and with `computedCheck`, which looks up what `check` reads from the
///    access `apply` keeps (`UserAccess`; item 4 compares that with a rebuild).
///
/// The runs are driven by `SeededGenerator` from fixed seeds, so that every
/// run of the test command checks the same sequences (a property-testing
/// library drawing a new seed each run would make CI flaky rather than
/// thorough, and none is a dependency any more); a failure names the seed
/// (in hex) and the step, and the run stops there. To reproduce one, keep only
/// that seed in `seeds`.
@Suite struct RandomCommandsPropertyTests {
    static let seeds: [UInt64] = (1...8).map { 0xACCE_55ED_0000 + $0 }
    static let stepsPerRun = 500
    /// Replaying everything after every step costs O(n²): the first runs do it
    /// after every step, the others after every fifth (and all after the last);
    /// every run still applies each step's events to a replica and compares.
    static let runsReplayingEveryStep = 3

    @Test func randomCommandsKeepTheInvariantsAndAgreeWithTheReferenceModel() async {
        let clock = ContinuousClock()
        let started = clock.now
        let total = await withTaskGroup(of: RunStats.self) { group in
            for (index, seed) in Self.seeds.enumerated() {
                group.addTask {
                    var run = RandomRun(seed: seed, fullReplayEvery: index < Self.runsReplayingEveryStep ? 1 : 5)
                    return run.run(steps: Self.stepsPerRun)
                }
            }
            var total = RunStats()
            for await stats in group { total.add(stats) }
            return total
        }
        print(total.summary(runs: Self.seeds.count, elapsed: clock.now - started))

        // The mix must stay meaningful, or the test proves little.
        #expect(total.failedRuns == 0)
        #expect(total.steps == Self.seeds.count * Self.stepsPerRun)
        #expect(total.accepted * 100 >= total.steps * 30, "at least 30% of the commands are accepted")
        for code in [
            StatusCode.resourceExhausted, .alreadyExists, .permissionDenied, .notFound, .failedPrecondition,
            .invalidArgument, .unauthenticated,
        ] {
            #expect(total.rejectedByCode[code.description, default: 0] > 0, "no command was rejected with \(code)")
        }
        // Every rule that refuses writes refused some (R12 and R19 are reads; R21 is checked at every step).
        for rule in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 20].map(Rule.init(rawValue:)) {
            #expect(total.rejectedByRule[rule.description, default: 0] > 0, "no command was rejected by \(rule)")
        }
        for kind in CommandKind.allCases {
            #expect(total.acceptedByKind[kind, default: 0] > 0, "no \(kind) command was accepted")
            #expect(total.rejectedByKind[kind, default: 0] > 0, "no \(kind) command was rejected")
        }
        let changes = [
            "accountCreated", "accountRenamed", "licenseCountChanged", "billingUpdated", "roleCreated", "roleEdited",
            "roleDeleted", "userAdded", "userEdited", "userActivated", "userDeactivated", "userReactivated",
            "activationIssued", "officeCreated", "officeRenamed", "officeDeleted", "projectCreated", "projectUpdated",
            "projectDeleted", "productCreated", "productRenamed", "productDeleted", "accessShared", "shareUpdated",
            "shareRemoved", "shareRetired", "clientAdded", "clientAccessRequested", "clientAccessApproved",
            "clientAccessDenied", "clientAccessRevoked", "clientRemoved", "outboxMessageQueued", "outboxAcknowledged",
        ]
        for kind in changes { #expect(total.eventsByKind[kind, default: 0] > 0, "no \(kind) event") }
        var expectedCoverage = Set(
            AccountKind.allCases.flatMap { kind in Region.allCases.map { "account \(kind.rawValue) \($0.rawValue)" } })
        expectedCoverage.formUnion(["share all", "share all with billing", "share list", "share list with billing"])
        expectedCoverage.formUnion(["role FULL", "role VIEWER", "reactivated to ACTIVE", "reactivated to PENDING"])
        let missing = expectedCoverage.subtracting(total.covered)
        #expect(missing.isEmpty, "never made: \(missing.sorted())")
        #expect(total.allowedChecks * 100 >= total.checks * 10, "at least 10% of the checks are allowed")
        for path in ["home role", "share", "client link"] {
            #expect(total.allowedByPath[path, default: 0] > 0, "no check was allowed through a \(path)")
            #expect(total.deniedByPath[path, default: 0] > 0, "no check was denied on a \(path)")
        }
    }
}

/// What the runs saw, added up.
struct RunStats: Sendable {
    var steps = 0
    var failedRuns = 0
    var accepted = 0
    var events = 0
    var rejectedByCode: [String: Int] = [:]
    var acceptedByKind: [CommandKind: Int] = [:]
    var rejectedByKind: [CommandKind: Int] = [:]
    var rejectedByKindAndCode: [CommandKind: [String: Int]] = [:]
    var rejectedByRule: [String: Int] = [:]
    /// Accepted events by kind, and what they carried (account kinds and regions, share scopes).
    var eventsByKind: [String: Int] = [:]
    var covered: Set<String> = []
    var checks = 0
    var allowedChecks = 0
    var allowedByPath: [String: Int] = [:]
    var deniedByPath: [String: Int] = [:]
    var finalUsers = 0
    var finalAccounts = 0

    mutating func add(_ other: RunStats) {
        steps += other.steps
        failedRuns += other.failedRuns
        accepted += other.accepted
        events += other.events
        rejectedByCode.merge(other.rejectedByCode, uniquingKeysWith: +)
        acceptedByKind.merge(other.acceptedByKind, uniquingKeysWith: +)
        rejectedByKind.merge(other.rejectedByKind, uniquingKeysWith: +)
        rejectedByKindAndCode.merge(other.rejectedByKindAndCode) { $0.merging($1, uniquingKeysWith: +) }
        rejectedByRule.merge(other.rejectedByRule, uniquingKeysWith: +)
        eventsByKind.merge(other.eventsByKind, uniquingKeysWith: +)
        covered.formUnion(other.covered)
        checks += other.checks
        allowedChecks += other.allowedChecks
        allowedByPath.merge(other.allowedByPath, uniquingKeysWith: +)
        deniedByPath.merge(other.deniedByPath, uniquingKeysWith: +)
        finalUsers += other.finalUsers
        finalAccounts += other.finalAccounts
    }

    func summary(runs: Int, elapsed: Duration) -> String {
        func percent(_ part: Int, _ whole: Int) -> String { "\(whole == 0 ? 0 : part * 100 / whole)%" }
        let rejected = steps - accepted
        var lines = [
            "Random commands: \(runs) runs, \(steps) steps, \(events) events in \(elapsed)",
            "  accepted \(accepted) (\(percent(accepted, steps))), rejected \(rejected)",
        ]
        for (code, count) in rejectedByCode.sorted(by: { $0.value > $1.value }) {
            lines.append("    \(code): \(count)")
        }
        let rules = rejectedByRule.sorted { ($0.key.count, $0.key) < ($1.key.count, $1.key) }
        lines.append("  rejected by rule: \(rules.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        lines.append("  per command (accepted / rejected):")
        for kind in CommandKind.allCases {
            let codes = rejectedByKindAndCode[kind, default: [:]].sorted { ($1.value, $0.key) < ($0.value, $1.key) }
                .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            lines.append(
                "    \(kind.rawValue): \(acceptedByKind[kind, default: 0]) / \(rejectedByKind[kind, default: 0]) (\(codes))")
        }
        lines.append("  events: \(eventsByKind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        lines.append("  covered: \(covered.sorted().joined(separator: ", "))")
        lines.append("  checks compared with the model: \(checks), allowed \(allowedChecks) (\(percent(allowedChecks, checks)))")
        lines.append("    allowed by path: \(allowedByPath.sorted { $0.key < $1.key })")
        lines.append("    denied on a path: \(deniedByPath.sorted { $0.key < $1.key })")
        lines.append("  final states: \(finalAccounts) accounts, \(finalUsers) users in all")
        return lines.joined(separator: "\n")
    }
}

/// One run: an empty state, a seed, and a number of random steps, each
/// followed by every check. Stops at the first step with a problem, which it
/// records with the seed, the step and the command.
struct RandomRun {
    let seed: UInt64
    let fullReplayEvery: Int
    /// Short, so that the clock's jumps expire some activations (R9).
    let policy = DomainPolicy(activationLifetimeMilliseconds: 3 * 3600 * 1000)
    var state = AccessState()
    /// Every event applied, in order: the journal a daemon would write.
    var history: [Event] = []
    /// R20's event history, fed with what was accepted.
    var journal = EventHistory()
    /// A second state that applies each step's events to the previous one.
    var replica = AccessState()
    var generator: CommandGenerator
    /// The core's randomness (activation tokens).
    var tokens: SeededGenerator
    /// When the clock jumps (and activations expire).
    var clock: SeededGenerator
    /// Which checks are sampled.
    var sampler: SeededGenerator
    var now = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
    var stats = RunStats()

    init(seed: UInt64, fullReplayEvery: Int = 1) {
        self.seed = seed
        self.fullReplayEvery = fullReplayEvery
        generator = CommandGenerator(seed: seed)
        tokens = SeededGenerator(seed: seed ^ 0x70CE_0000)
        clock = SeededGenerator(seed: seed ^ 0xC10C_0000)
        sampler = SeededGenerator(seed: seed ^ 0x5A3F_0000)
    }

    mutating func run(steps: Int) -> RunStats {
        for step in 1...steps {
            let generated = generator.next(in: state)
            var problems = self.step(generated)
            if step % fullReplayEvery == 0 || step == steps { problems += fullReplayProblems() }
            stats.steps += 1
            if !problems.isEmpty {
                Issue.record(
                    """
                    seed \(String(seed, radix: 16)), step \(step): \(generated)
                    \(problems.prefix(12).joined(separator: "\n"))
                    """)
                stats.failedRuns += 1
                return stats
            }
        }
        do {
            let held = try journal.events(after: 0, limit: history.count + 1)
            if held != history { Issue.record("seed \(seed): the event history differs from the events applied") }
        } catch {
            Issue.record("seed \(seed): reading the event history failed: \(error)")
        }
        stats.finalUsers = state.users.count
        stats.finalAccounts = state.accounts.count
        return stats
    }

    /// Runs one command and returns what is wrong afterwards, if anything.
    mutating func step(_ generated: GeneratedCommand) -> [String] {
        now = now.adding(milliseconds: Int.random(in: 0..<100, using: &clock) < 2 ? 2 * 3600 * 1000 : 1000)
        let before = state
        let journalBefore = journal
        let context = CommandContext(principal: generated.principal, now: now, policy: policy)
        var problems: [String] = []
        do {
            let events = try state.execute(generated.command, context: context, using: &tokens)
            stats.accepted += 1
            stats.events += events.count
            stats.acceptedByKind[generated.kind, default: 0] += 1
            for event in events { count(event.change) }
            problems += acceptedProblems(events, before: before, context: context)
            if problems.isEmpty {
                history += events
                journal.append(events)
                generator.observe(events)
                do { try replica.apply(events) } catch { problems.append("the step's events do not apply to the replica: \(error)") }
            }
        } catch {
            stats.rejectedByCode[error.code.description, default: 0] += 1
            stats.rejectedByKind[generated.kind, default: 0] += 1
            stats.rejectedByKindAndCode[generated.kind, default: [:]][error.code.description, default: 0] += 1
            stats.rejectedByRule[error.rule.map(String.init(describing:)) ?? "no rule", default: 0] += 1
            problems += rejectedProblems(error, before: before, journalBefore: journalBefore)
        }
        problems += licenseAndOwnerProblems()
        problems += recordProblems()
        problems += replayProblems()
        problems += modelProblems()
        return problems
    }

    private mutating func count(_ change: Change) {
        stats.eventsByKind[change.kind, default: 0] += 1
        switch change {
        case .accountCreated(let account):
            stats.covered.insert("account \(account.kind.rawValue) \(account.region.rawValue)")
        case .accessShared(let share), .shareUpdated(let share):
            let scope = if case .products = share.scope { "list" } else { "all" }
            stats.covered.insert("share \(scope)\(share.billing ? " with billing" : "")")
        case .roleCreated(let role) where role.builtIn == nil, .roleEdited(let role):
            stats.covered.insert("role \(role.access.rawValue)")
        case .userReactivated(let user):
            stats.covered.insert("reactivated to \(user.status.rawValue)")
        default:
            break
        }
    }

    // MARK: - (3) Accepted and rejected commands

    func acceptedProblems(_ events: [Event], before: AccessState, context: CommandContext) -> [String] {
        var problems: [String] = []
        if events.isEmpty { problems.append("an accepted command produced no event (R20)") }
        for (offset, event) in events.enumerated() {
            if event.seq != before.nextSeq + UInt64(offset) {
                problems.append("event \(offset) has seq \(event.seq), not \(before.nextSeq + UInt64(offset)) (R20: gapless)")
            }
            if event.time != context.now || event.actor != context.principal {
                problems.append("event \(event.seq) carries time \(event.time) and actor \(event.actor), not the command's")
            }
        }
        if state.nextSeq != before.nextSeq + UInt64(events.count) {
            problems.append("nextSeq is \(state.nextSeq) after \(events.count) events from \(before.nextSeq)")
        }
        return problems
    }

    func rejectedProblems(_ error: AccessError, before: AccessState, journalBefore: EventHistory) -> [String] {
        var problems: [String] = []
        if error.code == .ok { problems.append("a rejection carries OK: \(error)") }
        if Validation.trim(error.message).isEmpty { problems.append("a rejection has no message: \(error.code)") }
        if state != before { problems.append("a rejected command changed the state (R21): \(error)") }
        if state.nextSeq != before.nextSeq || state.outbox != before.outbox {
            problems.append("a rejected command appended events or outbox messages (R21): \(error)")
        }
        if journal != journalBefore || journal.lastSeq != state.revision {
            problems.append("a rejected command appended to the history (R21)")
        }
        return problems
    }

    // MARK: - (1), (2) Licenses and owners, counted from the users

    func licenseAndOwnerProblems() -> [String] {
        var problems: [String] = []
        var licenses: [AccountID: Int] = [:]
        var activeOwners: [AccountID: Int] = [:]
        for (_, user) in state.users {
            guard let role = state.roles[user.role] else { continue }
            if role.access == .full && (user.status == .pending || user.status == .active) {
                licenses[user.account, default: 0] += 1
            }
            if role.builtIn == .accountOwner && user.status == .active { activeOwners[user.account, default: 0] += 1 }
        }
        for (id, account) in state.accounts {
            let counted = licenses[id, default: 0]
            if state.licensesInUse(id) != counted {
                problems.append("account \(id): licensesInUse says \(state.licensesInUse(id)), the users hold \(counted) (R2)")
            }
            if counted > account.fullAccessLicenses || state.licensesInUse(id) > account.fullAccessLicenses {
                problems.append("account \(id) uses \(counted) of \(account.fullAccessLicenses) licenses (R2)")
            }
            if activeOwners[id, default: 0] < 1 { problems.append("account \(id) has no ACTIVE Account Owner (R5)") }
        }
        return problems
    }

    // MARK: - What else must hold of the records

    func recordProblems() -> [String] {
        var problems: [String] = []
        var emails: [EmailKey: UserID] = [:]
        var activationsOf: [UserID: Int] = [:]
        for (_, activation) in state.activations { activationsOf[activation.user, default: 0] += 1 }
        for (id, user) in state.users {
            guard let account = state.accounts[user.account], let role = state.roles[user.role], role.account == user.account
            else {
                problems.append("user \(id) has no account or a role of another account")
                continue
            }
            let key = EmailKey(region: account.region, email: user.email)
            if let other = emails.updateValue(id, forKey: key) {
                problems.append("users \(other) and \(id) share an email in \(account.region) (R8)")
            }
            if role.access == .viewer && !user.extraPermissions.isSubset(of: .viewerAllowed) {
                problems.append("user \(id) has a VIEWER role and extra permissions \(user.extraPermissions) (R10)")
            }
            if user.offices.contains(where: { state.offices[$0]?.account != user.account }) {
                problems.append("user \(id) is in an office that is not of its account (R13)")
            }
            let expected = user.status == .pending ? 1 : 0
            if activationsOf[id, default: 0] != expected {
                problems.append("user \(id) is \(user.status) with \(activationsOf[id, default: 0]) activations (R9)")
            }
        }
        var builtIns: [AccountID: [BuiltInRole]] = [:]
        for (id, role) in state.roles {
            if let builtIn = role.builtIn { builtIns[role.account, default: []].append(builtIn) }
            if role.access == .viewer && !role.permissions.isSubset(of: .viewerAllowed) {
                problems.append("VIEWER role \(id) carries \(role.permissions) (R10)")
            }
            if role.builtIn == .accountOwner && (role.access != .full || role.permissions != .all) {
                problems.append("the Account Owner role \(id) was edited (R4)")
            }
        }
        for (id, _) in state.accounts
        where builtIns[id, default: []].sorted(by: { $0.rawValue < $1.rawValue })
            != BuiltInRole.allCases.sorted(by: { $0.rawValue < $1.rawValue })
        {
            problems.append("account \(id) does not have exactly the three built-in roles (R1)")
        }
        for (id, project) in state.projects {
            if project.offices.contains(where: { state.offices[$0]?.account != project.account }) {
                problems.append("project \(id) lists an office that is not of its account (R13)")
            }
            if project.members.contains(where: { state.users[$0]?.account != project.account }) {
                problems.append("project \(id) has a member who is not a user of its account (R14)")
            }
        }
        for (id, share) in state.shares {
            guard let owner = state.accounts[share.owner], let grantee = state.users[share.grantee],
                let home = state.accounts[grantee.account]
            else {
                problems.append("share \(id) names a missing owner or grantee")
                continue
            }
            if home.id == owner.id || home.kind != .standard || home.region != owner.region {
                problems.append("share \(id) goes to a user of \(home.id) (\(home.kind), \(home.region)) (R16)")
            }
            if case .products(let list) = share.scope, list.contains(where: { state.products[$0]?.account != share.owner }) {
                problems.append("share \(id) lists a product that is not the owner's (R15)")
            }
        }
        for (key, link) in state.clientLinks {
            guard let agency = state.accounts[key.agency], let client = state.accounts[key.client] else {
                problems.append("client link \(key) names a missing account")
                continue
            }
            if agency.kind == .standard || client.kind != .standard || agency.region != client.region {
                problems.append("client link \(key) joins \(agency.kind) and \(client.kind) accounts (R18)")
            }
            let role = link.role.flatMap { state.roles[$0] }
            if (link.status == .approved) != (role != nil) || (role.map { $0.account != key.client || $0.isAccountOwner } ?? false) {
                problems.append("client link \(key) is \(link.status) with role \(String(describing: link.role)) (R18)")
            }
        }
        return problems
    }

    // MARK: - (4) Replay and indexes

    func replayProblems() -> [String] {
        var problems: [String] = []
        if replica != state { problems.append("applying each step's events one step at a time did not give the state") }
        if !state.indexesAreConsistent { problems.append("the indexes differ from the ones rebuilt from the records") }
        if journal.lastSeq != state.revision {
            problems.append("the event history ends at \(journal.lastSeq), the state is at \(state.revision)")
        }
        return problems
    }

    func fullReplayProblems() -> [String] {
        var problems: [String] = []
        var replayed = AccessState()
        do {
            try replayed.apply(history)
            if replayed != state { problems.append("replaying all \(history.count) events on an empty state did not give the state") }
        } catch {
            problems.append("replaying all events on an empty state failed: \(error)")
        }
        return problems
    }

    // MARK: - (5) Check against the reference model

    mutating func modelProblems() -> [String] {
        var problems: [String] = []
        let model = ReferenceModel(state)
        let catalog = StateCatalog(state)
        var questions: [CheckRequest] = []
        for user in catalog.users {
            for account in catalog.accounts { questions.append(question(user, account, catalog)) }
        }
        for _ in 0..<50 {
            guard let user = pick(catalog.users), let account = pick(catalog.accounts) else { break }
            questions.append(question(user, account, catalog))
        }
        for request in questions {
            let expected = model.allows(request.user, request.account, request.permission, request.resource)
            let result: CheckResult
            do {
                result = try state.check(request)
            } catch {
                problems.append("Check(\(describe(request))) failed: \(error)")
                continue
            }
            stats.checks += 1
            // The kept access (`UserAccess`) answers what the lookups of the primary collections answer.
            do {
                let computed = try state.computedCheck(request)
                if computed != result || computed.reason != result.reason {
                    problems.append("Check(\(describe(request))) = \(result); computed from the records it is \(computed)")
                }
            } catch {
                problems.append("Check(\(describe(request))) answered, but computed from the records it fails: \(error)")
            }
            let path = result.path.map(Self.pathName)
            if result.allowed {
                stats.allowedChecks += 1
                stats.allowedByPath[path ?? "none", default: 0] += 1
            } else if let path {
                stats.deniedByPath[path, default: 0] += 1
            }
            if result.allowed != expected {
                problems.append(
                    "Check(\(describe(request))) = \(result.allowed) (\(result.reason)); the model says \(expected)")
            }
        }
        for user in catalog.users {
            do {
                let reached = Set(try state.accessibleAccounts(of: user).map(\.account))
                let expected = model.reachableAccounts(of: user)
                if reached != expected {
                    problems.append(
                        "ListAccessibleAccounts(\(user)) = \(reached.sorted()); the model says \(expected.sorted())")
                }
            } catch {
                problems.append("ListAccessibleAccounts(\(user)) failed: \(error)")
            }
        }
        // Unknown ids are NOT_FOUND, not "denied".
        if let user = catalog.users.first, let account = catalog.accounts.first {
            let unknownUser = CheckRequest(user: UserID(sequence: 3_999_999_999), account: account, permission: .viewProjects)
            let unknownAccount = CheckRequest(user: user, account: AccountID(sequence: 3_999_999_999), permission: .viewProjects)
            for request in [unknownUser, unknownAccount] {
                do {
                    _ = try state.check(request)
                    problems.append("Check(\(describe(request))) answered for an unknown id")
                } catch {
                    if error.code != .notFound { problems.append("Check(\(describe(request))) failed with \(error), not NOT_FOUND") }
                }
            }
        }
        return problems
    }

    /// One question about a user in an account: on the account, one of its
    /// projects, or one of its products, with a permission that fits.
    private mutating func question(_ user: UserID, _ account: AccountID, _ catalog: StateCatalog) -> CheckRequest {
        switch Int.random(in: 0..<4, using: &sampler) {
        case 0:
            if let project = pick(catalog.projectsOf[account] ?? []) {
                let permission = pick([Permission.viewProjects, .viewAllProjects, .manageProjects])!
                return CheckRequest(user: user, account: account, permission: permission, resource: .project(project))
            }
        case 1:
            if let product = pick(catalog.productsOf[account] ?? []) {
                return CheckRequest(user: user, account: account, permission: .manageProducts, resource: .product(product))
            }
        default:
            break
        }
        return CheckRequest(user: user, account: account, permission: pick(Permission.allCases)!)
    }

    private mutating func pick<T>(_ items: [T]) -> T? {
        items.isEmpty ? nil : items[Int.random(in: 0..<items.count, using: &sampler)]
    }

    private func describe(_ request: CheckRequest) -> String {
        let resource = request.resource.map { ", \($0)" } ?? ""
        let user = state.users[request.user].map { " (\($0.status), home \($0.account))" } ?? ""
        return "\(request.user)\(user), \(request.account), \(request.permission)\(resource)"
    }

    private static func pathName(_ path: AccessPath) -> String {
        switch path {
        case .homeRole: "home role"
        case .share: "share"
        case .clientLink: "client link"
        }
    }
}
