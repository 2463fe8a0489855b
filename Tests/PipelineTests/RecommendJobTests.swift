import Foundation
import LinearAlgebra
import Model
import ModelStore
import Pipeline
import Settings
import Store
import TestScratch
import Testing
import VectorIndex

/// `twotower recommend` and `embed --shard` on a real store, model and index.
@Suite(.serialized) struct RecommendJobTests {
    /// A trained model with a history encoder, its item embeddings and an exact index.
    static func deployment() throws -> (store: String, model: String, index: String, items: String) {
        let store = try PipelineFixture.store()
        var config = TrainingConfig()
        config.embeddingDimension = 8
        config.epochs = 3
        config.batchSize = 64
        config.historyLength = 4
        let model = Scratch.path("recommend-model")
        _ = try TrainingJob(storePath: store, config: config, out: model).run { _ in }
        let items = Scratch.path("recommend-items", suffix: ".npy")
        try EmbedJob.run(model: model, side: .items, out: items)
        var options = IndexBuildOptions()
        options.out = Scratch.path("recommend-index")
        options.targetRecall = 0
        _ = try IndexJobs.build(vectors: items, ids: nil, config: IndexConfig(), options: options)
        return (store, model, options.out!, items)
    }

    static func rows(_ path: String) throws -> [[String]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
    }

    @Test func everyUserGetsKUnseenItemsBestFirstAsAnExactScanRanksThem() throws {
        let d = try Self.deployment()
        let out = Scratch.path("recs", suffix: ".csv")
        var job = RecommendJob(store: d.store, model: d.model, index: d.index, out: out)
        job.k = 5
        let summary = try job.run()
        #expect(summary.users == 60 && summary.rows == 300 && summary.cold == 0)
        let rows = try Self.rows(out)
        #expect(rows.count == 300)
        let store = try InteractionStore(path: d.store, create: false)
        let (model, _) = try Checkpoint.load(from: d.model)
        let items = try VectorFile.readMatrix(d.items)
        for user in ["u0", "u13", "u59"] {
            let mine = rows.filter { $0[0] == user }
            #expect(mine.map { $0[1] } == ["1", "2", "3", "4", "5"])
            let dense = try #require(try store.denseID(of: .user, raw: user))
            let seen = Set(try store.interactedItems(of: dense))
            // The exact answer by brute force: every unseen item scored against the user vector.
            let v = try OnlineInputs.userVector(store: store, model: model, dense: dense)
            let best = (0..<items.rows).filter { !seen.contains($0) }
                .map { i in (i, zip(v, items.row(i)).map(*).reduce(0, +)) }
                .sorted { $0.1 > $1.1 }.prefix(5)
            let names = try best.map { try #require(try store.rawID(of: .item, dense: $0.0)) }
            #expect(mine.map { $0[2] } == names)
            for (row, expected) in zip(mine, best) { #expect(abs(Float(row[3])! - expected.1) < 1e-4) }
        }
    }

    @Test func shardsTogetherAreTheWholeRun() throws {
        let d = try Self.deployment()
        let whole = Scratch.path("whole", suffix: ".csv")
        _ = try RecommendJob(store: d.store, model: d.model, index: d.index, out: whole).run()
        var union: [[String]] = []
        var users = 0
        for i in 0..<3 {
            let part = Scratch.path("part\(i)", suffix: ".csv")
            var job = RecommendJob(store: d.store, model: d.model, index: d.index, out: part)
            job.shard = try Shard(index: i, count: 3)
            users += try job.run().users
            union += try Self.rows(part)
        }
        #expect(users == 60)
        let key: ([String]) -> String = { $0.joined(separator: ",") }
        #expect(Set(union.map(key)) == Set(try Self.rows(whole).map(key)))
        #expect(union.count == (try Self.rows(whole)).count)
    }

    @Test func aUsersFileJSONLinesAndUnknownIds() throws {
        let d = try Self.deployment()
        let list = Scratch.path("users", suffix: ".txt")
        try "u3\nnobody\n\nu4\n".write(toFile: list, atomically: true, encoding: .utf8)
        let out = Scratch.path("recs", suffix: ".jsonl")
        var job = RecommendJob(store: d.store, model: d.model, index: d.index, out: out)
        job.users = .file(list)
        job.format = .jsonl
        job.k = 3
        let summary = try job.run()
        #expect(summary.users == 2 && summary.unknown == 1 && summary.rows == 6)
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["user"] as? String == "u3" && first["rank"] as? Int == 1 && first["item"] is String && first["score"] is Double)
        #expect(!FileManager.default.fileExists(atPath: out + ".partial"))
    }

    @Test func shardsAreWrittenAsIAndSAndAgreeEverywhere() throws {
        #expect(Shard.hash("a") == 0xaf63_dc4c_8601_ec8c, "FNV-1a 64 of \"a\"")
        #expect(try Shard(parsing: "2/4") == Shard(index: 2, count: 4))
        for bad in ["4/4", "-1/4", "1/0", "1", "a/b", "1/2/3"] {
            #expect(throws: JobError.self) { _ = try Shard(parsing: bad) }
        }
        let ids = (0..<1_000).map { "item-\($0)" }
        let counts = (0..<4).map { i in ids.filter { try! Shard(index: i, count: 4).contains($0) }.count }
        #expect(counts.reduce(0, +) == 1_000 && counts.allSatisfy { $0 > 180 })
    }

    @Test func anItemShardHoldsItsRowsWithTheirDenseIds() throws {
        let d = try Self.deployment()
        let all = try VectorFile.readMatrix(d.items)
        let store = try InteractionStore(path: d.store, create: false)
        var seen: [Int64] = []
        for i in 0..<2 {
            let (vectors, idsPath) = (Scratch.path("shard-v", suffix: ".npy"), Scratch.path("shard-i", suffix: ".npy"))
            try EmbedJob.run(model: d.model, side: .items, out: vectors, shard: try Shard(index: i, count: 2), ids: idsPath)
            let m = try VectorFile.readMatrix(vectors), ids = try VectorFile.readIDs(idsPath)
            #expect(m.rows == ids.count)
            for (r, id) in ids.enumerated() {
                #expect(Array(m.row(r)) == Array(all.row(Int(id))))
                #expect(try Shard(index: i, count: 2).contains(try #require(try store.rawID(of: .item, dense: Int(id)))))
            }
            seen += ids
        }
        #expect(seen.sorted() == (0..<Int64(all.rows)).map { $0 })
        #expect(throws: JobError.self) { try EmbedJob.run(model: d.model, side: .items, out: Scratch.path("x", suffix: ".npy"), shard: try Shard(index: 0, count: 2)) }
    }
}
