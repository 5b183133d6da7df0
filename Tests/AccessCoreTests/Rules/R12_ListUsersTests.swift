import AccessStatus
import Testing

@testable import AccessCore

/// R12: listing users sorts by every column (both directions, ties by id),
/// searches name and email case-insensitively, filters by status, role, office
/// and permission, pages with a size and an opaque token that survives added
/// users, and carries the licenses in use and the totals.
@Suite struct R12_ListUsersTests {
    /// An account with seven users of every status, four roles and three offices.
    struct Fixture {
        var world = World()
        var account: AccountID
        var owner: UserID
        var zed: UserID, ada: UserID, bob: UserID, carl: UserID, dana: UserID, eve: UserID
        var berlin: OfficeID, amsterdam: OfficeID, paris: OfficeID
        var analyst: RoleID

        init() throws {
            var world = World()
            let (account, owner) = try world.createAccount("Acme", licenses: 50)
            berlin = try world.createOffice("Berlin", in: account, as: owner)
            amsterdam = try world.createOffice("amsterdam", in: account, as: owner)
            paris = try world.createOffice("Paris", in: account, as: owner)
            analyst = try world.createRole(
                "Analyst", access: .full, permissions: Permissions([.viewProjects, .viewAllProjects]), in: account, as: owner)
            let viewer = world.role(.viewer, of: account)
            zed = try world.addActiveUser(
                to: account, email: "zed.adams@example.com", offices: [berlin], as: owner, firstName: "Zed",
                lastName: "Adams")
            ada = try world.addUser(
                to: account, email: "ADA@Example.org", role: viewer, offices: [berlin, amsterdam], as: owner,
                firstName: "ada", lastName: "Lovelace")
            bob = try world.addActiveUser(
                to: account, email: "bob@sample.net", extraPermissions: Permissions([.viewBilling]), as: owner, firstName: "Bob",
                lastName: "Brown")
            try world.run(.deactivateUser(bob), as: .user(owner))
            carl = try world.addActiveUser(
                to: account, email: "carl@example.com", role: viewer, offices: [paris], as: owner, firstName: "Carl",
                lastName: "Zed")
            dana = try world.addActiveUser(
                to: account, email: "dana@example.com", role: analyst, offices: [berlin], as: owner, firstName: "Ada",
                lastName: "Lovelace")
            eve = try world.addUser(
                to: account, email: "eve@EXAMPLE.com", as: owner, firstName: "Eve", lastName: "Moneypenny")
            self.world = world
            self.account = account
            self.owner = owner
        }

        var everyone: [UserID] { [owner, zed, ada, bob, carl, dana, eve] }

        func list(_ query: ListUsersQuery, as principal: Principal? = nil) throws -> UserPage {
            try world.state.listUsers(query, as: principal ?? .user(owner))
        }

        func ids(_ query: ListUsersQuery) throws -> [UserID] { try list(query).users.map(\.id) }
    }

    @discardableResult
    private func expectReadError<T>(
        _ code: StatusCode, rule: Rule?, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () throws -> T
    ) -> AccessError? {
        do {
            let value = try body()
            Issue.record("expected \(code), got \(value)", sourceLocation: sourceLocation)
            return nil
        } catch let error as AccessError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            #expect(error.rule == rule, "\(error)", sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("expected an AccessError, got \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    /// The sort key of a row as a person reads the column (case-insensitive text).
    private func columnKey(_ row: UserRow, _ field: UserSortField) -> String {
        switch field {
        case .name: (row.firstName + " " + row.lastName).lowercased()
        case .email: row.email.lowercased()
        case .status: row.status.rawValue
        case .role: row.roleName.lowercased()
        case .permissions: row.permissions.members.map(\.name).joined(separator: ",")
        case .offices: row.offices.map { $0.name.lowercased() }.sorted().joined(separator: ",")
        }
    }

    // MARK: - Rows

    @Test func R12_eachRowCarriesNameEmailStatusRolePermissionsAndOffices() throws {
        let f = try Fixture()
        let rows = Dictionary(uniqueKeysWithValues: try f.list(ListUsersQuery(account: f.account)).users.map { ($0.id, $0) })
        #expect(rows.count == 7)

        let ada = try #require(rows[f.ada])
        #expect(ada.firstName == "ada" && ada.lastName == "Lovelace")
        #expect(ada.email == "ADA@Example.org")
        #expect(ada.status == .pending)
        #expect(ada.role == f.world.role(.viewer, of: f.account))
        #expect(ada.roleName == "Viewer" && ada.roleAccess == .viewer)
        #expect(ada.permissions == Permissions([.viewProjects]))
        #expect(ada.offices.map(\.name) == ["amsterdam", "Berlin"], "offices sorted by name, case-insensitively")

        let dana = try #require(rows[f.dana])
        #expect(dana.role == f.analyst && dana.roleName == "Analyst" && dana.roleAccess == .full)
        #expect(dana.permissions == Permissions([.viewProjects, .viewAllProjects]))
        #expect(dana.offices.map(\.id) == [f.berlin])

        #expect(rows[f.bob]?.status == .deactivated)
        #expect(rows[f.bob]?.permissions == Permissions([.viewProjects, .manageProjects, .manageProducts, .viewBilling]),
                "effective permissions: the role's plus the extra ones")
        #expect(rows[f.owner]?.permissions == .all, "an Account Owner holds every permission")
        #expect(rows[f.owner]?.roleName == "Account Owner")
        #expect(rows[f.eve]?.offices == [])
    }

    @Test func R12_replyCarriesLicensesInUseAndTotals() throws {
        let f = try Fixture()
        let page = try f.list(ListUsersQuery(account: f.account, statuses: [.pending]))
        // FULL role and PENDING or ACTIVE: owner, zed, dana, eve (bob is deactivated; ada and carl are viewers).
        #expect(page.licensesInUse == 4)
        #expect(page.licenseCount == 50)
        #expect(page.totalUsers == 7)
        #expect(page.totalMatching == 2)
        #expect(page.licensesInUse == f.world.state.licensesInUse(f.account))
    }

    // MARK: - Sorting

    @Test func R12_sortsByNameCaseInsensitivelyBothDirectionsWithTiesById() throws {
        let f = try Fixture()
        // "ada Lovelace" and "Ada Lovelace" tie; ada was added before dana.
        #expect(try f.ids(ListUsersQuery(account: f.account, sortBy: .name))
            == [f.ada, f.dana, f.bob, f.carl, f.eve, f.owner, f.zed])
        #expect(try f.ids(ListUsersQuery(account: f.account, sortBy: .name, descending: true))
            == [f.zed, f.owner, f.eve, f.carl, f.bob, f.ada, f.dana])
    }

    @Test func R12_sortsByStatusWithTiesById() throws {
        let f = try Fixture()
        #expect(try f.ids(ListUsersQuery(account: f.account, sortBy: .status))
            == [f.owner, f.zed, f.carl, f.dana, f.bob, f.ada, f.eve])
        #expect(try f.ids(ListUsersQuery(account: f.account, sortBy: .status, descending: true))
            == [f.ada, f.eve, f.bob, f.owner, f.zed, f.carl, f.dana])
    }

    @Test func R12_sortsByRoleName() throws {
        let f = try Fixture()
        // Account Owner < Analyst < Member < Viewer.
        #expect(try f.ids(ListUsersQuery(account: f.account, sortBy: .role))
            == [f.owner, f.dana, f.zed, f.bob, f.eve, f.ada, f.carl])
    }

    @Test(arguments: UserSortField.allCases, [false, true])
    func R12_sortsByEveryColumnInBothDirectionsWithTiesBrokenById(field: UserSortField, descending: Bool) throws {
        let f = try Fixture()
        let rows = try f.list(ListUsersQuery(account: f.account, sortBy: field, descending: descending)).users
        #expect(Set(rows.map(\.id)) == Set(f.everyone))
        #expect(rows.count == f.everyone.count)
        for (a, b) in zip(rows, rows.dropFirst()) {
            let (ka, kb) = (columnKey(a, field), columnKey(b, field))
            if ka == kb {
                #expect(a.id < b.id, "ties by \(field) are broken by id: \(a.id) before \(b.id)")
            } else {
                #expect(descending ? ka > kb : ka < kb, "\(field) \(descending ? "desc" : "asc"): \(ka) before \(kb)")
            }
        }
        if field != .email {
            #expect(zip(rows, rows.dropFirst()).contains { columnKey($0, field) == columnKey($1, field) },
                    "the fixture has a tie in column \(field)")
        }
        // Descending is ascending reversed, except that ties keep their id order.
        let ascending = try f.list(ListUsersQuery(account: f.account, sortBy: field)).users
        if field == .email { #expect(descending ? rows.reversed() == ascending : rows == ascending) }
    }

    // MARK: - Search

    @Test func R12_searchMatchesNameCaseInsensitively() throws {
        let f = try Fixture()
        #expect(Set(try f.ids(ListUsersQuery(account: f.account, search: "LOVE"))) == [f.ada, f.dana])
        #expect(try f.ids(ListUsersQuery(account: f.account, search: "ADAMS")) == [f.zed])
        // First and last name together.
        #expect(try f.ids(ListUsersQuery(account: f.account, search: "carl zed")) == [f.carl])
        #expect(Set(try f.ids(ListUsersQuery(account: f.account, search: "zed"))) == [f.zed, f.carl])
    }

    @Test func R12_searchMatchesEmailCaseInsensitivelyAndIsTrimmed() throws {
        let f = try Fixture()
        #expect(Set(try f.ids(ListUsersQuery(account: f.account, search: "example.COM")))
            == [f.owner, f.zed, f.carl, f.dana, f.eve])
        #expect(try f.ids(ListUsersQuery(account: f.account, search: "  bob@SAMPLE  ")) == [f.bob])
        #expect(try f.ids(ListUsersQuery(account: f.account, search: "example.org")) == [f.ada])
    }

    @Test func R12_searchWithoutMatchReturnsAnEmptyLastPage() throws {
        let f = try Fixture()
        let page = try f.list(ListUsersQuery(account: f.account, search: "nobody-here"))
        #expect(page.users.isEmpty)
        #expect(page.nextPageToken.isEmpty)
        #expect(page.totalMatching == 0)
        #expect(page.totalUsers == 7)
    }

    // MARK: - Filters

    @Test func R12_filtersByStatus() throws {
        let f = try Fixture()
        #expect(Set(try f.ids(ListUsersQuery(account: f.account, statuses: [.pending]))) == [f.ada, f.eve])
        #expect(try f.ids(ListUsersQuery(account: f.account, statuses: [.deactivated])) == [f.bob])
        #expect(Set(try f.ids(ListUsersQuery(account: f.account, statuses: [.active, .deactivated])))
            == [f.owner, f.zed, f.bob, f.carl, f.dana])
    }

    @Test func R12_filtersByRole() throws {
        let f = try Fixture()
        let viewer = f.world.role(.viewer, of: f.account)
        let member = f.world.role(.member, of: f.account)
        #expect(Set(try f.ids(ListUsersQuery(account: f.account, roles: [viewer]))) == [f.ada, f.carl])
        #expect(Set(try f.ids(ListUsersQuery(account: f.account, roles: [member, f.analyst])))
            == [f.zed, f.bob, f.dana, f.eve])
    }

    @Test func R12_filtersByOffice() throws {
        let f = try Fixture()
        #expect(Set(try f.ids(ListUsersQuery(account: f.account, offices: [f.berlin]))) == [f.zed, f.ada, f.dana])
        #expect(try f.ids(ListUsersQuery(account: f.account, offices: [f.paris])) == [f.carl])
        #expect(try f.ids(ListUsersQuery(account: f.account, offices: [f.amsterdam])) == [f.ada])
    }

    @Test func R12_filtersByEffectivePermission() throws {
        let f = try Fixture()
        // The owner holds all; bob has VIEW_BILLING as an extra permission.
        #expect(Set(try f.ids(ListUsersQuery(account: f.account, permissions: Permissions([.viewBilling])))) == [f.owner, f.bob])
        #expect(Set(try f.ids(ListUsersQuery(account: f.account, permissions: Permissions([.viewAllProjects]))))
            == [f.owner, f.dana])
        #expect(Set(try f.ids(ListUsersQuery(account: f.account, permissions: Permissions([.viewProjects, .manageProducts]))))
            == [f.owner, f.zed, f.bob, f.eve], "a user must hold every permission asked for")
    }

    @Test func R12_filtersAndSearchCombine() throws {
        let f = try Fixture()
        #expect(Set(try f.ids(ListUsersQuery(account: f.account, statuses: [.active], offices: [f.berlin])))
            == [f.zed, f.dana])
        let page = try f.list(
            ListUsersQuery(account: f.account, search: "lovelace", statuses: [.active], offices: [f.berlin]))
        #expect(page.users.map(\.id) == [f.dana])
        #expect(page.totalMatching == 1)
    }

    // MARK: - Paging

    /// An account with `count` viewers besides its owner; names in a scrambled order.
    private func crowd(_ count: Int) throws -> (World, AccountID, UserID) {
        var world = World()
        let (account, owner) = try world.createAccount("Crowd", licenses: 1)
        let viewer = world.role(.viewer, of: account)
        for i in 0..<count {
            try world.addUser(
                to: account, email: "user\(i)@example.com", role: viewer, as: owner, firstName: "User",
                lastName: "N\((i * 37) % 101)")
        }
        return (world, account, owner)
    }

    @Test func R12_pageSizeDefaultsTo50() throws {
        let (world, account, owner) = try crowd(59)
        let page = try world.state.listUsers(ListUsersQuery(account: account), as: .user(owner))
        #expect(page.users.count == 50)
        #expect(!page.nextPageToken.isEmpty)
        #expect(page.totalMatching == 60)
        let rest = try world.state.listUsers(
            ListUsersQuery(account: account, pageToken: page.nextPageToken), as: .user(owner))
        #expect(rest.users.count == 10)
        #expect(rest.nextPageToken.isEmpty, "the last page has no next token")
    }

    @Test func R12_pageSizeAbove1000IsCutTo1000() throws {
        let (world, account, owner) = try crowd(1004)
        let page = try world.state.listUsers(ListUsersQuery(account: account, pageSize: 5000), as: .user(owner))
        #expect(page.users.count == 1000)
        #expect(!page.nextPageToken.isEmpty)
        let rest = try world.state.listUsers(
            ListUsersQuery(account: account, pageSize: 5000, pageToken: page.nextPageToken), as: .user(owner))
        #expect(rest.users.count == 5)
        #expect(Set(page.users.map(\.id) + rest.users.map(\.id)).count == 1005)
    }

    @Test func R12_negativePageSizeIsInvalidArgument() throws {
        let f = try Fixture()
        expectReadError(.invalidArgument, rule: .r12) {
            try f.world.state.listUsers(ListUsersQuery(account: f.account, pageSize: -1), as: .user(f.owner))
        }
    }

    @Test(arguments: [UserSortField.name, .status, .offices, .permissions], [false, true])
    func R12_pagingVisitsEveryUserOnceInOrder(field: UserSortField, descending: Bool) throws {
        let (world, account, owner) = try crowd(40)
        let all = try world.state.listUsers(
            ListUsersQuery(account: account, sortBy: field, descending: descending, pageSize: 1000), as: .user(owner))
        #expect(all.users.count == 41)
        var seen: [UserID] = []
        var token = ""
        var pages = 0
        repeat {
            let page = try world.state.listUsers(
                ListUsersQuery(account: account, sortBy: field, descending: descending, pageSize: 7, pageToken: token),
                as: .user(owner))
            #expect(page.users.count <= 7)
            seen += page.users.map(\.id)
            token = page.nextPageToken
            pages += 1
        } while !token.isEmpty && pages < 100
        #expect(pages == 6)
        #expect(seen == all.users.map(\.id), "no duplicates, no gaps, the same order as one big page")
    }

    @Test func R12_pageTokenStaysValidWhileUsersAreAdded() throws {
        var (world, account, owner) = try crowd(10)
        let query = ListUsersQuery(account: account, sortBy: .name, pageSize: 4)
        let first = try world.state.listUsers(query, as: .user(owner))
        #expect(first.users.count == 4)
        let cursor = try #require(first.users.last)
        let viewer = world.role(.viewer, of: account)

        // One sorting before the cursor, one after it, one with the cursor's very name (a larger id).
        let early = try world.addUser(to: account, email: "aaron@example.com", role: viewer, as: owner, firstName: "Aaron", lastName: "A")
        let late = try world.addUser(to: account, email: "zoe@example.com", role: viewer, as: owner, firstName: "Zoe", lastName: "Z")
        let twin = try world.addUser(
            to: account, email: "twin@example.com", role: viewer, as: owner, firstName: cursor.firstName,
            lastName: cursor.lastName)

        var rest: [UserID] = []
        var token = first.nextPageToken
        while !token.isEmpty {
            let page = try world.state.listUsers(
                ListUsersQuery(account: account, sortBy: .name, pageSize: 4, pageToken: token), as: .user(owner))
            rest += page.users.map(\.id)
            token = page.nextPageToken
        }
        let now = try world.state.listUsers(ListUsersQuery(account: account, sortBy: .name, pageSize: 1000), as: .user(owner))
            .users.map(\.id)
        let cursorIndex = try #require(now.firstIndex(of: cursor.id))
        #expect(rest == Array(now[(cursorIndex + 1)...]), "the next pages continue right after the cursor")
        #expect(rest.contains(late))
        #expect(rest.contains(twin), "a user tying with the cursor but with a larger id comes after it")
        #expect(!rest.contains(early), "a user sorting before the cursor is not repeated on later pages")
        #expect(Set(rest).isDisjoint(with: first.users.map(\.id)))
    }

    @Test func R12_pageTokenFromAnotherQueryIsInvalidArgument() throws {
        let f = try Fixture()
        let first = try f.list(ListUsersQuery(account: f.account, sortBy: .name, pageSize: 2))
        let token = first.nextPageToken
        #expect(!token.isEmpty)

        let others = [
            ListUsersQuery(account: f.account, sortBy: .email, pageSize: 2, pageToken: token),
            ListUsersQuery(account: f.account, sortBy: .name, descending: true, pageSize: 2, pageToken: token),
            ListUsersQuery(account: f.account, sortBy: .name, search: "a", pageSize: 2, pageToken: token),
            ListUsersQuery(account: f.account, sortBy: .name, statuses: [.active], pageSize: 2, pageToken: token),
            ListUsersQuery(account: f.account, sortBy: .name, roles: [f.analyst], pageSize: 2, pageToken: token),
            ListUsersQuery(account: f.account, sortBy: .name, offices: [f.paris], pageSize: 2, pageToken: token),
            ListUsersQuery(account: f.account, sortBy: .name, permissions: Permissions([.viewBilling]), pageSize: 2, pageToken: token),
        ]
        for query in others {
            expectReadError(.invalidArgument, rule: .r12) { try f.world.state.listUsers(query, as: .user(f.owner)) }
        }
        // Another account's query, read by an administrator.
        var world = f.world
        let (other, _) = try world.createAccount("Other")
        expectReadError(.invalidArgument, rule: .r12) {
            try world.state.listUsers(ListUsersQuery(account: other, sortBy: .name, pageSize: 2, pageToken: token), as: .administrator)
        }
        // Not a token at all.
        for garbage in ["not-a-token", "abc", token + "00", "ZZ", String(token.dropFirst(2))] {
            expectReadError(.invalidArgument, rule: .r12) {
                try f.world.state.listUsers(
                    ListUsersQuery(account: f.account, sortBy: .name, pageSize: 2, pageToken: garbage), as: .user(f.owner))
            }
        }
        // The same query with another page size keeps its token.
        let next = try f.list(ListUsersQuery(account: f.account, sortBy: .name, pageSize: 3, pageToken: token))
        #expect(next.users.map(\.id) == [f.bob, f.carl, f.eve])
    }

    // MARK: - Who may list (R4)

    @Test func R12_listingNeedsEditAccountSettings() throws {
        var f = try Fixture()
        expectReadError(.permissionDenied, rule: .r4) {
            try f.world.state.listUsers(ListUsersQuery(account: f.account), as: .user(f.zed))
        }
        expectReadError(.permissionDenied, rule: .r7) {
            try f.world.state.listUsers(ListUsersQuery(account: f.account), as: .user(f.bob))
        }
        let admin = try f.world.addActiveUser(
            to: f.account, email: "admin@example.com", extraPermissions: Permissions([.editAccountSettings]), as: f.owner)
        #expect(try f.world.state.listUsers(ListUsersQuery(account: f.account), as: .user(admin)).totalUsers == 8)
        #expect(try f.world.state.listUsers(ListUsersQuery(account: f.account), as: .administrator).totalUsers == 8)

        let (_, stranger) = try f.world.createAccount("Elsewhere")
        expectReadError(.permissionDenied, rule: .r19) {
            try f.world.state.listUsers(ListUsersQuery(account: f.account), as: .user(stranger))
        }
        expectReadError(.notFound, rule: nil) {
            try f.world.state.listUsers(ListUsersQuery(account: AccountID("acc_zzzz")!), as: .user(f.owner))
        }
    }
}
