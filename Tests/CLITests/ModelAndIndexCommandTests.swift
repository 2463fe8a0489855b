import Foundation
import Store
import Testing

/// train → embed → build-index → search by user → ann-eval end to end, through the real binary.
struct ModelAndIndexCommandTests {
    @Test func theModelBackedCommandsWorkTogether() async throws {
        let dir = Scratch()
        let run = { (args: [String]) in try await Tool.succeed(args) }
        try await Tool.smallStore(in: dir)
        _ = try await run(["split", "--store", dir.file("s.sqlite"), "--method", "leave-last-out"])
        try Data(#"{"epochs": 3, "batch_size": 256, "embedding_dimension": 16}"#.utf8).write(to: URL(fileURLWithPath: dir.file("train.json")))
        let train = try await run(["train", "--store", dir.file("s.sqlite"), "--config", dir.file("train.json"), "--out", dir.file("model")])
        #expect(train.stdout.contains("epoch   3") && train.stdout.contains("val recall@20"))
        let evaluate = try await run(["evaluate", "--store", dir.file("s.sqlite"), "--model", dir.file("model"), "--json"])
        let metrics = try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as? [String: Any]
        #expect(metrics?["users"] as? Int == 300 && metrics?["recall@20"] is Double)
        _ = try await run(["embed", "--model", dir.file("model"), "--items", "--out", dir.file("items.npy")])
        _ = try await run(["embed", "--model", dir.file("model"), "--users", "--out", dir.file("users.npy")])
        _ = try await run(["build-index", "--vectors", dir.file("items.npy"), "--nlist", "8", "--out", dir.file("index")])

        // By user: raw item ids back, none of the user's training items.
        let search = try await run(["search", "--index", dir.file("index"), "--user", "u0", "--model", dir.file("model"),
                              "--store", dir.file("s.sqlite"), "--k", "5", "--nprobe", "8", "--json"])
        let found = try JSONSerialization.jsonObject(with: Data(search.stdout.utf8)) as? [[String: Any]]
        #expect(found?.count == 5)
        #expect(found?.allSatisfy { ($0["id"] as? String)?.hasPrefix("i") == true } == true)
        let history = try String(contentsOfFile: dir.file("data/interactions.csv"), encoding: .utf8)
            .split(separator: "\n").filter { $0.hasPrefix("u0,") }.map { String($0.split(separator: ",")[1]) }
        let returned = Set(found?.compactMap { $0["id"] as? String } ?? [])
        #expect(returned.intersection(history.dropLast(2)).isEmpty, "training items must be excluded")

        // Items by raw id with a store (as over HTTP), by index id (row number) with --item-row.
        let byItem = try await run(["search", "--index", dir.file("index"), "--item", "i3", "--store", dir.file("s.sqlite"), "--k", "5", "--json"])
        let neighbours = try JSONSerialization.jsonObject(with: Data(byItem.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(neighbours.count == 5 && neighbours.allSatisfy { ($0["id"] as? String)?.hasPrefix("i") == true && $0["id"] as? String != "i3" })
        let i3 = try #require(try InteractionStore(path: dir.file("s.sqlite"), create: false).denseID(of: .item, raw: "i3"))
        let byRow = try await run(["search", "--index", dir.file("index"), "--item-row", "\(i3)", "--k", "5", "--json"])
        let rows = try JSONSerialization.jsonObject(with: Data(byRow.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(rows.map { $0["score"] as? Double } == neighbours.map { $0["score"] as? Double }, "the same neighbours, named by index id")
        #expect(rows.allSatisfy { Int($0["id"] as? String ?? "") != nil })
        let noStore = try await Tool.run(["search", "--index", dir.file("index"), "--item", "i3"])
        #expect(noStore.status == 64 && noStore.stderr.contains("--item-row"))
        // k answers whenever k items exist, even at nprobe 1.
        let wide = try await run(["search", "--index", dir.file("index"), "--item-row", "0", "--k", "199", "--nprobe", "1", "--json"])
        #expect((try JSONSerialization.jsonObject(with: Data(wide.stdout.utf8)) as? [Any])?.count == 199)

        // End to end: probing every list, the index ranks exactly like full scoring.
        let eval = try await run(["ann-eval", "--index", dir.file("index"), "--queries", dir.file("users.npy"), "--nprobe", "1,8",
                            "--min-seconds", "0.05", "--store", dir.file("s.sqlite"), "--model", dir.file("model"), "--json"])
        let points = try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [[String: Any]]
        #expect(points?.count == 2)
        let full = points?.last
        #expect(full?["recall@10"] as? Double == 1)
        let e2e = full?["e2e_recall@20"] as? Double, exact = full?["exact_recall@20"] as? Double
        #expect(e2e != nil && exact != nil && abs(e2e! - exact!) < 1e-9)

        // The report: every chart present, the run's epochs and configuration included.
        _ = try await run(["report", "--store", dir.file("s.sqlite"), "--model", dir.file("model"), "--index", dir.file("index"),
                     "--nprobe", "1,2,8", "--queries", "100", "--out", dir.file("report.html")])
        let html = try String(contentsOfFile: dir.file("report.html"), encoding: .utf8)
        #expect(html.components(separatedBy: "<svg").count - 1 == 7)
        for title in ["Training loss by epoch", "Validation Recall@20 by epoch", "ANN recall@10 against queries/s", "Recall@K on the test split",
                      "Interactions per user", "Interactions per item", "embedding_dimension"] {
            #expect(html.contains(title), "report lacks \(title)")
        }
        #expect(html.components(separatedBy: "<circle").count - 1 >= 3 + 3 + 3)  // epochs, nprobe points
    }
}
