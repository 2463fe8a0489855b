import LinearAlgebra

/// One step's gradients for every parameter of a `TwoTowerModel`: sparse rows for the
/// embedding tables, full matrices for the dense layers.
public struct ModelGradients: Sendable {
    public var userIDs: SparseGradient
    public var userTokens: SparseGradient?
    public var itemIDs: SparseGradient
    public var itemTokens: SparseGradient?
    public var history: SparseGradient?
    public var historyWeights: SparseGradient?
    public var userDense: [Matrix]
    public var itemDense: [Matrix]

    private var matrices: [Matrix] {
        [userIDs.values, itemIDs.values] + [userTokens, itemTokens, history, historyWeights].compactMap { $0?.values } + userDense + itemDense
    }

    /// The global L2 norm over every gradient.
    public var norm: Float {
        matrices.reduce(Float(0)) { $0 + $1.values.reduce(0) { $0 + $1 * $1 } }.squareRoot()
    }

    /// Scales everything down so the global norm is at most `maxNorm`.
    public mutating func clip(to maxNorm: Float) {
        let n = norm
        guard n > maxNorm else { return }
        let scale = maxNorm / n
        func scaled(_ m: Matrix) -> Matrix { Matrix(rows: m.rows, cols: m.cols, values: m.values.map { $0 * scale }) }
        userIDs.values = scaled(userIDs.values)
        itemIDs.values = scaled(itemIDs.values)
        if let t = userTokens { userTokens!.values = scaled(t.values) }
        if let t = itemTokens { itemTokens!.values = scaled(t.values) }
        if let t = history { history!.values = scaled(t.values) }
        if let t = historyWeights { historyWeights!.values = scaled(t.values) }
        userDense = userDense.map(scaled)
        itemDense = itemDense.map(scaled)
    }
}

/// The optimiser state for a whole model: lazy Adam per embedding table, dense Adam (AdamW)
/// per tower's dense layers, and the accumulators that gather sparse gradients.
public struct ModelOptimizer: Sendable {
    var userIDs, itemIDs: LazyAdam
    var userTokens, itemTokens, history, historyWeights: LazyAdam?
    var userDense, itemDense: DenseAdam
    var accumulators: [SparseAccumulator?]

    public var learningRate: Float {
        didSet {
            userIDs.learningRate = learningRate
            itemIDs.learningRate = learningRate
            userTokens?.learningRate = learningRate
            itemTokens?.learningRate = learningRate
            history?.learningRate = learningRate
            historyWeights?.learningRate = learningRate
            userDense.learningRate = learningRate
            itemDense.learningRate = learningRate
        }
    }

    public init(model: TwoTowerModel, learningRate: Float, weightDecay: Float, embeddingWeightDecay: Float) {
        self.learningRate = learningRate
        func lazy(_ table: EmbeddingTable?) -> LazyAdam? {
            guard let table else { return nil }
            var adam = LazyAdam(rows: table.count, dimension: table.dimension, learningRate: learningRate)
            adam.weightDecay = embeddingWeightDecay
            return adam
        }
        userIDs = lazy(model.user.ids)!
        itemIDs = lazy(model.item.ids)!
        userTokens = lazy(model.user.tokens)
        itemTokens = lazy(model.item.tokens)
        history = lazy(model.historyTable)
        historyWeights = lazy(model.historyWeights)
        userDense = DenseAdam(shapes: model.user.denseParameters, learningRate: learningRate)
        itemDense = DenseAdam(shapes: model.item.denseParameters, learningRate: learningRate)
        userDense.weightDecay = weightDecay
        itemDense.weightDecay = weightDecay
        accumulators = [model.user.ids, model.item.ids, model.user.tokens, model.item.tokens, model.historyTable, model.historyWeights].map { table in
            table.map { SparseAccumulator(rows: $0.count, dimension: $0.dimension) }
        }
    }

    /// Back-propagates the loss gradients through both towers (and the history encoder).
    public mutating func backward(model: TwoTowerModel, userBatch: TowerBatch, userCache: Tower.Cache, dUsers: Matrix,
                                  itemCache: Tower.Cache, dItems: Matrix,
                                  extraCache: Tower.Cache?, dExtra: Matrix?) -> ModelGradients {
        var userIDAcc = accumulators[0]!, itemIDAcc = accumulators[1]!
        var userTokenAcc = accumulators[2], itemTokenAcc = accumulators[3], historyAcc = accumulators[4]
        var weightAcc = accumulators[5]
        let user = model.user.backward(cache: userCache, gradient: dUsers, ids: &userIDAcc, tokens: &userTokenAcc)
        if let history = model.architecture.history, let source = model.historySource() {
            if history.shared {
                HistoryEncoder.backward(userBatch.histories, gradient: user.sum, table: source.table, rows: source.rows, into: &itemIDAcc,
                                        weights: model.historyWeights, weightGradients: &weightAcc)
            } else {
                HistoryEncoder.backward(userBatch.histories, gradient: user.sum, table: source.table, rows: source.rows, into: &historyAcc!,
                                        weights: model.historyWeights, weightGradients: &weightAcc)
            }
        }
        var item = model.item.backward(cache: itemCache, gradient: dItems, ids: &itemIDAcc, tokens: &itemTokenAcc)
        if let extraCache, let dExtra {
            let extra = model.item.backward(cache: extraCache, gradient: dExtra, ids: &itemIDAcc, tokens: &itemTokenAcc)
            for p in item.dense.indices {
                for i in item.dense[p].values.indices { item.dense[p].values[i] += extra.dense[p].values[i] }
            }
        }
        let gradients = ModelGradients(userIDs: userIDAcc.take(), userTokens: userTokenAcc?.take(), itemIDs: itemIDAcc.take(),
                                       itemTokens: itemTokenAcc?.take(), history: historyAcc?.take(), historyWeights: weightAcc?.take(),
                                       userDense: user.dense, itemDense: item.dense)
        accumulators = [userIDAcc, itemIDAcc, userTokenAcc, itemTokenAcc, historyAcc, weightAcc]
        return gradients
    }

    /// One Adam step on every parameter.
    public mutating func apply(_ g: ModelGradients, to model: inout TwoTowerModel) {
        userIDs.apply(g.userIDs, to: &model.user.ids)
        itemIDs.apply(g.itemIDs, to: &model.item.ids)
        if let t = g.userTokens, model.user.tokens != nil { userTokens!.apply(t, to: &model.user.tokens!) }
        if let t = g.itemTokens, model.item.tokens != nil { itemTokens!.apply(t, to: &model.item.tokens!) }
        if let t = g.history, model.historyTable != nil { history!.apply(t, to: &model.historyTable!) }
        if let t = g.historyWeights, model.historyWeights != nil { historyWeights!.apply(t, to: &model.historyWeights!) }
        if !g.userDense.isEmpty {
            var p = model.user.denseParameters
            userDense.apply(g.userDense, to: &p)
            model.user.denseParameters = p
        }
        if !g.itemDense.isEmpty {
            var p = model.item.denseParameters
            itemDense.apply(g.itemDense, to: &p)
            model.item.denseParameters = p
        }
    }
}
