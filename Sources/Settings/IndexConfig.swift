import VectorIndex

/// Index settings (`Config/index.json`): the list layout, its encoding, how k-means is trained
/// and what recall the build calibrates the default search setting to.
/// Read by `twotower build-index`, `twotower search` and the demo.
public struct IndexConfig: DefaultedConfig, Sendable, Equatable {
    public var path = "Data/generated/index"
    public var metric = Metric.innerProduct
    /// `auto` (exact for small sets or when measured as fast), `ivf` or `exact`.
    public var layout = IndexLayoutChoice.auto
    /// With `layout: auto`, sets of at most this many MiB of float32 vectors are indexed exactly.
    public var exactBelowMib = 16
    /// Number of inverted lists; 0 picks it from the number of vectors (`IVFSizing.nlist`).
    public var nlist = 0
    /// The search breadth used when a build has no calibrated one.
    public var nprobe = 8
    public var encoding = VectorEncoding.flat
    /// PQ4 sub-quantizers; 0 uses two dimensions each.
    public var subQuantizers = 0
    /// Vectors sampled to train k-means; 0 uses 256 · nlist (FAISS's default).
    public var trainSample = 0
    /// k-means iterations.
    public var iterations = 10
    /// The recall@10 against exact search that the calibrated default search setting reaches;
    /// 0 skips calibration.
    public var targetRecall = 0.95
    public var keepVersions = 3
    public var seed: UInt64 = 1

    public init() {}
}
