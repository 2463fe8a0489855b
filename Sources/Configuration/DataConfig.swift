/// Where the data comes from and where the store lives (`Config/data.json`).
public struct DataConfig: Codable, Sendable, Equatable {
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

    enum CodingKeys: String, CodingKey {
        case source, input, store, split
        case syntheticSpec = "synthetic_spec", onError = "on_error"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = DataConfig()
        source = try c.value(.source, default: d.source)
        input = try c.value(.input, default: d.input)
        store = try c.value(.store, default: d.store)
        syntheticSpec = try c.value(.syntheticSpec, default: d.syntheticSpec)
        onError = try c.value(.onError, default: d.onError)
        split = try c.value(.split, default: d.split)
    }
}

/// Which split the pipeline trains and evaluates on, and how it is made.
public struct SplitConfig: Codable, Sendable, Equatable {
    /// The split's name in the store.
    public var name = "leave-last-out"
    /// `leave-last-out`, `temporal-ratio`, `random-ratio`, `given` (LightGCN files) or
    /// `validation-from` (carve validation out of the split named `source`).
    public var method = "leave-last-out"
    public var validation = 0.1
    public var test = 0.2
    public var source: String?
    public var seed: UInt64 = 7

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SplitConfig()
        name = try c.value(.name, default: d.name)
        method = try c.value(.method, default: d.method)
        validation = try c.value(.validation, default: d.validation)
        test = try c.value(.test, default: d.test)
        source = try c.decodeIfPresent(String.self, forKey: .source)
        seed = try c.value(.seed, default: d.seed)
    }
}
