import Foundation
import Ingestion
import LinearAlgebra
import Store
import Testing

/// The reference data sets in ../shared/data, when this checkout has them beside it.
enum SharedData {
    static let root: String = {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data").path
    }()

    static func directory(_ name: String) -> String? {
        let path = (root as NSString).appendingPathComponent(name)
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
}

/// Skipped, and reported as skipped, where ../shared/data is absent.
struct SharedDataTests {
    @Test(.enabled(if: SharedData.directory("gowalla") != nil, "../shared/data/gowalla is absent"))
    func gowallaHasTheDocumentedCounts() async throws {
        let gowalla = try #require(SharedData.directory("gowalla"))
        let (users, items, interactions, given) = try await Parallel.onAThreadOfItsOwn {
            let w = Workspace()
            _ = try w.ingest(.lightgcn, gowalla)
            let stats = try StoreStatistics(store: w.store())
            return (stats.users, stats.items, stats.interactions, stats.splits["given"])
        }
        #expect(users == 29_858 && items == 40_981)
        #expect(interactions == 810_128 + 217_242)
        #expect(given == ["train": 810_128, "test": 217_242])
    }

    @Test(.enabled(if: SharedData.directory("ml-100k") != nil, "../shared/data/ml-100k is absent"))
    func movieLens100KHasTheDocumentedCounts() async throws {
        let ml = try #require(SharedData.directory("ml-100k"))
        let (users, items, interactions, test, validation, train) = try await Parallel.onAThreadOfItsOwn {
            let w = Workspace()
            _ = try w.ingest(.movielens, ml)
            let store = try w.store()
            let stats = try StoreStatistics(store: store)
            let counts = try Splitter(store: store).split(name: "llo", method: .leaveLastOut)
            return (stats.users, stats.items, stats.interactions, counts[.test], counts[.validation], counts[.train])
        }
        #expect(users == 943 && items == 1_682 && interactions == 100_000)
        // Leave-last-out as in EVAL.md: every ML-100K user has ≥ 20 ratings, so one test and one
        // validation interaction each.
        #expect(test == 943 && validation == 943 && train == 100_000 - 2 * 943)
    }
}
