import AccessWire
import ArgumentParser

struct Products: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Containers and gateways (R15).", subcommands: [Create.self, Get.self, List.self, Rename.self, Delete.self])

    static func show(product: Accessd_V1_Product) -> String {
        block([
            ("id", product.id), ("account", product.accountID), ("kind", product.kind.name), ("name", product.name),
            ("created by", product.createdBy), ("created", time(product.createdAtMs)),
        ])
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a container or gateway (MANAGE_PRODUCTS).")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @Option(help: "The account id.") var account: String
        @Option(help: "The kind of product (default: CONTAINER).") var kind: Accessd_V1_ProductKind?
        @Option(help: "The product's name.") var name: String

        func run() async throws {
            var request = Accessd_V1_CreateProductRequest()
            request.accountID = account
            request.kind = kind ?? .container
            request.name = name
            try await options.run(
                Methods.createProduct, request, write: write
            ) {
                Products.show(product: $0.product)
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a product.")
        @OptionGroup var options: ConnectionOptions
        @Argument(help: "The product id.") var product: String

        func run() async throws {
            var request = Accessd_V1_GetProductRequest()
            request.productID = product
            try await options.run(Methods.getProduct, request) {
                Products.show(product: $0)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the products the actor reaches.")
        @OptionGroup var options: ConnectionOptions
        @Option(help: "The account id.") var account: String

        func run() async throws {
            var request = Accessd_V1_ListProductsRequest()
            request.accountID = account
            try await options.run(Methods.listProducts, request) {
                table(["ID", "KIND", "NAME", "CREATED BY"], $0.products.map { [$0.id, $0.kind.name, $0.name, $0.createdBy] })
            }
        }
    }

    struct Rename: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rename a product.")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @Argument(help: "The product id.") var product: String
        @Option(help: "The new name.") var name: String

        func run() async throws {
            var request = Accessd_V1_RenameProductRequest()
            request.productID = product
            request.name = name
            try await options.run(
                Methods.renameProduct, request, write: write
            ) {
                Products.show(product: $0.product)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a product (also from the shares listing it).")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @Argument(help: "The product id.") var product: String

        func run() async throws {
            var request = Accessd_V1_DeleteProductRequest()
            request.productID = product
            try await options.run(
                Methods.deleteProduct, request, write: write
            ) {
                render(events: $0.events)
            }
        }
    }
}
