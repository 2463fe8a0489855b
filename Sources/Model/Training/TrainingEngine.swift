import CKernels
import Foundation
import LinearAlgebra
import Randomness

/// The training step, fused and split over `threads` worker threads with fixed partitions, its
/// workspaces allocated once. One step:
///
///  1. pool each distinct user's history window once (threads take distinct users);
///  2. both towers forward: users by row range, candidates (the batch's items, then the extra
///     negatives) by column range, each thread its own range;
///  3. the scores of every row against every candidate by one sgemm per row range into a reused
///     buffer, masks and the loss's row kernel in place (dL/dscore), dL/duser by a second sgemm;
///  4. dL/dcandidate by a third sgemm per column range, reading the score gradients in place;
///  5. both towers backward over their ranges; each user's history gradient summed over its rows;
///  6. every sparse gradient (id rows, tokens, history windows, targets) added by the thread that
///     owns the table rows it lands on, then lazy Adam on those rows by the same thread.
///
/// Every reduction runs in a fixed order, so the same seed and thread count give the same bits.
final class TrainingEngine: @unchecked Sendable {
    let settings: TrainerSettings
    let architecture: ModelArchitecture
    let threads: Int
    let inputs: ModelInputs
    /// The softmax temperature (learned or fixed); BPR's scale stays the settings' one.
    var temperature: Float

    // Parameters.
    let userIDs, itemIDs: ParameterTable
    let userTokens, itemTokens, historyTable, historyWeights: ParameterTable?
    var userDense, itemDense: Tower
    var userDenseAdam, itemDenseAdam: DenseAdam
    private(set) var step = 0
    /// Work done since the last `takeCounters`: the three products' floating-point operations,
    /// and the bytes the history encoder moved (window rows gathered forward, and the same rows'
    /// gradients summed backward).
    private(set) var flops = 0.0, historyBytes = 0.0

    // Workspaces.
    let batch: StepBatch
    let userRaw, userOut, userNorms: Buffer<Float>
    let itemRaw, itemOut, itemNorms: Buffer<Float>
    let pools, slotGradients: Buffer<Float>
    let scores: Buffer<Float>
    let logQ: Buffer<Float>
    let extraIDs: Buffer<Int32>
    /// Learned history weights: each row's dL/dlogit per window item.
    let logitGradients: Buffer<Float>

    init(model: TwoTowerModel, settings: TrainerSettings, inputs: ModelInputs) {
        self.settings = settings
        architecture = model.architecture
        threads = max(1, settings.threads)
        self.inputs = inputs
        temperature = settings.temperature
        let parts = threads
        userIDs = ParameterTable(model.user.ids, parts: parts)
        itemIDs = ParameterTable(model.item.ids, parts: parts)
        userTokens = model.user.tokens.map { ParameterTable($0, parts: parts) }
        itemTokens = model.item.tokens.map { ParameterTable($0, parts: parts) }
        historyTable = model.historyTable.map { ParameterTable($0, parts: parts) }
        historyWeights = model.historyWeights.map { ParameterTable($0, parts: parts) }
        userDense = model.user
        itemDense = model.item
        userDenseAdam = DenseAdam(shapes: model.user.denseParameters, learningRate: settings.learningRate)
        itemDenseAdam = DenseAdam(shapes: model.item.denseParameters, learningRate: settings.learningRate)
        userDenseAdam.weightDecay = settings.weightDecay
        itemDenseAdam.weightDecay = settings.weightDecay
        let b = settings.batchSize, n = settings.extraNegatives, d = model.dimension
        batch = StepBatch(capacity: b, extras: n, users: model.architecture.user.count, items: model.architecture.item.count,
                          parts: threads)
        userRaw = Buffer(count: b * d, repeating: 0)
        userOut = Buffer(count: b * d, repeating: 0)
        userNorms = Buffer(count: b, repeating: 0)
        itemRaw = Buffer(count: (b + n) * d, repeating: 0)
        itemOut = Buffer(count: (b + n) * d, repeating: 0)
        itemNorms = Buffer(count: b + n, repeating: 0)
        pools = Buffer(count: b * d, repeating: 0)
        slotGradients = Buffer(count: b * d, repeating: 0)
        scores = Buffer(count: b * (b + n), repeating: 0)
        logQ = Buffer(count: b + n, repeating: 0)
        extraIDs = Buffer(count: max(n, 1), repeating: 0)
        logitGradients = Buffer(count: (model.architecture.history?.hasLearnedWeights ?? false) ? b * model.historyLength : 1, repeating: 0)
    }

    var d: Int { architecture.user.dimension }

    /// The loss of the settings' objective at the current temperature.
    var loss: any RetrievalLoss {
        switch settings.objective {
        case .sampledSoftmax: SampledSoftmaxLoss(temperature: temperature)
        case let .cosineContrastive(margin, weight): CosineContrastiveLoss(margin: margin, negativeWeight: weight)
        case .bpr: BPRLoss(temperature: settings.temperature)
        }
    }
    var historyLength: Int { architecture.history?.length ?? 0 }
    /// The table the history encoder reads, and how an item id maps to its rows.
    var historySource: ParameterTable? { architecture.history.map { $0.shared ? itemIDs : historyTable! } }

    @inline(__always) func historyRow(_ item: Int32) -> Int32 {
        guard let h = architecture.history else { return -1 }
        if h.shared { return itemDense.row(of: item) }
        return item >= 0 && Int(item) < architecture.item.count ? item : -1
    }

    /// The model as a value (the parameters copied out), for validation and checkpoints.
    var model: TwoTowerModel {
        var m = TwoTowerModel(architecture: architecture, seed: 0, initialize: false)
        m.user = userDense
        m.item = itemDense
        m.user.ids = userIDs.table
        m.item.ids = itemIDs.table
        if let userTokens { m.user.tokens = userTokens.table }
        if let itemTokens { m.item.tokens = itemTokens.table }
        if let historyTable { m.historyTable = historyTable.table }
        if let historyWeights { m.historyWeights = historyWeights.table }
        return m
    }

    struct StepResult {
        var loss: Double
        var dInverseTemperature: Double
    }

    /// Assembles the step's batch from `pairs[order]` and the extra negatives already drawn into
    /// `extraIDs`; the candidate columns are then in `batch.candidates` (for logQ).
    func assemble(pairs: UnsafeBufferPointer<(Int32, Int32)>, order: ArraySlice<Int>) {
        batch.assemble(pairs: pairs, order: order, extraIDs: UnsafeBufferPointer(start: extraIDs.pointer, count: settings.extraNegatives),
                       histories: inputs.histories, historyLength: historyLength)
    }

    /// One step on the assembled batch, with `logQ` filled for its columns when `useLogQ`.
    func step(useLogQ: Bool, learningRate: Float) -> StepResult {
        step += 1
        let gradients = computeGradients(useLogQ: useLogQ)
        apply(gradients, learningRate: learningRate)
        return gradients.result
    }

    /// A step's gradients: the sparse ones sit in the tables' parts until `apply`.
    struct Gradients {
        var result: StepResult
        var userDense: [Matrix]
        var itemDense: [Matrix]
        /// Σ g² over the sparse gradients.
        var sparseSquaredNorm: Double
    }

    /// The counters since the last call, then zeroed.
    func takeCounters() -> (flops: Double, historyBytes: Double) {
        defer { flops = 0; historyBytes = 0 }
        return (flops, historyBytes)
    }

    /// Phases 1–6 of a step: forward, loss, backward, every sparse gradient into its part.
    func computeGradients(useLogQ: Bool) -> Gradients {
        let d = self.d, rows = batch.rows
        flops += 6 * Double(rows) * Double(batch.columns) * Double(d)
        if historyLength > 0 {
            var pooled = 0
            for j in 0..<batch.distinct { pooled += Int(batch.windowLength[j]) }
            historyBytes += 2 * Double(pooled) * Double(d) * 4
        }
        let columns = batch.columns, T = threads
        let savedThreads = BLAS.threads
        BLAS.threads = 1
        defer { BLAS.threads = savedThreads }
        let userPass = TowerPass(spec: architecture.user, dense: userDense, ids: userIDs, tokens: userTokens, features: inputs.userFeatures)
        let itemPass = TowerPass(spec: architecture.item, dense: itemDense, ids: itemIDs, tokens: itemTokens, features: inputs.itemFeatures)
        let learned = architecture.history?.hasLearnedWeights ?? false
        let step = self.step, seed = settings.seed

        // 1–2: pooled histories, then both towers forward.
        let loss = self.loss
        _ = Parallel.map(parts: T) { t in
            let rowRange = Parallel.range(t, of: T, count: rows), columnRange = Parallel.range(t, of: T, count: columns)
            (self.userRaw.pointer + rowRange.lowerBound * d).update(repeating: 0, count: rowRange.count * d)
            (self.itemRaw.pointer + columnRange.lowerBound * d).update(repeating: 0, count: columnRange.count * d)
            if self.historyLength > 0 {
                if learned { self.poolLearned(rows: rowRange) } else {
                    self.poolWindows(slots: Parallel.range(t, of: T, count: self.batch.distinct))
                }
            }
        }
        let forward = Parallel.map(parts: T) { t -> (user: TowerPass.Cache, item: TowerPass.Cache) in
            let rowRange = Parallel.range(t, of: T, count: rows), columnRange = Parallel.range(t, of: T, count: columns)
            if self.historyLength > 0 && !learned { self.addPools(rows: rowRange) }
            var rng: SplitMix64? = (self.architecture.user.mlp?.dropout ?? 0) > 0 || (self.architecture.item.mlp?.dropout ?? 0) > 0
                ? SplitMix64(seed: seed &+ 13 &+ UInt64(step) &* 0x9E37_79B9 &+ UInt64(t)) : nil
            let user = userPass.forward(entities: self.batch.users.pointer, range: rowRange, raw: self.userRaw.pointer,
                                        out: self.userOut.pointer, norms: self.userNorms.pointer, rng: &rng)
            let item = itemPass.forward(entities: self.batch.candidates.pointer, range: columnRange, raw: self.itemRaw.pointer,
                                        out: self.itemOut.pointer, norms: self.itemNorms.pointer, rng: &rng)
            return (user, item)
        }

        // 3: scores, masks, loss rows, dL/duser (into userRaw, no longer needed as input).
        let scale = 1 / Float(rows)
        let lossParts = Parallel.map(parts: T) { t -> (Double, Double) in
            let range = Parallel.range(t, of: T, count: rows)
            guard !range.isEmpty else { return (0, 0) }
            let s = self.scores.pointer + range.lowerBound * columns
            BLAS.gemm(m: range.count, n: columns, k: d, self.userOut.pointer + range.lowerBound * d, lda: d, .none,
                      self.itemOut.pointer, ldb: d, .transposed, s, ldc: columns)
            var total = 0.0, dInverse = 0.0
            let logQPointer: UnsafePointer<Float>? = useLogQ ? UnsafePointer(self.logQ.pointer) : nil
            for r in range {
                let row = self.scores.pointer + r * columns
                self.batch.mask(row: r, scores: row)
                let result = loss.rowGradient(row, count: columns, positive: r, logQ: logQPointer, scale: scale)
                total += result.loss
                dInverse += result.dInverseTemperature
            }
            BLAS.gemm(m: range.count, n: d, k: columns, s, lda: columns, .none, self.itemOut.pointer, ldb: d, .none,
                      self.userRaw.pointer + range.lowerBound * d, ldc: d)
            return (total, dInverse)
        }

        // 4–5: dL/dcandidate (into itemRaw), then both towers backward.
        let denseGradients = Parallel.map(parts: T) { t -> (user: [Matrix], item: [Matrix]) in
            let rowRange = Parallel.range(t, of: T, count: rows), columnRange = Parallel.range(t, of: T, count: columns)
            if !columnRange.isEmpty {
                BLAS.gemm(m: columnRange.count, n: d, k: rows, self.scores.pointer + columnRange.lowerBound, lda: columns, .transposed,
                          self.userOut.pointer, ldb: d, .none, self.itemRaw.pointer + columnRange.lowerBound * d, ldc: d)
            }
            let user = userPass.backward(range: rowRange, out: self.userOut.pointer, norms: self.userNorms.pointer,
                                         gradient: self.userRaw.pointer, cache: forward[t].user)
            let item = itemPass.backward(range: columnRange, out: self.itemOut.pointer, norms: self.itemNorms.pointer,
                                         gradient: self.itemRaw.pointer, cache: forward[t].item)
            return (user, item)
        }
        if historyLength > 0 && !learned {
            _ = Parallel.map(parts: T) { t in self.sumSlotGradients(slots: Parallel.range(t, of: T, count: self.batch.distinct)) }
        }

        // 6: every sparse gradient recorded as contributions (each thread its own sources), then
        // indexed by row, table by table.
        _ = Parallel.map(parts: T) { t in
            let rowRange = Parallel.range(t, of: T, count: rows), columnRange = Parallel.range(t, of: T, count: columns)
            userPass.collect(entities: self.batch.users.pointer, range: rowRange, gradient: self.userRaw.pointer, part: t)
            itemPass.collect(entities: self.batch.candidates.pointer, range: columnRange, gradient: self.itemRaw.pointer, part: t)
            if self.historyLength > 0 {
                if learned { self.collectLearned(rows: rowRange, part: t) } else {
                    self.collectWindows(slots: Parallel.range(t, of: T, count: self.batch.distinct), rows: rowRange, part: t)
                }
            }
        }
        let tables = self.tables
        for table in tables { table.reserveOrder() }
        _ = Parallel.map(parts: T) { t in for table in tables { table.index(rows: Parallel.range(t, of: T, count: table.rows)) } }
        let norms: [Double] = settings.clipNorm > 0
            ? Parallel.map(parts: T) { t in tables.reduce(0) { $0 + $1.squaredNorm(range: Parallel.range(t, of: T, count: $1.rows)) } }
            : []
        return Gradients(result: StepResult(loss: lossParts.reduce(0) { $0 + $1.0 } / Double(rows), dInverseTemperature: lossParts.reduce(0) { $0 + $1.1 }),
                         userDense: sum(denseGradients.map(\.user)), itemDense: sum(denseGradients.map(\.item)),
                         sparseSquaredNorm: norms.reduce(0, +))
    }

    /// Clipping and the Adam step for every parameter (the sparse rows by their owning threads).
    func apply(_ gradients: Gradients, learningRate: Float) {
        let T = threads
        let savedThreads = BLAS.threads
        BLAS.threads = 1
        defer { BLAS.threads = savedThreads }
        var userDenseGradient = gradients.userDense, itemDenseGradient = gradients.itemDense
        var clip: Float = 1
        if settings.clipNorm > 0 {
            let dense = (userDenseGradient + itemDenseGradient).reduce(0.0) { $0 + $1.values.reduce(0.0) { $0 + Double($1 * $1) } }
            let norm = Float((gradients.sparseSquaredNorm + dense).squareRoot())
            if norm > settings.clipNorm { clip = settings.clipNorm / norm }
        }
        let rate = adamRate(learningRate: learningRate, beta1: 0.9, beta2: 0.999, step: step)
        let clipScale = clip
        let tables = self.tables
        _ = Parallel.map(parts: T) { t in
            for table in tables {
                table.apply(range: Parallel.range(t, of: T, count: table.rows), learningRate: learningRate, rate: rate,
                            weightDecay: self.settings.embeddingWeightDecay, scale: clipScale)
            }
        }
        for table in tables { table.clear() }
        if !userDenseGradient.isEmpty {
            if clip < 1 { userDenseGradient = userDenseGradient.map { scaled($0, clip) } }
            var p = userDense.denseParameters
            userDenseAdam.learningRate = learningRate
            userDenseAdam.apply(userDenseGradient, to: &p)
            userDense.denseParameters = p
        }
        if !itemDenseGradient.isEmpty {
            if clip < 1 { itemDenseGradient = itemDenseGradient.map { scaled($0, clip) } }
            var p = itemDense.denseParameters
            itemDenseAdam.learningRate = learningRate
            itemDenseAdam.apply(itemDenseGradient, to: &p)
            itemDense.denseParameters = p
        }
    }

    /// The gradients of the last `computeGradients` as dense matrices in `TwoTowerModel.parameters`
    /// order (for gradient checks; call before `apply`, which consumes the contributions).
    func denseGradients(_ gradients: Gradients) -> [Matrix] {
        func dense(_ table: ParameterTable?) -> [Matrix] {
            guard let table else { return [] }
            var m = Matrix(rows: table.rows, cols: table.dimension)
            m.values.withUnsafeMutableBufferPointer { p in
                for r in 0..<table.rows { _ = table.gradient(row: r, into: p.baseAddress! + r * table.dimension) }
            }
            return [m]
        }
        return dense(userIDs) + dense(userTokens) + dense(itemIDs) + dense(itemTokens) + dense(historyTable) + dense(historyWeights)
            + gradients.userDense + gradients.itemDense
    }

    /// Every table with sparse gradients.
    var tables: [ParameterTable] { [userIDs, itemIDs] + [userTokens, itemTokens, historyTable, historyWeights].compactMap { $0 } }

    private func sum(_ parts: [[Matrix]]) -> [Matrix] {
        guard var total = parts.first, !total.isEmpty else { return [] }
        for part in parts.dropFirst() {
            for p in total.indices { for i in total[p].values.indices { total[p].values[i] += part[p].values[i] } }
        }
        return total
    }

    private func scaled(_ m: Matrix, _ s: Float) -> Matrix { Matrix(rows: m.rows, cols: m.cols, values: m.values.map { $0 * s }) }

    // MARK: The history encoder (mean pooling)

    /// Σ of each distinct user's window rows, into `pools`.
    private func poolWindows(slots: Range<Int>) {
        let d = self.d, table = historySource!
        let w = table.weights.pointer
        var rows = [Int32](repeating: 0, count: historyLength)
        for j in slots {
            let history = inputs.histories[Int(batch.slotUsers[j])]
            let start = Int(batch.windowStart[j]), length = Int(batch.windowLength[j])
            for k in 0..<length { rows[k] = historyRow(history[start + k]) }
            rows.withUnsafeBufferPointer { tt_sum_rows(pools.pointer + j * d, d, w, $0.baseAddress!, length) }
        }
    }

    /// Each row's pooled history, (Σ − c·e_target) / (n − c), added into `userRaw`.
    private func addPools(rows: Range<Int>) {
        let d = self.d, w = historySource!.weights.pointer
        for r in rows {
            let j = Int(batch.slotOfRow[r])
            let c = Int(batch.targetCount[r]), n = Int(batch.windowLength[j]) - c
            guard n > 0 else { continue }
            let inverse = 1 / Float(n)
            let out = userRaw.pointer + r * d, pool = pools.pointer + j * d
            let target = historyRow(batch.candidates[r])
            if c > 0 && target >= 0 {
                let e = w + Int(target) * d, fc = Float(c)
                for k in 0..<d { out[k] += (pool[k] - fc * e[k]) * inverse }
            } else {
                for k in 0..<d { out[k] += pool[k] * inverse }
            }
        }
    }

    /// Each distinct user's history gradient: Σ over their rows of dL/dpooled / n.
    private func sumSlotGradients(slots: Range<Int>) {
        let d = self.d
        for j in slots {
            let out = slotGradients.pointer + j * d
            out.update(repeating: 0, count: d)
            for i in Int(batch.rowStart[j])..<Int(batch.rowStart[j + 1]) {
                let r = Int(batch.rowsOfSlot[i])
                let n = Int(batch.windowLength[j]) - Int(batch.targetCount[r])
                guard n > 0 else { continue }
                tt_axpy(d, 1 / Float(n), userRaw.pointer + r * d, out)
            }
        }
    }

    /// The window rows' gradients (each user's summed gradient on every window item, for the
    /// users of `slots`) and the targets' corrections (for `rows`), as contributions in list `part`.
    private func collectWindows(slots: Range<Int>, rows: Range<Int>, part: Int) {
        let d = self.d
        let list = historySource!.lists[part]
        for j in slots {
            let history = inputs.histories[Int(batch.slotUsers[j])]
            let start = Int(batch.windowStart[j])
            let g = UnsafePointer(slotGradients.pointer + j * d)
            for k in start..<(start + Int(batch.windowLength[j])) {
                let row = historyRow(history[k])
                if row >= 0 { list.add(row, g) }
            }
        }
        for r in rows where batch.targetCount[r] > 0 {
            let j = Int(batch.slotOfRow[r])
            let c = Int(batch.targetCount[r]), n = Int(batch.windowLength[j]) - c
            let row = historyRow(batch.candidates[r])
            guard n > 0, row >= 0 else { continue }
            list.add(row, userRaw.pointer + r * d, scale: -Float(c) / Float(n))
        }
    }

    // MARK: The history encoder (learned weights: a softmax-weighted mean per row)

    /// The shares of row r's window items (the target's copies left out), into `shares`.
    private func shares(row r: Int, into shares: inout [Float]) -> (history: [Int32], start: Int, count: Int) {
        let j = Int(batch.slotOfRow[r])
        let history = inputs.histories[Int(batch.slotUsers[j])]
        let start = Int(batch.windowStart[j]), count = Int(batch.windowLength[j])
        let target = batch.candidates[r], a = historyWeights!
        if shares.count < count { shares = [Float](repeating: 0, count: count) }
        var top = -Float.infinity
        for k in 0..<count {
            let item = history[start + k]
            var logit = -Float.infinity
            if item != target && historyRow(item) >= 0 { logit = Int(item) < a.rows ? a.weights[Int(item)] : 0 }
            shares[k] = logit
            top = max(top, logit)
        }
        guard top > -.infinity else {
            for k in 0..<count { shares[k] = 0 }
            return (history, start, count)
        }
        var total: Float = 0
        for k in 0..<count { shares[k] = shares[k] == -.infinity ? 0 : expf(shares[k] - top); total += shares[k] }
        for k in 0..<count { shares[k] /= total }
        return (history, start, count)
    }

    private func poolLearned(rows: Range<Int>) {
        let d = self.d, w = historySource!.weights.pointer
        var p: [Float] = []
        for r in rows {
            let (history, start, count) = shares(row: r, into: &p)
            let out = userRaw.pointer + r * d
            for k in 0..<count where p[k] != 0 {
                let src = w + Int(historyRow(history[start + k])) * d
                for c in 0..<d { out[c] += p[k] * src[c] }
            }
        }
    }

    private func collectLearned(rows: Range<Int>, part: Int) {
        let d = self.d, table = historySource!, w = table.weights.pointer, L = historyLength
        let list = table.lists[part], weightList = historyWeights!.lists[part]
        var p: [Float] = []
        for r in rows {
            let (history, start, count) = shares(row: r, into: &p)
            let g = userRaw.pointer + r * d
            var pooledDot: Float = 0
            let dots = logitGradients.pointer + r * L
            for k in 0..<count {
                dots[k] = 0
                guard p[k] != 0 else { continue }
                let row = historyRow(history[start + k])
                let e = w + Int(row) * d
                for c in 0..<d { dots[k] += g[c] * e[c] }
                pooledDot += p[k] * dots[k]
                list.add(row, g, scale: p[k])
            }
            for k in 0..<count {
                let item = history[start + k]
                // dL/dlogit_k = p_k (g · e_k − g · pooled), kept in the step's buffer.
                dots[k] = p[k] == 0 ? 0 : p[k] * (dots[k] - pooledDot)
                if p[k] != 0 && Int(item) < historyWeights!.rows { weightList.add(item, dots + k) }
            }
        }
    }
}
