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
/// recommendations" job; with `shard`, one executor's part of it.
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
        public var nprobe = 0
        public var rerankFactor = 0
    }

    public func run(progress: ((String) -> Void)? = nil) throws -> Summary {
        let started = Date()
        guard k >= 1 else { throw JobError("--k must be at least 1, not \(k)") }
        let opened = try IVFIndex(path: index)
        let (model, _) = try Checkpoint.load(from: model)
        guard model.dimension == opened.dimension else {
            throw JobError("the model's embeddings have \(model.dimension) dimensions but the index \(index) holds \(opened.dimension)")
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

        var parameters = SearchParameters(k: k, nprobe: min(nprobe ?? opened.metadata.defaultNprobe, opened.metadata.nlist))
        parameters.rerankFactor = rerankFactor ?? opened.metadata.defaultRerankFactor
        summary.nprobe = parameters.nprobe
        summary.rerankFactor = parameters.rerankFactor
        let writer = try OutputFile(path: out)
        if format == .csv { writer.write("user,rank,item,score\n") }
        let parts = max(threads, 1)
        let stores = try (0..<parts).map { _ in try InteractionStore(path: store, create: false, cacheMiB: 32) }
        let names = itemNames, format = self.format, excludeSeen = self.excludeSeen, search = parameters
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
                    var p = search
                    if excludeSeen { p.exclude = Set(try store.interactedItems(of: dense).map(Int64.init)) }
                    var rank = 0
                    for n in try opened.search(vector, parameters: p) {
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
