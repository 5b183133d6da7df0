import Testing

@testable import AccessCore

/// AdminService.ListAccounts: every account, by id, a page at a time, for
/// administrators only; a page token is a cursor that stays valid while
/// accounts are created.
@Suite struct ListAccountsTests {
    /// A world with `count` accounts, in creation order.
    func world(accounts count: Int) throws -> (World, [AccountID]) {
        var world = World()
        var ids: [AccountID] = []
        for index in 0..<count { ids.append(try world.createAccount("Account \(index)").account) }
        return (world, ids)
    }

    /// Every page from the first, as the ids it held.
    func pages(_ state: AccessState, size: Int) throws -> [[AccountID]] {
        var pages: [[AccountID]] = []
        var token = ""
        repeat {
            let page = try state.listAccounts(pageSize: size, pageToken: token, as: .administrator)
            pages.append(page.accounts.map(\.account.id))
            token = page.nextPageToken
        } while !token.isEmpty && pages.count < 1000
        return pages
    }

    @Test func pagesHoldEveryAccountOnceInCreationOrder() throws {
        // 40 accounts mint ids past "acc_z": creation order is not string order ("acc_10" < "acc_z").
        let (world, ids) = try world(accounts: 40)
        #expect(ids.contains { $0.rawValue.utf8.count > ids[0].rawValue.utf8.count }, "ids of two lengths: \(ids)")
        for size in [1, 7, 40, 1000] {
            let pages = try pages(world.state, size: size)
            #expect(pages.flatMap { $0 } == ids, "page size \(size)")
            #expect(pages.count == (ids.count + size - 1) / size, "page size \(size): no empty last page")
            #expect(pages.dropLast().allSatisfy { $0.count == size }, "page size \(size)")
        }
    }

    @Test func pageSizeZeroIs100AndMoreThan1000IsCut() throws {
        let (world, ids) = try world(accounts: 3)
        let page = try world.state.listAccounts(as: .administrator)
        #expect(page.accounts.map(\.account.id) == ids && page.nextPageToken.isEmpty)
        #expect(AccessState.defaultAccountPageSize == 100 && AccessState.maximumAccountPageSize == 1000)
        let big = try world.state.listAccounts(pageSize: 5000, as: .administrator)
        #expect(big.accounts.count == 3)
    }

    @Test func eachAccountCarriesItsLicenseUseAndBilling() throws {
        var (world, ids) = try world(accounts: 1)
        let owner = world.state.users.values.first { $0.account == ids[0] }!.id
        try world.run(.updateBilling(account: ids[0], billing: Billing(companyName: "Acme GmbH")), as: .user(owner))
        let summary = try #require(world.state.listAccounts(as: .administrator).accounts.first)
        #expect(summary.licensesInUse == 1, "the owner holds a license (R2)")
        #expect(summary.account.billing.companyName == "Acme GmbH", "an administrator sees billing")
    }

    @Test func aTokenStaysValidWhileAccountsAreCreated() throws {
        var (world, ids) = try world(accounts: 5)
        let first = try world.state.listAccounts(pageSize: 3, as: .administrator)
        let later = try world.createAccount("Later").account
        let second = try world.state.listAccounts(pageSize: 3, pageToken: first.nextPageToken, as: .administrator)
        #expect(first.accounts.map(\.account.id) + second.accounts.map(\.account.id) == ids + [later])
        #expect(second.nextPageToken.isEmpty)
    }

    @Test func onlyAnAdministratorLists() throws {
        let (world, ids) = try world(accounts: 1)
        let owner = world.state.users.values.first { $0.account == ids[0] }!.id
        #expect(throws: AccessError.self) { try world.state.listAccounts(as: .user(owner)) }
        do {
            _ = try world.state.listAccounts(as: .user(owner))
        } catch {
            #expect(error.code == .permissionDenied && error.rule == .r1, "\(error)")
            #expect(error.message.contains("administrator"), "\(error)")
        }
    }

    @Test func aTokenListAccountsDidNotGiveIsInvalidArgument() throws {
        let (world, _) = try world(accounts: 2)
        for token in [
            "nonsense", "00", "6163636f756e74732e7631006e6f745f616e5f6964", String(repeating: "ab", count: 200),
        ] {
            do {
                _ = try world.state.listAccounts(pageToken: token, as: .administrator)
                Issue.record("token \(token) was accepted")
            } catch {
                #expect(error.code == .invalidArgument, "\(error)")
                #expect(error.message.contains("start again without a page token"), "\(error)")
            }
        }
        #expect(throws: AccessError.self) { try world.state.listAccounts(pageSize: -1, as: .administrator) }
    }
}
