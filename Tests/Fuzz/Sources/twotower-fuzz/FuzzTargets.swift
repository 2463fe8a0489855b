import Foundation
@testable import Ingestion
@testable import Model
import Serving
import Store
@testable import VectorIndex

/// One libFuzzer entry point for every target; `FUZZ_TARGET` picks which parser the input goes to:
///   csv, lightgcn, movielens  — an input file ingested through the format into an in-memory store
///   npy                       — a `.npy` file's bytes read as a float32 matrix
///   checkpoint                — a checkpoint's bytes decoded (header, sizes, checksum, weights)
///   http-bodies               — a request body decoded as each of the daemon's body types
/// Errors are the expected outcome for most inputs; only a crash (or a sanitizer report) is a finding.
enum FuzzTarget: String {
    case csv, lightgcn, movielens, npy, checkpoint, httpBodies = "http-bodies"

    static let current: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("set FUZZ_TARGET to one of csv, lightgcn, movielens, npy, checkpoint, http-bodies\n".utf8))
            exit(2)
        }
        return target
    }()

    static let scratch: String = {
        let path = NSTemporaryDirectory() + "twotower-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    func run(_ data: Data) {
        switch self {
        case .csv:
            let file = Self.scratch + "/input.csv"
            try? data.write(to: URL(fileURLWithPath: file))
            ingest(.csv, file)
        case .lightgcn:
            // train.txt, then (after the first NUL byte, if any) test.txt.
            let parts = data.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
            try? (parts.first ?? Data()).write(to: URL(fileURLWithPath: Self.scratch + "/train.txt"))
            try? (parts.count > 1 ? Data(parts[1]) : Data()).write(to: URL(fileURLWithPath: Self.scratch + "/test.txt"))
            ingest(.lightgcn, Self.scratch)
        case .movielens:
            // u.data, then u.item, then u.user, separated by NUL bytes.
            let parts = data.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
            let dir = Self.scratch + "/ml"
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for (n, name) in ["u.data", "u.item", "u.user"].enumerated() {
                let path = dir + "/" + name
                if n < parts.count { try? Data(parts[n]).write(to: URL(fileURLWithPath: path)) } else { try? FileManager.default.removeItem(atPath: path) }
            }
            ingest(.movielens, dir)
        case .npy:
            _ = try? VectorFile.parseMatrix(npy: data, path: "fuzz.npy")
        case .checkpoint:
            _ = try? Checkpoint.decode(data, path: "fuzz.ckpt")
        case .httpBodies:
            _ = try? RequestBodies.decode(RequestBodies.ColdStart.self, from: data)
            _ = try? RequestBodies.decode(RequestBodies.ItemUpdate.self, from: data)
        }
    }

    /// One in-memory store for the whole run: each input is ingested inside a transaction that is
    /// rolled back, so every execution starts from the same empty store (and creating the schema
    /// once, not per input, keeps the fuzzer fast).
    static let store = try! InteractionStore(path: ":memory:")

    struct RollBack: Error {}

    private func ingest(_ format: IngestFormat, _ input: String) {
        let store = Self.store
        for policy in [ErrorPolicy.fail, .skip] {
            _ = try? store.write {
                _ = try? Ingestor(store: store, policy: policy).ingest(format: format, input: input)
                throw RollBack()
            }
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    FuzzTarget.current.run(Data(bytes: bytes, count: count))
    return 0
}

/// libFuzzer's driver, for an entry point of our own: SwiftPM links an executable's main as
/// `<target>_main`, so the harness starts libFuzzer itself instead of using libFuzzer's main.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("twotower_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzzOne)
}
