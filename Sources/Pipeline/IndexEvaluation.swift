import Evaluation
import LinearAlgebra
import VectorIndex

/// Full-ranking metrics with the index in place of exact scoring: each user's embedding (row =
/// dense user id) is searched with their masked (known) items excluded, k = max(ks). The index
/// must hold item embeddings under their dense item ids (`twotower embed --items`).
public func evaluateThroughIndex(_ index: IVFIndex, users: Matrix, data: EvaluationData, nprobe: Int,
                                 rerankFactor: Int = SearchParameters().rerankFactor, ks: [Int] = [10, 20, 50]) throws -> RankingMetrics {
    let k = ks.max() ?? 20
    return try FullRankingEvaluator.evaluate(data: data, ks: ks) { u in
        var p = SearchParameters(k: k, nprobe: nprobe)
        p.rerankFactor = rerankFactor
        p.exclude = Set(data.masked[u].map(Int64.init))
        return try index.search(Array(users.row(u)), parameters: p).map { Int32($0.id) }
    }
}
