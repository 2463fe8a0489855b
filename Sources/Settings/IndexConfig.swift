import VectorIndex

/// Index settings (`Config/index.json`): the IVF layout and the default search breadth.
/// Read by `twotower build-index`, `twotower search` and the demo.
public struct IndexConfig: DefaultedConfig, Sendable, Equatable {
    public var path = "Data/generated/index"
    public var metric = Metric.innerProduct
    /// Number of inverted lists; 0 picks it from the number of vectors (`IVFSizing.nlist`).
    public var nlist = 0
    /// The search breadth used when a build has no calibrated one.
    public var nprobe = 8
    public var encoding = VectorEncoding.flat
    /// Vectors sampled to train k-means; 0 uses 256 · nlist.
    public var trainSample = 100_000
    public var keepVersions = 3
    public var seed: UInt64 = 1

    public init() {}
}
