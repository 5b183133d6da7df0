import AccessWire
import ArgumentParser

struct Offices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Offices of an account (R13).", subcommands: [Create.self, Get.self, List.self, Rename.self, Delete.self])

    static func show(office: Accessd_V1_Office) -> String {
        block([("id", office.id), ("account", office.accountID), ("name", office.name)])
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an office.")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @Option(help: "The account id.") var account: String
        @Option(help: "The office's name.") var name: String

        func run() async throws {
            var request = Accessd_V1_CreateOfficeRequest()
            request.accountID = account
            request.name = name
            try await options.run(
                Methods.createOffice, request, write: write
            ) {
                Offices.show(office: $0.office)
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an office.")
        @OptionGroup var options: ConnectionOptions
        @Argument(help: "The office id.") var office: String

        func run() async throws {
            var request = Accessd_V1_GetOfficeRequest()
            request.officeID = office
            try await options.run(Methods.getOffice, request) {
                Offices.show(office: $0)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an account's offices.")
        @OptionGroup var options: ConnectionOptions
        @Option(help: "The account id.") var account: String

        func run() async throws {
            var request = Accessd_V1_ListOfficesRequest()
            request.accountID = account
            try await options.run(Methods.listOffices, request) {
                table(["ID", "NAME"], $0.offices.map { [$0.id, $0.name] })
            }
        }
    }

    struct Rename: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rename an office.")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @Argument(help: "The office id.") var office: String
        @Option(help: "The new name.") var name: String

        func run() async throws {
            var request = Accessd_V1_RenameOfficeRequest()
            request.officeID = office
            request.name = name
            try await options.run(
                Methods.renameOffice, request, write: write
            ) {
                Offices.show(office: $0.office)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an office (also from every user and project).")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @Argument(help: "The office id.") var office: String

        func run() async throws {
            var request = Accessd_V1_DeleteOfficeRequest()
            request.officeID = office
            try await options.run(
                Methods.deleteOffice, request, write: write
            ) {
                render(events: $0.events)
            }
        }
    }
}
