/// Where the data comes from and where the store lives (`Config/data.json`).
public struct DataConfig: DefaultedConfig, Sendable, Equatable {
    /// `synthetic` (generate from `syntheticSpec`), or a format `twotower ingest` reads:
    /// `csv`, `movielens`, `lightgcn`.
    public var source = "synthetic"
    /// Input directory or file for the formats; for `synthetic`, where the files are generated.
    public var input = "Data/generated/synthetic"
    /// The SQLite store the pipeline writes.
    public var store = "Data/generated/store.sqlite"
    /// The synthetic recipe (see `SyntheticSpec`).
    public var syntheticSpec = "Data/synthetic.json"
    /// `fail` stops and rolls back on a malformed line; `skip` skips and counts.
    public var onError = "fail"
    public var split = SplitConfig()

    public init() {}

}

/// Which split the pipeline trains and evaluates on, and how it is made.
public struct SplitConfig: DefaultedConfig, Sendable, Equatable {
    /// The split's name in the store.
    public var name = "leave-last-out"
    /// `leave-last-out`, `temporal-ratio`, `random-ratio`, `given` (LightGCN files) or
    /// `validation-from` (carve validation out of the split named `source`).
    public var method = "leave-last-out"
    public var validation = 0.1
    public var test = 0.2
    /// The split to carve validation from (`validation-from`).
    public var source = "given"
    public var seed: UInt64 = 7

    public init() {}

}
