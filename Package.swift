// swift-tools-version: 6.1
import PackageDescription


let package = Package(
    name: "Riverbank",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "riverbank", targets: ["riverbank"]),
        .library(name: "KafkaProtocol", targets: ["KafkaProtocol"]),
        .library(name: "LogStore", targets: ["LogStore"]),
        .library(name: "Broker", targets: ["Broker"]),
        .library(name: "Definitions", targets: ["Definitions"]),
        .library(name: "KafkaClient", targets: ["KafkaClient"]),
        .library(name: "Streams", targets: ["Streams"]),
        .library(name: "Jobs", targets: ["Jobs"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
    ],
    targets: [
        // C shims and Debian's compression libraries.
        .target(name: "CRC32C", cSettings: [.unsafeFlags(["-O3"])]),
        // System calls Swift's Glibc module does not expose.
        .target(name: "CSysShims"),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CSnappy", providers: [.apt(["libsnappy-dev"])]),

        .target(
            name: "KafkaProtocol",
            dependencies: [
                "CRC32C", "CZlib", "CLZ4", "CZstd", "CSnappy",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "LogStore",
            dependencies: [
                "CRC32C", "CSysShims", "KafkaProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // Topic (and next, job) definition files: parsing and validation, no broker, no NIO.
        .target(
            name: "Definitions",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "Broker",
            dependencies: [
                "KafkaProtocol", "LogStore", "Definitions",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "KafkaClient",
            dependencies: [
                "KafkaProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // The producer's and consumer's hot paths; exclusivity is checked in debug builds.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        // The stream engine: a Kafka client (never the broker), so jobs run against any cluster.
        .target(
            name: "Streams",
            dependencies: [
                "KafkaClient", "KafkaProtocol", "CRC32C",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            // Jobs instantiate the operators with their own record types: full cross-module
            // optimisation lets the caller specialise them (unspecialised generics cost 3–5×).
            // Exclusivity is checked in debug builds (and tests); release drops the per-access checks.
            swiftSettings: [.unsafeFlags(["-cross-module-optimization", "-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        // Job files: the expression language (lexer, parser, type checker, compiler to closures)
        // over dynamic rows, the definitions and the planner that turns them into Streams jobs.
        .target(
            name: "Jobs",
            dependencies: [
                "Streams", "KafkaClient",
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // Compiled expressions are closures over rows; exclusivity is checked in debug builds.
            swiftSettings: [.unsafeFlags(["-cross-module-optimization", "-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        // Fraud: what job files cannot say generically — the transaction generator with labelled
        // fraud patterns, the precision/recall evaluator, the live alert view.
        .target(
            name: "Fraud",
            dependencies: [
                "KafkaClient", "Streams", "Jobs",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        // Measures compiled expressions against hand-written closures (release builds only matter).
        .executableTarget(
            name: "jobs-expr-bench",
            dependencies: ["Jobs"],
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        .executableTarget(
            name: "riverbank",
            dependencies: [
                "Broker", "Definitions", "KafkaProtocol", "KafkaClient", "Streams", "Jobs", "Fraud",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            // Jobs defined here (the benchmark jobs) specialise the engine's operators in this module.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        .testTarget(name: "KafkaProtocolTests", dependencies: ["KafkaProtocol", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "LogStoreTests", dependencies: ["LogStore", "KafkaProtocol", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "DefinitionsTests", dependencies: ["Definitions"]),
        .testTarget(name: "StreamsTests", dependencies: [
            "Streams", "KafkaClient", "Broker",
            .product(name: "MetricsTestKit", package: "swift-metrics"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "FraudTests", dependencies: ["Fraud", "Jobs", "Streams", "KafkaClient", .product(name: "NIOCore", package: "swift-nio"),
                                                    .product(name: "HeapModule", package: "swift-collections")]),
        .testTarget(name: "JobsTests", dependencies: ["Jobs", "Streams", "KafkaClient", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "KafkaClientTests", dependencies: [
            "KafkaClient", "KafkaProtocol",
            .product(name: "MetricsTestKit", package: "swift-metrics"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "BrokerTests", dependencies: [
            "Broker", "KafkaProtocol", "KafkaClient", "LogStore",
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOTestUtils", package: "swift-nio"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
