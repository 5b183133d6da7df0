import AccessMapping
import AccessCore
import AccessWire

extension MethodTable {
    /// ClientService (R18): agencies and partners, their clients and access requests.
    static var clientService: [(String, MethodHandler)] {
        [
            ("AddClient", linkWrite { .addClient(agency: $0, client: $1) }),
            ("RequestAccess", linkWrite { .requestClientAccess(agency: $0, client: $1) }),
            (
                "ApproveAccess",
                Handlers.write(
                    Accessd_V1_ApproveAccessRequest.self,
                    command: { request, state throws(AccessError) in
                        let agency: AccountID = try WireInput.id(request.agencyAccountID, field: "agency_account_id")
                        let client: AccountID = try WireInput.id(request.clientAccountID, field: "client_account_id")
                        let role: RoleID? =
                            WireInput.trimmed(request.role).isEmpty
                            ? nil : try WireInput.role(request.role, field: "role", in: client, state: state)
                        return .approveClientAccess(client: client, agency: agency, role: role)
                    },
                    reply: linkReply)
            ),
            ("DenyAccess", linkWrite { .denyClientAccess(client: $1, agency: $0) }),
            ("RevokeAccess", linkWrite { .revokeClientAccess(client: $1, agency: $0) }),
            (
                "RemoveClient",
                Handlers.write(Accessd_V1_ClientLinkRequest.self) { request, _ throws(AccessError) in
                    let (agency, client) = try linkAccounts(request)
                    return .removeClient(agency: agency, client: client)
                }
            ),
            (
                "ListClients",
                Handlers.read(Accessd_V1_ListClientsRequest.self) { request, context throws(AccessError) in
                    let agency: AccountID = try WireInput.id(request.agencyAccountID, field: "agency_account_id")
                    var response = Accessd_V1_ListClientLinksResponse()
                    response.links = try context.state.listClients(agency, as: context.principal).map(Accessd_V1_ClientLink.init)
                    return response
                }
            ),
            (
                "ListAgencies",
                Handlers.read(Accessd_V1_ListAgenciesRequest.self) { request, context throws(AccessError) in
                    let client: AccountID = try WireInput.id(request.clientAccountID, field: "client_account_id")
                    var response = Accessd_V1_ListClientLinksResponse()
                    response.links = try context.state.listAgencies(client, as: context.principal).map(Accessd_V1_ClientLink.init)
                    return response
                }
            ),
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
        _ make: @escaping @Sendable (_ agency: AccountID, _ client: AccountID) -> Command
    ) -> MethodHandler {
        Handlers.write(
            Accessd_V1_ClientLinkRequest.self,
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
