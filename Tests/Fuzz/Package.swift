// swift-tools-version:6.0
import PackageDescription

/// libFuzzer targets for the parsers of untrusted input, built only by scripts/fuzz.sh (with
/// `-sanitize=fuzzer,address` and `-enable-testing`), never by `make test`.
let package = Package(
    name: "TwoTowerFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "TwoTower", path: "../..")],
    targets: [
        .executableTarget(name: "twotower-fuzz", dependencies: [.product(name: "TwoTowerParsers", package: "TwoTower")]),
    ]
)
