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

    @Test func aPublishedShardSetAnswersAsTheWholeIndexAndIsCheckedBeforeItIsWritten() throws {
        let d = try Self.deployment()
        let setDirectory = Scratch.path("shard-set")
        var versions: [String] = []
        for i in 0..<3 {
            let (vectors, ids) = (Scratch.path("set-v\(i)", suffix: ".npy"), Scratch.path("set-i\(i)", suffix: ".npy"))
            // The store given explicitly, as a Spark executor in another directory gives it.
            try EmbedJob.run(model: d.model, side: .items, out: vectors, shard: try Shard(index: i, count: 3), ids: ids, store: d.store)
            var options = IndexBuildOptions()
            options.out = setDirectory + "/shards/\(i)"
            options.targetRecall = 0
            _ = try IndexJobs.build(vectors: vectors, ids: ids, config: IndexConfig(), options: options)
            versions.append(options.out!)
        }
        let manifest = setDirectory + "/shard-set.json"
        let set = try ShardSet.publish(versions: versions, to: manifest)
        #expect(set.shards.map(\.shard) == ["0/3", "1/3", "2/3"])
        #expect(set.shards.allSatisfy { $0.index.hasPrefix("shards/") && $0.index.contains("/versions/") })
        #expect(set.shards.reduce(0) { $0 + $1.items } == (try VectorFile.readMatrix(d.items)).rows)
        #expect(!FileManager.default.fileExists(atPath: manifest + ".partial"))

        // Each user's top k merged over the shards is the whole (exact) index's top k.
        let (whole, merged) = (Scratch.path("whole", suffix: ".csv"), Scratch.path("merged", suffix: ".csv"))
        _ = try RecommendJob(store: d.store, model: d.model, index: d.index, out: whole).run()
        var job = RecommendJob(store: d.store, model: d.model, index: manifest, out: merged)
        job.threads = 1
        let summary = try job.run()
        #expect(summary.shards == 3 && summary.users == 60)
        let a = try Self.rows(whole), b = try Self.rows(merged)
        #expect(a.count == b.count)
        for (x, y) in zip(a, b) {
            #expect(x[0] == y[0] && x[1] == y[1])
            #expect(abs(Float(x[3])! - Float(y[3])!) < 1e-5)
            if x[2] != y[2] { #expect(abs(Float(x[3])! - Float(y[3])!) < 1e-6, "a different item only where scores tie") }
        }

        // A shard of another dimension or a missing one: refused, and the published manifest kept.
        let before = try String(contentsOfFile: manifest, encoding: .utf8)
        let other = Scratch.path("other-v", suffix: ".npy")
        try VectorFile.writeNPY(Matrix(rows: 3, cols: 4, values: (0..<12).map(Float.init)), to: other)
        var options = IndexBuildOptions()
        options.out = Scratch.path("other-index")
        options.targetRecall = 0
        _ = try IndexJobs.build(vectors: other, ids: nil, config: IndexConfig(), options: options)
        #expect(throws: JobError.self) { try ShardSet.publish(versions: [versions[0], options.out!], to: manifest) }
        #expect(throws: JobError.self) { try ShardSet.publish(versions: [versions[0], Scratch.path("absent")], to: manifest) }
        #expect(try String(contentsOfFile: manifest, encoding: .utf8) == before)
        #expect(try ShardSet.load(manifest).indexPaths.count == 3)
    }
}
