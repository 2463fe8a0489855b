// swift-tools-version:6.0
import PackageDescription

/// TwoTower: train, index, serve and evaluate two-tower retrieval models in one Swift tool.
///
/// Dependency direction (no cycles, storage never depends on the model):
///   C modules (CLMDB, CSQLite, CBLAS: BLIS)
///     → safe wrappers (LMDB, SQLite, LinearAlgebra)
///     → domain (Store, Ingestion, Synthetic, Randomness)
///     → model, index, evaluation
///     → Settings (the configuration files, decoded into the domain's own types)
///     → ModelStore, Serving
///     → Pipeline (the application layer: the jobs the commands run)
///     → the `twotower` executable, which only parses arguments, calls Pipeline and prints.
let package = Package(
    name: "TwoTower",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "twotower", targets: ["twotower"]),
        // The libraries the fuzzing harness in Tests/Fuzz (its own package, built by scripts/fuzz.sh) drives.
        .library(name: "TwoTowerParsers", targets: ["Ingestion", "Store", "VectorIndex", "Model", "Serving"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
    ],
    targets: [
        // C libraries, each touched by exactly one Swift wrapper target.
        .systemLibrary(name: "CLMDB", path: "Sources/CLMDB", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", providers: [.apt(["libblis-pthread-dev"])]),

        // Safe wrappers.
        .target(name: "LMDB", dependencies: ["CLMDB"]),
        .target(name: "SQLite", dependencies: ["CSQLite"]),
        .target(name: "LinearAlgebra", dependencies: ["CBLAS"]),

        // Hot scan kernels (AVX2+FMA chosen at run time), always optimised.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),

        // Domain.
        .target(name: "Randomness"),
        .target(name: "Store", dependencies: ["SQLite", "Randomness"]),
        .target(name: "Ingestion", dependencies: ["Store"]),
        .target(name: "Synthetic", dependencies: ["Randomness"]),
        .target(name: "Evaluation", dependencies: ["LinearAlgebra", "Store"]),
        // Training loops are the hot path: optimised even in debug builds, like the C kernels.
        .target(name: "Model", dependencies: ["LinearAlgebra", "Randomness", "CKernels"], swiftSettings: [.unsafeFlags(["-O"])]),
        .target(name: "VectorIndex", dependencies: ["LMDB", "LinearAlgebra", "Randomness", "CKernels"]),

        // Self-contained HTML reports with inline SVG charts.
        .target(name: "Report"),

        // The configuration files (`Config/*.json`), decoded into the domain's own types.
        .target(name: "Settings", dependencies: ["Model", "VectorIndex", "Ingestion", "Store", "Synthetic"]),

        // The bridge between the store and the model: architectures and inputs read from a store.
        .target(name: "ModelStore", dependencies: ["Model", "Store", "Settings", "LinearAlgebra"]),

        // The query daemon: HTTP routes over a model snapshot and the index, hot reload, metrics.
        .target(name: "Serving", dependencies: [
            "Model", "ModelStore", "VectorIndex", "Store", "LinearAlgebra", "Settings",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),

        // The application layer: each job a command runs (training with its refit, the demo, index
        // builds, evaluations, reports), so the command line only parses, calls and prints.
        .target(name: "Pipeline", dependencies: [
            "Settings", "Store", "Ingestion", "Synthetic", "VectorIndex", "LinearAlgebra", "Evaluation", "Model", "ModelStore",
            "Serving", "Report", "Randomness",
        ]),

        // The command-line tool: argument parsing and printing.
        .executableTarget(
            name: "twotower",
            dependencies: [
                "Pipeline", "Settings", "Store", "Ingestion", "Synthetic", "VectorIndex", "Evaluation", "Model", "Serving", "LinearAlgebra",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Scratch directories shared by the test targets (not part of the product).
        .target(name: "TestScratch", path: "Tests/TestScratch"),
        .testTarget(name: "LMDBTests", dependencies: ["LMDB"]),
        .testTarget(name: "SQLiteTests", dependencies: ["SQLite", "TestScratch"]),
        .testTarget(name: "LinearAlgebraTests", dependencies: ["LinearAlgebra", "Randomness"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "SQLite", "TestScratch"]),
        .testTarget(name: "IngestionTests", dependencies: ["Ingestion", "Store", "SQLite", "LinearAlgebra"]),
        .testTarget(name: "SyntheticTests", dependencies: ["Synthetic", "Ingestion", "Store", "Settings"]),
        .testTarget(name: "SettingsTests", dependencies: ["Settings", "Model", "VectorIndex", "Ingestion", "Store"]),
        .testTarget(name: "ModelTests", dependencies: ["Model", "LinearAlgebra", "Randomness", "Evaluation", "CKernels"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "LinearAlgebra", "Store"]),
        .testTarget(name: "VectorIndexTests", dependencies: ["VectorIndex", "LinearAlgebra", "Randomness", "LMDB", "CKernels"]),
        .testTarget(name: "ServingTests", dependencies: [
            "Serving", "Model", "ModelStore", "Pipeline", "Settings", "VectorIndex", "Store", "SQLite", "LinearAlgebra", "Randomness", "TestScratch",
            // A plain HTTP/1.1 client over NIO (Tests/ServingTests/LiveServer.swift) instead of
            // HummingbirdTesting, whose AsyncHTTPClient brings a TLS stack into the test build.
            .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "ReportTests", dependencies: ["Report"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Settings", "Store", "Model", "ModelStore", "VectorIndex", "Evaluation",
                                                          "LinearAlgebra", "TestScratch"]),
        .testTarget(name: "CLITests", dependencies: ["twotower", "ModelStore", "Store", "VectorIndex", "LinearAlgebra"]),
    ]
)
