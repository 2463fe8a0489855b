import Store

/// The interactions an evaluation needs, by dense user and item id: what to mask (the user's
/// training items) and what to find (the held-out items).
public struct EvaluationData: Sendable {
    public let userCount: Int
    public let itemCount: Int
    /// Per user: items removed from the ranking. After `load`, the items known before the
    /// held-out part, oldest first: also the history a user tower reads at that point.
    public let masked: [[Int32]]
    /// Per user: the held-out items.
    public let heldOut: [[Int32]]

    public init(userCount: Int, itemCount: Int, masked: [[Int32]], heldOut: [[Int32]]) {
        self.userCount = userCount
        self.itemCount = itemCount
        self.masked = masked
        self.heldOut = heldOut
    }

    /// Users with at least one held-out item.
    public var evaluatedUsers: [Int] { (0..<userCount).filter { !heldOut[$0].isEmpty } }

    /// Reads split `split` from a store: `part` is held out and the items the user is known to
    /// have before it are masked — the train part, and for the test part also the validation part
    /// (as the LightGCN protocol and `../shared/peers` do: they mask train + validation at test time).
    public static func load(store: InteractionStore, split: String, part: SplitPart) throws -> EvaluationData {
        let users = try store.count("users"), items = try store.count("items")
        var masked = [[Int32]](repeating: [], count: users), heldOut = [[Int32]](repeating: [], count: users)
        try store.forEachInteraction(split: split, parts: part.knownBefore) { u, i in masked[u].append(Int32(i)) }
        try store.forEachInteraction(split: split, part: part) { u, i in heldOut[u].append(Int32(i)) }
        return EvaluationData(userCount: users, itemCount: items, masked: masked, heldOut: heldOut)
    }
}
