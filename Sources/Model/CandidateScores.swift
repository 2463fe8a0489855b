import LinearAlgebra

/// What the pairwise losses (`CosineContrastiveLoss`, `BPRLoss`) share: each user row's scores
/// against the batch's items and the extra negatives, which columns are its negatives, and the
/// products that turn score gradients into embedding gradients.
struct CandidateScores {
    let users: Matrix
    let items: Matrix
    let extra: SampledSoftmaxLoss.ExtraNegatives?
    /// B × B scores against the batch's items, then B × N against the extras; callers overwrite
    /// them with dL/dscore.
    var inBatch: Matrix
    var extras: Matrix
    let ids: [Int32]

    init(users: Matrix, items: Matrix, itemIDs: [Int32], extra: SampledSoftmaxLoss.ExtraNegatives?) {
        self.users = users
        self.items = items
        self.extra = extra
        inBatch = BLAS.multiply(users, .none, items, .transposed)
        extras = extra.map { BLAS.multiply(users, .none, $0.embeddings, .transposed) } ?? Matrix(rows: users.rows, cols: 0)
        ids = itemIDs + (extra?.ids ?? [])
    }

    var batch: Int { users.rows }
    var columns: Int { ids.count }

    /// Row r's score for column c (batch items first, then extras).
    func score(_ r: Int, _ c: Int) -> Float {
        c < batch ? inBatch.values[r * batch + c] : extras.values[r * extras.cols + c - batch]
    }

    mutating func setGradient(_ r: Int, _ c: Int, _ g: Float) {
        if c < batch { inBatch.values[r * batch + c] = g } else { extras.values[r * extras.cols + c - batch] = g }
    }

    /// Which columns are negatives for row r: not its own item (or a copy of it) and not masked.
    /// Returns how many there are (at least 1, as a divisor).
    func negatives(_ r: Int, masked: [Int]?, into negative: inout [Bool]) -> Float {
        for c in 0..<columns { negative[c] = c != r && ids[c] != ids[r] }
        for c in masked ?? [] where c != r { negative[c] = false }
        return Float(max(negative.filter { $0 }.count, 1))
    }

    /// Embedding gradients once every score holds dL/dscore.
    func backward() -> (dUsers: Matrix, dItems: Matrix, dExtra: Matrix) {
        var dU = BLAS.multiply(inBatch, .none, items, .none)
        let dV = BLAS.multiply(inBatch, .transposed, users, .none)
        var dE = Matrix(rows: extra?.ids.count ?? 0, cols: users.cols)
        if let extra, !extra.ids.isEmpty {
            BLAS.gemm(extras, .none, extra.embeddings, .none, into: &dU, alpha: 1, beta: 1)
            dE = BLAS.multiply(extras, .transposed, users, .none)
        }
        return (dU, dV, dE)
    }
}
