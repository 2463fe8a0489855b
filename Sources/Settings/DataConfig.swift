import Ingestion
import Store
import Synthetic

/// Where the main job's data comes from.
public enum DataSource: String, Sendable, Codable, CaseIterable {
    /// Generated from `synthetic_spec`.
    case synthetic
    case csv, movielens, lightgcn

    /// The ingest format of a file source (nil for synthetic data, which is generated as CSV).
    public var ingestFormat: IngestFormat? { IngestFormat(rawValue: rawValue) }
}

/// Where the data comes from and where the store lives (`Config/data.json`).
public struct DataConfig: DefaultedConfig, Sendable, Equatable {
    public var source = DataSource.synthetic
    /// Input directory or file for the formats; for `synthetic`, where the files are generated.
    public var input = "Data/generated/synthetic"
    /// The SQLite store the pipeline writes.
    public var store = "Data/generated/store.sqlite"
    /// The synthetic recipe (see `SyntheticSpec`).
    public var syntheticSpec = "Data/synthetic.json"
    /// Stop and roll back on a malformed line, or skip and count.
    public var onError = ErrorPolicy.fail
    public var split = SplitConfig()

    public init() {}
}

/// Which split the pipeline trains and evaluates on, and how it is made.
public struct SplitConfig: DefaultedConfig, Sendable, Equatable {
    /// The split's name in the store.
    public var name = "leave-last-out"
    /// How it is made; `given` uses the split stored at ingest (LightGCN files).
    public var method = SplitMethodName.leaveLastOut
    public var validation = 0.1
    public var test = 0.2
    /// The split to carve validation from (`validation-from`).
    public var source = "given"
    public var seed: UInt64 = 7

    public init() {}

    /// The method with its parameters.
    public func splitMethod() throws -> SplitMethod? {
        method == .given ? nil : try SplitMethod(name: method, validation: validation, test: test, source: source, seed: seed)
    }
}

extension SyntheticSpec: DefaultedConfig {}
