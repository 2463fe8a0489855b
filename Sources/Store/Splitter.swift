import Randomness
import SQLite

/// How to divide each user's interactions into train, validation and test (see EVAL.md).
public enum SplitMethod: Sendable, Equatable {
    /// Per user by time: last → test, second-to-last → validation, rest → train; ties in time are
    /// broken by the source's item id (numeric when it is a number). A user with two interactions gives one to test; with one, it stays in train.
    case leaveLastOut
    /// Per user by time: the earliest fraction to train, then validation, the latest to test.
    case temporalRatio(validation: Double, test: Double)
    /// Per user, a seeded random shuffle, then the same fractions.
    case randomRatio(validation: Double, test: Double, seed: UInt64)
    /// Copies split `source` and moves a seeded random `fraction` of each user's train interactions
    /// to validation (at least one stays in train): a validation set carved from a given train split.
    case validationFrom(source: String, fraction: Double, seed: UInt64)

    /// Stable name stored with the split.
    public var methodName: String {
        switch self {
        case .leaveLastOut: "leave-last-out"
        case .temporalRatio: "temporal-ratio"
        case .randomRatio: "random-ratio"
        case .validationFrom: "validation-from"
        }
    }

    /// The parameters as JSON, stored with the split.
    public var parametersJSON: String {
        switch self {
        case .leaveLastOut: "{}"
        case let .temporalRatio(v, t): "{\"validation\":\(v),\"test\":\(t)}"
        case let .randomRatio(v, t, seed): "{\"validation\":\(v),\"test\":\(t),\"seed\":\(seed)}"
        case let .validationFrom(source, f, seed): "{\"source\":\"\(source)\",\"fraction\":\(f),\"seed\":\(seed)}"
        }
    }
}

/// The split methods a command line or `Config/data.json` can name.
public enum SplitMethodName: String, Sendable, Codable, CaseIterable {
    case leaveLastOut = "leave-last-out"
    case temporalRatio = "temporal-ratio"
    case randomRatio = "random-ratio"
    case validationFrom = "validation-from"
    /// The split stored at ingest with LightGCN files (nothing to compute).
    case given
}

/// A split method could not be built from its name and parameters.
public struct SplitMethodError: Error, CustomStringConvertible {
    public let description: String
}

extension SplitMethod {
    /// The method `name` with its parameters (`source` only for validation-from).
    /// - Throws: `SplitMethodError` for `given` (stored at ingest, not computed) or a missing source.
    public init(name: SplitMethodName, validation: Double, test: Double, source: String?, seed: UInt64) throws {
        switch name {
        case .leaveLastOut: self = .leaveLastOut
        case .temporalRatio: self = .temporalRatio(validation: validation, test: test)
        case .randomRatio: self = .randomRatio(validation: validation, test: test, seed: seed)
        case .validationFrom:
            guard let source else { throw SplitMethodError(description: "validation-from needs --source, the split to carve validation from") }
            self = .validationFrom(source: source, fraction: validation, seed: seed)
        case .given:
            throw SplitMethodError(description: "the 'given' split is stored by ingesting LightGCN files; it is not computed")
        }
    }
}

/// Writes named splits into a store. Streams users in order, so memory holds one user's
/// interactions at a time; runs in one transaction.
public struct Splitter {
    public let store: InteractionStore

    public init(store: InteractionStore) { self.store = store }

    /// Creates or replaces split `name`. Returns the number of interactions in each part.
    @discardableResult
    public func split(name: String, method: SplitMethod) throws -> [SplitPart: Int] {
        try validate(method)
        let c = store.connection
        return try c.transaction {
            let writer = try StoreWriter(store: store)
            var counts: [SplitPart: Int] = [.train: 0, .validation: 0, .test: 0]
            let sourceSQL: String
            var sourceArgs: [SQLiteValue] = []
            if case let .validationFrom(source, _, _) = method {
                let sourceID = try store.splitID(named: source)
                if source == name { throw StoreError.invalidSplit("a split cannot be carved from itself ('\(name)')") }
                sourceSQL = """
                    SELECT i.id, i.user, p.part FROM split_parts p JOIN interactions i ON i.id = p.interaction
                    JOIN items it ON it.id = i.item
                    WHERE p.split = ? ORDER BY i.user, i.ts, \(Self.sourceItemOrder)
                    """
                sourceArgs = [.integer(Int64(sourceID))]
            } else {
                sourceSQL = """
                    SELECT i.id, i.user, 0 FROM interactions i JOIN items it ON it.id = i.item
                    ORDER BY i.user, i.ts, \(Self.sourceItemOrder)
                    """
            }
            let splitID = try writer.beginSplit(name: name, method: method.methodName, parameters: method.parametersJSON)
            var currentUser = -1
            var rows: [(id: Int64, part: SplitPart)] = []
            func flush() throws {
                guard !rows.isEmpty else { return }
                let parts = assignParts(rows.map(\.part), user: currentUser, method: method)
                for (row, part) in zip(rows, parts) {
                    try writer.assign(split: splitID, interaction: row.id, part: part)
                    counts[part, default: 0] += 1
                }
                rows.removeAll(keepingCapacity: true)
            }
            let statement = try c.prepare(sourceSQL)
            try statement.bind(sourceArgs)
            while try statement.step() {
                let user = statement.int(1)
                if user != currentUser {
                    try flush()
                    currentUser = user
                }
                rows.append((statement.int64(0), SplitPart(rawValue: statement.int(2)) ?? .train))
            }
            try flush()
            return counts
        }
    }

    /// Ties in time are broken by the data set's own item id (numerically when it is a number, as
    /// `../shared/peers/recsys_eval.py` does for MovieLens), not by our dense id, which depends on
    /// the order files were read in.
    static let sourceItemOrder = "CAST(it.raw_id AS INTEGER), it.raw_id"

    private func validate(_ method: SplitMethod) throws {
        func fractions(_ v: Double, _ t: Double) throws {
            guard v >= 0, t >= 0, v + t < 1 else {
                throw StoreError.invalidSplit("validation (\(v)) and test (\(t)) fractions must be ≥ 0 and sum to less than 1")
            }
        }
        switch method {
        case .leaveLastOut, .temporalRatio:
            let missing = try store.connection.scalarInt("SELECT count(*) FROM interactions WHERE ts IS NULL") ?? 0
            if missing > 0 {
                throw StoreError.invalidSplit("\(missing) interactions have no timestamp, so a time-ordered split is impossible; use random-ratio, or the given split of LightGCN files")
            }
            if case let .temporalRatio(v, t) = method { try fractions(v, t) }
        case let .randomRatio(v, t, _): try fractions(v, t)
        case let .validationFrom(_, f, _):
            guard f > 0, f < 1 else { throw StoreError.invalidSplit("validation fraction \(f) must be in (0, 1)") }
        }
    }

    /// The parts for one user's interactions, given in time order (and their source parts).
    func assignParts(_ source: [SplitPart], user: Int, method: SplitMethod) -> [SplitPart] {
        let n = source.count
        switch method {
        case .leaveLastOut:
            var parts = [SplitPart](repeating: .train, count: n)
            if n >= 2 { parts[n - 1] = .test }
            if n >= 3 { parts[n - 2] = .validation }
            return parts
        case let .temporalRatio(v, t):
            return ratioParts(n: n, validation: v, test: t)
        case let .randomRatio(v, t, seed):
            var order = Array(0..<n)
            var rng = SplitMix64.derived(seed: seed, stream: UInt64(user))
            order.shuffle(using: &rng)
            let ranked = ratioParts(n: n, validation: v, test: t)
            var parts = [SplitPart](repeating: .train, count: n)
            for (rank, index) in order.enumerated() { parts[index] = ranked[rank] }
            return parts
        case let .validationFrom(_, fraction, seed):
            var parts = source
            var train = source.indices.filter { source[$0] == .train }
            let move = min(Int((Double(train.count) * fraction).rounded()), max(train.count - 1, 0))
            var rng = SplitMix64.derived(seed: seed, stream: UInt64(user))
            train.shuffle(using: &rng)
            for index in train.prefix(move) { parts[index] = .validation }
            return parts
        }
    }

    /// Train first, then validation, then test, in the given order; train keeps at least one.
    private func ratioParts(n: Int, validation: Double, test: Double) -> [SplitPart] {
        var nTest = Int((Double(n) * test).rounded())
        var nValidation = Int((Double(n) * validation).rounded())
        nTest = min(nTest, max(n - 1, 0))
        nValidation = min(nValidation, max(n - 1 - nTest, 0))
        let nTrain = n - nTest - nValidation
        return [SplitPart](repeating: .train, count: nTrain)
            + [SplitPart](repeating: .validation, count: nValidation)
            + [SplitPart](repeating: .test, count: nTest)
    }
}
