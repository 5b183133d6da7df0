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
        .library(name: "AccessWire", targets: ["AccessWire"]),
        .library(name: "AccessServer", targets: ["AccessServer"]),
        .library(name: "AccessClient", targets: ["AccessClient"]),
        .executable(name: "accessd", targets: ["accessd"]),
        .executable(name: "accessctl", targets: ["accessctl"]),
        .executable(name: "accessd-bench", targets: ["AccessBench"]),
        .executable(name: "accessd-core-bench", targets: ["AccessCoreBench"]),
        .executable(name: "accessd-durability-bench", targets: ["AccessDurabilityBench"]),
        .executable(name: "accessd-fuzz", targets: ["AccessFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        // The daemon's lifecycle: a Service run by a ServiceGroup (graceful shutdown on SIGTERM/SIGINT), SIGHUP as an
        // async sequence; the GoAway drain through NIOExtras' ServerQuiescingHelper.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.0"),
        // The shared log of several hosts (issue 15): a table in PostgreSQL.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
    ],
    targets: [
        // gRPC's status codes, the one numbering of every reply: imported by the core,
        // the daemon, the client and the CLI alike. No dependencies.
        .target(name: "AccessStatus", swiftSettings: strictSwift),
        // The domain core: every rule of docs/domain.md as a pure state machine.
        // No I/O, no clock, no randomness of its own.
        .target(
            name: "AccessCore",
            dependencies: [
                "AccessStatus",
                .product(name: "HashTreeCollections", package: "swift-collections"),
            ],
            swiftSettings: strictSwift
        ),
        // The wire: the code generated from proto/ (scripts/generate-protos.sh) and the frame codec.
        .target(
            name: "AccessWire",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strictSwift
        ),
        // Between the wire and the domain: the protos' messages to the core's values and back,
        // used by the RPC layer and by the store alike.
        .target(
            name: "AccessMapping",
            dependencies: [
                "AccessCore",
                "AccessStatus",
                "AccessWire",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strictSwift
        ),
        // The RPC layer: the method table and its handlers (decode, decide or read, encode).
        .target(
            name: "AccessServer",
            dependencies: [
                "AccessCore",
                "AccessMapping",
                "AccessStatus",
                "AccessWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strictSwift
        ),
        // Where things are: socket and state paths, the config file (shared by accessd and accessctl).
        .target(name: "AccessPaths", swiftSettings: strictSwift),
        // The state on disk: the journal, snapshot files, the state directory and its lock,
        // idempotent replies, the event log, recovery, backups and restore, inspection.
        .target(
            name: "AccessStore",
            dependencies: [
                "AccessCore",
                "AccessStatus",
                "AccessWire",
                "AccessMapping",
                .product(name: "HashTreeCollections", package: "swift-collections"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSwift
        ),
        // The log several hosts share, in PostgreSQL: an `EventLog` beside the local journal
        // (which it keeps as its cache), its schema, and the maintenance commands.
        .target(
            name: "AccessPostgresLog",
            dependencies: [
                "AccessStore",
                "AccessPaths",
                "AccessCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        // The running daemon: the actor that owns the state, the Unix socket listener, connections.
        .target(
            name: "AccessDaemon",
            dependencies: [
                "AccessStore",
                "AccessPostgresLog",
                "AccessMapping",
                "AccessStatus",
                "AccessPaths",
                "AccessCore",
                "AccessWire",
                "AccessServer",
                .product(name: "HashTreeCollections", package: "swift-collections"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                // Metrics: swift-metrics for the daemon's cold paths, rendered by swift-prometheus.
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
            ],
            swiftSettings: strictSwift
        ),
        // The async Swift client: one connection, many calls in flight, streams as AsyncSequence.
        .target(
            name: "AccessClient",
            dependencies: [
                "AccessStatus",
                "AccessPaths",
                "AccessWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strictSwift
        ),
        // The C library calls Swift's Glibc module leaves out (mallopt).
        .target(name: "CAccessdSystem"),
        // The daemon executable: flags and configuration, logging bootstrap, the ServiceGroup that runs the daemon.
        .executableTarget(
            name: "accessd",
            dependencies: [
                "AccessStore",
                "CAccessdSystem",
                "AccessDaemon",
                "AccessPaths",
                "AccessPostgresLog",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),
        // The bundled thin client: a command tree over every method, tables or JSON.
        .executableTarget(
            name: "accessctl",
            dependencies: [
                "AccessStore",
                "AccessStatus",
                "AccessClient",
                "AccessPaths",
                "AccessWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strictSwift
        ),
        // The lean load generator (scripts/bench.sh): raw NIO channels with D calls in flight each,
        // replies read only as far as their id and code, latencies in an HdrHistogram.
        .executableTarget(
            name: "AccessBench",
            dependencies: [
                "AccessClient",
                "AccessWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: strictSwift
        ),
        // Release-mode micro-benchmark of the core (scripts/bench-core.sh).
        .executableTarget(
            name: "AccessCoreBench",
            dependencies: ["AccessCore", "AccessBenchSupport"],
            swiftSettings: strictSwift
        ),
        // What the benchmarks share: a deterministic population built through the core.
        .target(name: "AccessBenchSupport", dependencies: ["AccessCore"], swiftSettings: strictSwift),
        // Durability figures (scripts/bench-durability.sh): snapshot and recovery at scale,
        // the longest wait during a snapshot, durable writes beside the raw fdatasync rate.
        .executableTarget(
            name: "AccessDurabilityBench",
            dependencies: [
                "AccessStore",
                "AccessMapping",
                "AccessBenchSupport",
                "AccessCore",
                "AccessDaemon",
                "AccessServer",
                "AccessClient",
                "AccessWire",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        // The fuzz targets (scripts/fuzz.sh): one entry point per target, taking arbitrary bytes,
        // and the seed corpus they start from; ordinary code, so AccessFuzzTests replays the corpus.
        .target(
            name: "AccessFuzzTargets",
            dependencies: [
                "AccessStore",
                "AccessMapping",
                "AccessCore",
                "AccessWire",
                "AccessServer",
                "AccessDaemon",
                "AccessPaths",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        // `accessd-fuzz`: built with `--sanitize=fuzzer` it is a libFuzzer binary for the target
        // `$ACCESSD_FUZZ_TARGET` names; built normally it replays files and writes the seed corpus.
        .executableTarget(name: "AccessFuzz", dependencies: ["AccessFuzzTargets"], swiftSettings: strictSwift),
        .testTarget(
            name: "AccessCoreTests",
            dependencies: ["AccessCore", "AccessStatus"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "AccessWireTests",
            dependencies: [
                "AccessWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "AccessClientTests",
            dependencies: [
                "AccessStatus",
                "AccessClient",
                "AccessWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSwift
        ),
        // The method tour shared by the in-process table tests and the tests against the real binary.
        .target(
            name: "AccessTestSupport",
            dependencies: [
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                "AccessCore",
                "AccessStore",
                "AccessWire",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Tests/AccessTestSupport",
            swiftSettings: strictSwift
        ),
        .testTarget(
            // The shared log against a real PostgreSQL (started by the tests from
            // scripts/lib/postgres.sh): the EventLog contract, the schema's guards.
            name: "AccessPostgresLogTests",
            dependencies: [
                "AccessPostgresLog",
                "AccessStore",
                "AccessTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            // Unit tests of the daemon's parts in this process: the connection's
            // state machine and handler, the owner, the journal on a simulated disk,
            // recovery, an in-process daemon on a temporary socket.
            name: "AccessDaemonTests",
            dependencies: [
                "AccessCore",
                "AccessDaemon",
                "AccessPaths",
                "AccessStatus",
                "AccessStore",
                "AccessTestSupport",
                "AccessWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            // Integration tests: the real executables (accessd, accessctl, the
            // benchmarks) started on temporary sockets and state directories, the C
            // client and the Python peer against them, systemd's tools.
            name: "AccessIntegrationTests",
            dependencies: [
                "AccessClient",
                "AccessCore",
                "AccessDaemon",
                "AccessMapping",
                "AccessPaths",
                "AccessServer",
                "AccessStatus",
                "AccessStore",
                "AccessTestSupport",
                "AccessWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "AccessctlTests",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                "AccessWire",
                // Parsing-only behaviour through parseAsRoot (`@testable import accessctl`).
                "accessctl",
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "AccessFuzzTests",
            dependencies: [
                "AccessStore",
                "AccessFuzzTargets", "AccessDaemon", "AccessWire",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "AccessServerTests",
            dependencies: [
                "AccessMapping","AccessServer", "AccessCore", "AccessWire", "AccessTestSupport"],
            swiftSettings: strictSwift
        ),
    ]
)
