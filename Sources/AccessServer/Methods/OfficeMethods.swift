import AccessMapping
import AccessCore
import AccessWire

extension MethodTable {
    /// OfficeService (R13).
    static var officeService: [Entry] {
        [
            Handlers.write(
                Methods.createOffice,
                command: { request, _ throws(AccessError) in
                    .createOffice(account: try WireInput.id(request.accountID, field: "account_id"), name: request.name)
                },
                reply: officeReply),
            Handlers.read(Methods.getOffice) { request, context throws(AccessError) in
                let id: OfficeID = try WireInput.id(request.officeID, field: "office_id")
                return Accessd_V1_Office(try context.state.getOffice(id, as: context.principal))
            },
            Handlers.read(Methods.listOffices) { request, context throws(AccessError) in
                let account: AccountID = try WireInput.id(request.accountID, field: "account_id")
                var response = Accessd_V1_ListOfficesResponse()
                response.offices = try context.state.listOffices(account, as: context.principal).map(Accessd_V1_Office.init)
                return response
            },
            Handlers.write(
                Methods.renameOffice,
                command: { request, _ throws(AccessError) in
                    .renameOffice(try WireInput.id(request.officeID, field: "office_id"), name: request.name)
                },
                reply: officeReply),
            Handlers.write(Methods.deleteOffice) { request, _ throws(AccessError) in
                .deleteOffice(try WireInput.id(request.officeID, field: "office_id"))
            },
        ]
    }

    @Sendable private static func officeReply(_ events: [Event], _ state: AccessState) -> Accessd_V1_OfficeResponse {
        var response = Accessd_V1_OfficeResponse()
        if let office = events.changedOffice() { response.office = Accessd_V1_Office(office) }
        response.events = Handlers.wire(events)
        return response
    }
}
