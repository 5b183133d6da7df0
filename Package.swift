// swift-tools-version: 6.1
import PackageDescription

let strictSwift: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "accessd",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "AccessCore", targets: ["AccessCore"]),
        .executable(name: "accessd-core-bench", targets: ["AccessCoreBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
    ],
    targets: [
        // The domain core: every rule of spec/domain.md as a pure state machine.
        // No I/O, no clock, no randomness of its own.
        .target(
            name: "AccessCore",
            dependencies: [
                .product(name: "HashTreeCollections", package: "swift-collections")
            ],
            swiftSettings: strictSwift
        ),
        // Release-mode micro-benchmark of the core (scripts/bench-core.sh).
        .executableTarget(
            name: "AccessCoreBench",
            dependencies: ["AccessCore"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "AccessCoreTests",
            dependencies: [
                "AccessCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strictSwift
        ),
    ]
)
