import LinearAlgebra

/// The two towers in their simplest form: an ID embedding per user and per item, L2-normalised,
/// so a user's score for an item is the cosine of their embeddings. (Feature encoders, history
/// pooling and MLP layers are the next steps of the training issue.)
public struct TwoTowerModel: Sendable {
    public var users: EmbeddingTable
    public var items: EmbeddingTable

    public init(userCount: Int, itemCount: Int, dimension: Int, seed: UInt64) {
        users = EmbeddingTable(count: userCount, dimension: dimension, seed: seed)
        items = EmbeddingTable(count: itemCount, dimension: dimension, seed: seed &+ 1)
    }

    public init(users: EmbeddingTable, items: EmbeddingTable) {
        self.users = users
        self.items = items
    }

    public var dimension: Int { users.dimension }

    /// Normalised user embeddings, one row per dense user id.
    public func userEmbeddings() -> Matrix { L2Normalize.forward(users.weights).y }

    /// Normalised item embeddings, one row per dense item id.
    public func itemEmbeddings() -> Matrix { L2Normalize.forward(items.weights).y }
}
