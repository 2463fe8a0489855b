import LinearAlgebra

/// One search result: an item id and its score (higher is better).
public struct Neighbor: Equatable, Sendable, Codable {
    public var id: Int64
    public var score: Float

    public init(id: Int64, score: Float) {
        self.id = id
        self.score = score
    }
}

extension TopK {
    /// The kept entries as search results, best first.
    func neighbors() -> [Neighbor] { sorted().map { Neighbor(id: $0.id, score: $0.score) } }
}
