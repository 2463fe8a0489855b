import Settings
import Foundation
import Ingestion
import Store
import Synthetic
import Testing

final class OutputDirectory {
    let path = NSTemporaryDirectory() + "synth-tests-" + UUID().uuidString
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func sub(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
}

func smallSpec(seed: UInt64 = 42) -> SyntheticSpec {
    var spec = SyntheticSpec()
    spec.users = 400
    spec.items = 300
    spec.clusters = 10
    spec.meanInteractionsPerUser = 20
    spec.seed = seed
    return spec
}

func contents(_ directory: String) throws -> [String: Data] {
    var out: [String: Data] = [:]
    for name in ["interactions.csv", "users.csv", "items.csv"] {
        out[name] = try Data(contentsOf: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(name)))
    }
    return out
}

struct SyntheticGeneratorTests {
    @Test func theSameSeedGivesByteIdenticalFilesAndAnotherSeedDoesNot() throws {
        let out = OutputDirectory()
        _ = try SyntheticGenerator(spec: smallSpec()).generate(into: out.sub("a"))
        _ = try SyntheticGenerator(spec: smallSpec()).generate(into: out.sub("b"))
        _ = try SyntheticGenerator(spec: smallSpec(seed: 43)).generate(into: out.sub("c"))
        let a = try contents(out.sub("a"))
        #expect(a == (try contents(out.sub("b"))))
        #expect(a["interactions.csv"] != (try contents(out.sub("c")))["interactions.csv"])
        #expect(!FileManager.default.fileExists(atPath: out.sub("a/interactions.csv.partial")))
    }

    @Test func theFilesIngestAndTheClustersShowInTheData() throws {
        let out = OutputDirectory()
        let summary = try SyntheticGenerator(spec: smallSpec()).generate(into: out.sub("data"))
        let store = try InteractionStore(path: out.sub("store.sqlite"))
        let report = try Ingestor(store: store).ingest(format: .csv, input: out.sub("data"))
        #expect(report.newInteractions == summary.interactions)
        #expect(report.newUsers == 400 && report.newItems == 300)
        #expect(try store.connection.scalarInt("SELECT count(*) FROM interactions WHERE ts IS NULL") == 0)
        // Planted structure, seen only through the published files: the user's segment and the
        // item's category are noisy views of their clusters, so they agree far more often than
        // the 1-in-10 of unrelated labels.
        let agree = try store.connection.scalarInt("""
            SELECT avg(substr(ut.token, 2) = substr(it.token, 2)) * 1000 FROM interactions i
            JOIN user_features uf ON uf.entity = i.user JOIN features fu ON fu.id = uf.feature AND fu.name = 'segment'
            JOIN feature_tokens ut ON ut.id = uf.token
            JOIN item_features itf ON itf.entity = i.item JOIN features fi ON fi.id = itf.feature AND fi.name = 'category'
            JOIN feature_tokens it ON it.id = itf.token
            """) ?? 0
        #expect(agree > 250, "segment/category agreement \(agree)‰ should be well above the 100‰ of chance")
        #expect(summary.primaryClusterShare > 0.4)
        // Zipf-like popularity: the top 10% of items take a clearly outsized share.
        var counts: [Int] = []
        try store.connection.prepare("SELECT count(*) AS c FROM interactions GROUP BY item ORDER BY c DESC").query { counts.append($0.int(0)) }
        let top = counts.prefix(30).reduce(0, +)
        #expect(Double(top) / Double(summary.interactions) > 0.2)
    }

    @Test func anInvalidSpecNamesTheField() {
        var spec = smallSpec()
        spec.clusters = 1
        #expect { try spec.validate() } throws: { error in
            "\(error)".contains("clusters = 1")
        }
    }

    @Test func missingKeysInASpecFileTakeDefaults() throws {
        let spec = try ConfigLoader.decode(SyntheticSpec.self, from: Data(#"{"users": 7, "seed": 9, "mean_gap_seconds": 60}"#.utf8))
        #expect(spec.users == 7 && spec.seed == 9 && spec.meanGapSeconds == 60 && spec.items == SyntheticSpec().items)
        #expect(throws: (any Error).self) { try ConfigLoader.decode(SyntheticSpec.self, from: Data(#"{"userz": 7}"#.utf8)) }
    }
}
