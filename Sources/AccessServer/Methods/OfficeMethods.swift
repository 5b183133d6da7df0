import AccessMapping
import AccessCore
import AccessWire

extension MethodTable {
    /// OfficeService (R13).
    static var officeService: [(String, MethodHandler)] {
        [
            (
                "CreateOffice",
                Handlers.write(
                    Accessd_V1_CreateOfficeRequest.self,
                    command: { request, _ throws(AccessError) in
                        .createOffice(account: try WireInput.id(request.accountID, field: "account_id"), name: request.name)
                    },
                    reply: officeReply)
            ),
            (
                "GetOffice",
                Handlers.read(Accessd_V1_GetOfficeRequest.self) { request, context throws(AccessError) in
                    let id: OfficeID = try WireInput.id(request.officeID, field: "office_id")
                    return Accessd_V1_Office(try context.state.getOffice(id, as: context.principal))
                }
            ),
            (
                "ListOffices",
                Handlers.read(Accessd_V1_ListOfficesRequest.self) { request, context throws(AccessError) in
                    let account: AccountID = try WireInput.id(request.accountID, field: "account_id")
                    var response = Accessd_V1_ListOfficesResponse()
                    response.offices = try context.state.listOffices(account, as: context.principal).map(Accessd_V1_Office.init)
                    return response
                }
            ),
            (
                "RenameOffice",
                Handlers.write(
                    Accessd_V1_RenameOfficeRequest.self,
                    command: { request, _ throws(AccessError) in
                        .renameOffice(try WireInput.id(request.officeID, field: "office_id"), name: request.name)
                    },
                    reply: officeReply)
            ),
            (
                "DeleteOffice",
                Handlers.write(Accessd_V1_DeleteOfficeRequest.self) { request, _ throws(AccessError) in
                    .deleteOffice(try WireInput.id(request.officeID, field: "office_id"))
                }
            ),
        ]
    }

    @Sendable private static func officeReply(_ events: [Event], _ state: AccessState) -> Accessd_V1_OfficeResponse {
        var response = Accessd_V1_OfficeResponse()
        if let office = events.changedOffice() { response.office = Accessd_V1_Office(office) }
        response.events = Handlers.wire(events)
        return response
    }
}
