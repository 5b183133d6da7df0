import Testing

@testable import AccessCore

/// Names and emails (domain.md, "Things"): names trimmed, non-empty, at most
/// 200 characters, no control characters; emails trimmed and compared
/// case-insensitively, one user per email per region.
@Suite struct ValidationTests {
    @discardableResult
    private func expectInvalid(
        sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> String
    ) -> AccessError? {
        do {
            let value = try body()
            Issue.record("expected INVALID_ARGUMENT, got \(value)", sourceLocation: sourceLocation)
            return nil
        } catch let error as AccessError {
            #expect(error.code == .invalidArgument, "\(error)", sourceLocation: sourceLocation)
            #expect(error.rule == nil, "input checks name no rule: \(error)", sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("expected an AccessError, got \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    // MARK: - Names

    @Test func namesAreTrimmed() throws {
        #expect(try Validation.name("  Berlin \n\t", field: "office name") == "Berlin")
        #expect(try Validation.name("\u{00A0}Zoë 東京\u{2003}", field: "name") == "Zoë 東京", "Unicode spaces too")
        #expect(try Validation.name("New  York", field: "name") == "New  York", "inner spaces stay")
    }

    @Test(arguments: ["", " ", "\n\t ", "\u{00A0}"])
    func emptyNamesAreRefused(name: String) {
        let error = expectInvalid { try Validation.name(name, field: "office name") }
        #expect(error?.message.contains("office name") == true, "the message names the field")
    }

    @Test func namesMayHave200CharactersButNot201() throws {
        let longest = String(repeating: "x", count: 200)
        #expect(try Validation.name(longest, field: "name") == longest)
        #expect(try Validation.name("  " + longest + "  ", field: "name") == longest, "counted after trimming")
        let composed = String(repeating: "é", count: 200)
        #expect(try Validation.name(composed, field: "name") == composed, "characters, not bytes")
        let error = expectInvalid { try Validation.name(String(repeating: "x", count: 201), field: "name") }
        #expect(error?.message.contains("200") == true)
    }

    @Test(arguments: ["Ber\u{0}lin", "Ber\u{7}lin", "Ber\nlin", "Ber\tlin", "Ber\u{1B}lin", "Ber\u{7F}lin", "Ber\u{85}lin"])
    func namesWithControlCharactersAreRefused(name: String) {
        expectInvalid { try Validation.name(name, field: "name") }
    }

    @Test func commandsApplyTheNameRules() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let office = try world.createOffice("  Berlin  ", in: acme, as: owner)
        #expect(world.state.offices[office]?.name == "Berlin")
        for bad in ["", "   ", String(repeating: "a", count: 201), "a\u{0}b"] {
            #expect(world.reject(.renameAccount(account: acme, name: bad), as: .user(owner), .invalidArgument)?.rule == nil)
            #expect(
                world.reject(.createRole(account: acme, name: bad, access: .full, permissions: []), as: .user(owner), .invalidArgument)?
                    .rule == nil)
            #expect(world.reject(.editUser(EditUser(user: owner, firstName: bad)), as: .user(owner), .invalidArgument)?.rule == nil)
            #expect(
                world.reject(
                    .createAccount(
                        CreateAccount(
                            name: bad, fullAccessLicenses: 1, ownerEmail: "x@example.com", ownerFirstName: "X",
                            ownerLastName: "Y")),
                    as: .administrator, .invalidArgument)?.rule == nil)
        }
        try world.run(.editUser(EditUser(user: owner, firstName: " Olga ", lastName: String(repeating: "L", count: 200))), as: .user(owner))
        #expect(world.state.users[owner]?.firstName == "Olga")
        #expect(world.state.users[owner]?.lastName.count == 200)
    }

    @Test func searchMatchesSubstringsOfCaseFoldedText() {
        #expect(Validation.contains("ada lovelace", "love"))
        #expect(Validation.contains("ada lovelace", "ada lovelace"))
        #expect(Validation.contains("ada lovelace", "lace"), "at the very end")
        #expect(Validation.contains("aaab", "aab"), "after a partial match")
        #expect(Validation.contains("ada", ""), "an empty needle matches everything")
        #expect(!Validation.contains("ada", "adam"), "a needle longer than the text")
        #expect(!Validation.contains("lovelace", "lovex"))
        #expect(!Validation.contains("", "a"))
        #expect(Validation.contains("zoë müller", Validation.foldCase("MÜL")))
        #expect(Validation.foldCase("ZOË") == "zoë")
    }

    // MARK: - Emails

    @Test func emailsAreTrimmedAndKeepTheirCase() throws {
        #expect(try Validation.email("  Ada.Lovelace@Example.COM \n") == "Ada.Lovelace@Example.COM")
        #expect(try Validation.email("a+tag@sub.example.co.uk") == "a+tag@sub.example.co.uk")
    }

    @Test(arguments: [
        "", "   ", "ada", "ada@", "@example.com", "ada@example", "ada@.example.com", "ada@example.com.",
        "ada@@example.com", "a@b@example.com", "ada lovelace@example.com", "ada@exa mple.com", "ada@example.com\u{0}",
        "ada\u{7}@example.com",
    ])
    func malformedEmailsAreRefused(email: String) {
        expectInvalid { try Validation.email(email) }
    }

    @Test func emailsHaveALengthLimit() throws {
        let local = String(repeating: "a", count: 64)
        let domain = String(repeating: "b", count: 254 - 64 - 1 - 4) + ".com"
        let longest = local + "@" + domain
        #expect(longest.utf8.count == 254)
        #expect(try Validation.email(longest) == longest)
        expectInvalid { try Validation.email("a" + longest) }
    }

    @Test func emailsCompareCaseInsensitivelyAfterTrimming() {
        #expect(EmailKey(region: .global, email: " Ada@Example.COM ") == EmailKey(region: .global, email: "ada@example.com"))
        #expect(EmailKey(region: .global, email: "ada@example.com") != EmailKey(region: .eu, email: "ada@example.com"))
    }

    @Test func anEmailNamesOneUserPerRegion() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(owner: "owner@acme.example.com")
        let ada = try world.addUser(to: acme, email: " Ada@Example.com ", as: owner)
        #expect(world.state.users[ada]?.email == "Ada@Example.com", "stored trimmed, as entered")
        world.reject(
            .addUser(AddUser(account: acme, email: "ADA@example.COM", firstName: "A", lastName: "B", role: world.role(.viewer, of: acme))),
            as: .user(owner), .alreadyExists, rule: .r8)
        // In another account of the same region too.
        let (beta, betaOwner) = try world.createAccount("Beta")
        world.reject(
            .addUser(AddUser(account: beta, email: "ada@example.com", firstName: "A", lastName: "B", role: world.role(.viewer, of: beta))),
            as: .user(betaOwner), .alreadyExists, rule: .r8)
        world.reject(
            .createAccount(
                CreateAccount(name: "Gamma", fullAccessLicenses: 1, ownerEmail: "ada@EXAMPLE.com", ownerFirstName: "A", ownerLastName: "B")),
            as: .administrator, .alreadyExists, rule: .r8)
        world.reject(.editUser(EditUser(user: owner, email: "ada@example.com")), as: .user(owner), .alreadyExists, rule: .r8)
        // Another region may have its own ada@example.com.
        let (_, euOwner) = try world.createAccount("Euro", region: .eu, owner: "ada@example.com")
        #expect(world.state.users[euOwner]?.email == "ada@example.com")
        // A user may change the case of their own email.
        try world.run(.editUser(EditUser(user: ada, email: "ada@example.com")), as: .user(owner))
        #expect(world.state.users[ada]?.email == "ada@example.com")
        #expect(world.state.indexesAreConsistent)
    }

    @Test func commandsRefuseMalformedEmails() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let viewer = world.role(.viewer, of: acme)
        for bad in ["", "not-an-email", "a@b", "a b@example.com"] {
            #expect(
                world.reject(
                    .addUser(AddUser(account: acme, email: bad, firstName: "A", lastName: "B", role: viewer)), as: .user(owner),
                    .invalidArgument)?.rule == nil)
            #expect(world.reject(.editUser(EditUser(user: owner, email: bad)), as: .user(owner), .invalidArgument)?.rule == nil)
        }
        #expect(
            world.reject(
                .updateBilling(account: acme, billing: Billing(billingEmail: "billing@")), as: .user(owner), .invalidArgument)?
                .rule == nil)
        // An empty billing email means none.
        try world.run(.updateBilling(account: acme, billing: Billing(billingEmail: "  ", companyName: " Acme ")), as: .user(owner))
        #expect(world.state.accounts[acme]?.billing == Billing(billingEmail: nil, companyName: "Acme", address: nil))
    }
}
