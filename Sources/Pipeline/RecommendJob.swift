import Foundation
#if canImport(Glibc)
import Glibc
#endif
import LinearAlgebra
import Model
import ModelStore
import Store
import VectorIndex

/// `twotower recommend`: top-K for many users at once through the model and the index, each
/// user answered as the daemon would answer them now (the user tower on their current features
/// and latest history from the store, their seen items left out), written as rows
/// `user,rank,item,score` (CSV, or JSON lines). This is the nightly "precompute everyone's
/// recommendations" job; with `shard`, one executor's part of it. `index` is one index or a
/// shard set's manifest (`ShardSet`): then each user's top k is the merge of every shard's.
public struct RecommendJob {
    public enum Users: Sendable {
        /// Every user of the store.
        case all
        /// Raw ids, one per line, from a file.
        case file(String)
    }

    public enum Output: String, Sendable, CaseIterable {
        case csv, jsonl
    }

    public var store: String
    public var model: String
    public var index: String
    public var users: Users = .all
    /// Only the users whose raw id falls in this shard.
    public var shard: Shard?
    public var k = 10
    /// nil: the index's calibrated setting.
    public var nprobe: Int?
    public var rerankFactor: Int?
    public var excludeSeen = true
    public var format = Output.csv
    /// The file to write (replaced atomically when complete), or "-" for standard output.
    public var out: String
    public var threads = ProcessInfo.processInfo.activeProcessorCount

    public init(store: String, model: String, index: String, out: String) {
        self.store = store
        self.model = model
        self.index = index
        self.out = out
    }

    public struct Summary: Encodable, Sendable {
        public var users = 0
        public var rows = 0
        /// Users the model cannot embed (no history, no features, newer than an id-only model).
        public var cold = 0
        /// Raw ids from the users file the store does not have.
        public var unknown = 0
        public var seconds = 0.0
        /// The setting searched (the largest over a shard set's shards).
        public var nprobe = 0
        public var rerankFactor = 0
        /// Index shards searched for each user (1 for one index).
        public var shards = 1
    }

    public func run(progress: ((String) -> Void)? = nil) throws -> Summary {
        let started = Date()
        guard k >= 1 else { throw JobError("--k must be at least 1, not \(k)") }
        let paths = ShardSet.isManifest(index) ? try ShardSet.load(index).indexPaths : [index]
        let indexes = try paths.map { try IVFIndex(path: $0) }
        let (model, _) = try Checkpoint.load(from: model)
        for (path, opened) in zip(paths, indexes) where model.dimension != opened.dimension {
            throw JobError("the model's embeddings have \(model.dimension) dimensions but the index \(path) holds \(opened.dimension)")
        }
        let main = try InteractionStore(path: store, create: false)
        var itemNames: [String?] = []
        try main.forEachEntity(of: .item) { dense, raw in
            while itemNames.count < dense { itemNames.append(nil) }
            itemNames.append(raw)
        }
        var summary = Summary()
        var wanted: [(dense: Int, raw: String)] = []
        switch users {
        case .all:
            try main.forEachEntity(of: .user) { dense, raw in wanted.append((dense, raw)) }
        case .file(let path):
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw JobError("\(path): cannot read the file") }
            for line in text.split(whereSeparator: \.isNewline) {
                let raw = line.trimmingCharacters(in: .whitespaces)
                guard !raw.isEmpty else { continue }
                if let dense = try main.denseID(of: .user, raw: raw) { wanted.append((dense, raw)) } else { summary.unknown += 1 }
            }
        }
        if let shard { wanted = wanted.filter { shard.contains($0.raw) } }

        // Each shard at its own calibrated setting unless one is given.
        let settings = indexes.map { opened in
            var parameters = SearchParameters(k: k, nprobe: min(nprobe ?? opened.metadata.defaultNprobe, opened.metadata.nlist))
            parameters.rerankFactor = rerankFactor ?? opened.metadata.defaultRerankFactor
            return parameters
        }
        summary.nprobe = settings.map(\.nprobe).max() ?? 0
        summary.rerankFactor = settings.map(\.rerankFactor).max() ?? 0
        summary.shards = indexes.count
        let writer = try OutputFile(path: out)
        if format == .csv { writer.write("user,rank,item,score\n") }
        let parts = max(threads, 1)
        let stores = try (0..<parts).map { _ in try InteractionStore(path: store, create: false, cacheMiB: 32) }
        let names = itemNames, format = self.format, excludeSeen = self.excludeSeen, topK = self.k
        let block = 4_096
        for blockStart in stride(from: 0, to: wanted.count, by: block) {
            let users = Array(wanted[blockStart..<min(blockStart + block, wanted.count)])
            // Each part a contiguous range of the block on its own connection; parts joined in
            // order, so the output does not depend on scheduling.
            let results = try Parallel.map(parts: parts) { t -> (text: String, rows: Int, cold: Int) in
                let store = stores[t]
                var text = "", rows = 0, cold = 0
                for (dense, raw) in users[Parallel.range(t, of: parts, count: users.count)] {
                    let vector: [Float]
                    do { vector = try OnlineInputs.userVector(store: store, model: model, dense: dense) } catch is ColdEntityError {
                        cold += 1
                        continue
                    }
                    let seen: Set<Int64> = excludeSeen ? Set(try store.interactedItems(of: dense).map(Int64.init)) : []
                    let answers = try zip(indexes, settings).map { opened, setting in
                        var p = setting
                        p.exclude = seen
                        return try opened.search(vector, parameters: p)
                    }
                    var rank = 0
                    for n in answers.count == 1 ? answers[0] : mergeNeighbors(answers, k: topK) {
                        guard n.id >= 0, Int(n.id) < names.count, let item = names[Int(n.id)] else { continue }
                        rank += 1
                        text += Self.line(user: raw, rank: rank, item: item, score: n.score, format: format)
                    }
                    rows += rank
                }
                return (text, rows, cold)
            }
            for r in results {
                writer.write(r.text)
                summary.rows += r.rows
                summary.cold += r.cold
            }
            summary.users += users.count
            progress?("recommend: \(Format.count(blockStart + users.count)) / \(Format.count(wanted.count)) users")
        }
        try writer.finish()
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

    static func line(user: String, rank: Int, item: String, score: Float, format: Output) -> String {
        switch format {
        case .csv:
            return "\(csvField(user)),\(rank),\(csvField(item)),\(score)\n"
        case .jsonl:
            return "{\"user\":\(jsonString(user)),\"rank\":\(rank),\"item\":\(jsonString(item)),\"score\":\(score)}\n"
        }
    }

    /// RFC 4180 quoting when the field holds a delimiter, a quote or a line break.
    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func jsonString(_ s: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}

/// A file written beside its destination and renamed over it when complete (a failed run leaves
/// the old file, if any), or standard output for "-".
final class OutputFile {
    private let path: String
    private let handle: FileHandle
    private var buffer = Data()

    init(path: String) throws {
        self.path = path
        if path == "-" {
            handle = FileHandle.standardOutput
        } else {
            let partial = path + ".partial"
            guard FileManager.default.createFile(atPath: partial, contents: nil) else { throw JobError("\(partial): cannot create the file") }
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: partial))
        }
    }

    func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 20 { flush() }
    }

    private func flush() {
        handle.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    func finish() throws {
        flush()
        guard path != "-" else { return }
        try handle.synchronize()
        try handle.close()
        guard rename(path + ".partial", path) == 0 else {
            throw JobError("\(path): cannot replace the file (\(String(cString: strerror(errno))))")
        }
    }
}
