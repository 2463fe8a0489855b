import Ingestion
import Store
import Testing

struct LightGCNFormatTests {
    func writeSmall(_ w: Workspace, train: String = "0 5 6 7\n1 6\n2 7 8\n", test: String = "0 8\n1 5 7\n2 5\n") -> String {
        w.write("lg/train.txt", train)
        w.write("lg/test.txt", test)
        return w.path("lg")
    }

    @Test func readsUsersItemsAndTheGivenSplit() throws {
        let w = Workspace()
        let report = try w.ingest(.lightgcn, writeSmall(w))
        #expect(report.newUsers == 3 && report.newItems == 4 && report.newInteractions == 10)
        let stats = try StoreStatistics(store: w.store())
        #expect(stats.splits["given"] == ["train": 6, "test": 4])
    }

    @Test func reingestingTheSameFilesChangesNothing() throws {
        let w = Workspace()
        let input = writeSmall(w)
        _ = try w.ingest(.lightgcn, input)
        // The split as if made long ago: a re-ingest in a later second must not re-date it.
        try w.store().connection.execute("UPDATE splits SET created_at = '2000-01-01T00:00:00Z'")
        let before = try w.snapshot()
        let again = try w.ingest(.lightgcn, input)
        #expect(again.newInteractions == 0 && again.newUsers == 0 && again.newItems == 0)
        #expect(try w.snapshot() == before)
    }

    @Test func aMalformedLineIsNamedAndTheStoreIsLeftAsItWas() throws {
        let w = Workspace()
        _ = try w.ingest(.lightgcn, writeSmall(w))
        let before = try w.snapshot()
        let bad = Workspace()
        bad.write("lg/train.txt", "3 1 2\n4 9 x7 3\n")
        bad.write("lg/test.txt", "3 4\n")
        #expect {
            _ = try Ingestor(store: try w.store()).ingest(format: .lightgcn, input: bad.path("lg"))
        } throws: { error in
            guard case .malformed(let m)? = error as? IngestError else { return false }
            return m.file.hasSuffix("lg/train.txt") && m.line == 2 && m.field == "item" && m.value == "x7"
        }
        #expect(try w.snapshot() == before, "a failed ingest must leave the store exactly as it was")
    }

    @Test func skipModeSkipsWholeLinesAndCountsThemByReason() throws {
        let w = Workspace()
        let input = writeSmall(w, train: "0 5 6\n1 -3 6\nabc 5\n2 7\n", test: "0 7\n")
        let report = try w.ingest(.lightgcn, input, policy: .skip)
        #expect(report.skipped == 2)
        #expect(report.skippedByReason["item: not a non-negative integer id"] == 1)
        #expect(report.skippedByReason["user: not a non-negative integer id"] == 1)
        #expect(report.newInteractions == 4, "no interaction of a skipped line is stored")
        #expect(report.skippedExamples.first?.contains("train.txt:2") == true)
    }

    @Test func aMissingFileIsNamed() throws {
        let w = Workspace()
        w.write("lg/train.txt", "0 1\n")
        #expect { _ = try w.ingest(.lightgcn, w.path("lg")) } throws: { error in
            guard case .missingFile(let path, _)? = error as? IngestError else { return false }
            return path.hasSuffix("test.txt")
        }
    }
}
