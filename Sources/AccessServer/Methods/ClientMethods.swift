import AccessMapping
import AccessCore
import AccessWire

extension MethodTable {
    /// ClientService (R18): agencies and partners, their clients and access requests.
    static var clientService: [Entry] {
        [
            linkWrite(Methods.addClient) { .addClient(agency: $0, client: $1) },
            linkWrite(Methods.requestAccess) { .requestClientAccess(agency: $0, client: $1) },
            Handlers.write(
                Methods.approveAccess,
                command: { request, state throws(AccessError) in
                    let agency: AccountID = try WireInput.id(request.agencyAccountID, field: "agency_account_id")
                    let client: AccountID = try WireInput.id(request.clientAccountID, field: "client_account_id")
                    let role: RoleID? =
                        WireInput.trimmed(request.role).isEmpty
                        ? nil : try WireInput.role(request.role, field: "role", in: client, state: state)
                    return .approveClientAccess(client: client, agency: agency, role: role)
                },
                reply: linkReply),
            linkWrite(Methods.denyAccess) { .denyClientAccess(client: $1, agency: $0) },
            linkWrite(Methods.revokeAccess) { .revokeClientAccess(client: $1, agency: $0) },
            Handlers.write(Methods.removeClient) { request, _ throws(AccessError) in
                let (agency, client) = try linkAccounts(request)
                return .removeClient(agency: agency, client: client)
            },
            Handlers.read(Methods.listClients) { request, context throws(AccessError) in
                let agency: AccountID = try WireInput.id(request.agencyAccountID, field: "agency_account_id")
                var response = Accessd_V1_ListClientLinksResponse()
                response.links = try context.state.listClients(agency, as: context.principal).map(Accessd_V1_ClientLink.init)
                return response
            },
            Handlers.read(Methods.listAgencies) { request, context throws(AccessError) in
                let client: AccountID = try WireInput.id(request.clientAccountID, field: "client_account_id")
                var response = Accessd_V1_ListClientLinksResponse()
                response.links = try context.state.listAgencies(client, as: context.principal).map(Accessd_V1_ClientLink.init)
                return response
            },
        ]
    }

    private static func linkAccounts(_ request: Accessd_V1_ClientLinkRequest) throws(AccessError) -> (AccountID, AccountID) {
        (
            try WireInput.id(request.agencyAccountID, field: "agency_account_id"),
            try WireInput.id(request.clientAccountID, field: "client_account_id")
        )
    }

    /// A ClientLinkRequest write answered with the link after it.
    private static func linkWrite(
        _ method: Method<Accessd_V1_ClientLinkRequest, Accessd_V1_ClientLinkResponse>,
        _ make: @escaping @Sendable (_ agency: AccountID, _ client: AccountID) -> Command
    ) -> Entry {
        Handlers.write(
            method,
            command: { request, _ throws(AccessError) in
                let (agency, client) = try linkAccounts(request)
                return make(agency, client)
            },
            reply: linkReply)
    }

    @Sendable private static func linkReply(_ events: [Event], _ state: AccessState) -> Accessd_V1_ClientLinkResponse {
        var response = Accessd_V1_ClientLinkResponse()
        if let link = events.changedClientLink() { response.link = Accessd_V1_ClientLink(link) }
        response.events = Handlers.wire(events)
        return response
    }
}
