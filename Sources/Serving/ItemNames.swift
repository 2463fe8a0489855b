import Foundation
import Logging
import Store
import Synchronization

/// Raw item ids by dense id, remembered across requests: every top-K answer names its items,
/// and a store query per item was a large share of a request's work. Safe to keep for the daemon's
/// life because the store never renames or reuses a committed dense id (items are only added;
/// `DELETE /v1/items/{id}` removes the vector from the index, not the id from the store).
final class ItemNames: Sendable {
    /// Names kept at most; past it, lookups go to the store (a catalogue far larger than the
    /// items that actually get recommended).
    let capacity: Int
    private let names = Mutex<[Int: String]>([:])
    /// Index ids already reported as having no item, so each is logged once.
    private let unnamed = Mutex<Set<Int>>([])
    private let logger: Logger

    init(capacity: Int = 2_000_000, logger: Logger = Logger(label: "twotower.serve")) {
        self.capacity = capacity
        self.logger = logger
    }

    var count: Int { names.withLock { $0.count } }

    /// The raw id of a dense item id, from memory or from `store`; nil when the store has none
    /// (an index id added with `update-index --ids` and no item: answers skip it, and the first
    /// time each such id comes up a warning is logged).
    func name(of dense: Int, store: InteractionStore) throws -> String? {
        if let known = names.withLock({ $0[dense] }) { return known }
        guard let raw = try store.rawID(of: .item, dense: dense) else {
            if unnamed.withLock({ $0.count < 10_000 && $0.insert(dense).inserted }) {
                logger.warning("index id \(dense) has no item in the store: skipped from answers (was it added with update-index --ids?)")
            }
            return nil
        }
        names.withLock { if $0.count < capacity { $0[dense] = raw } }
        return raw
    }
}
