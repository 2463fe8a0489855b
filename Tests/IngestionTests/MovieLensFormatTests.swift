import Ingestion
import SQLite
import Store
import Testing

struct MovieLensFormatTests {
    /// Two users, three movies; movie 2's title is Latin-1 ("Café" with 0xE9).
    func writeSmall(_ w: Workspace, data: String? = nil) -> String {
        w.write("ml/u.data", data ?? "1\t1\t5\t881250949\n1\t2\t3\t881250950\n2\t3\t4\t881250951\n2\t1\t2\t881250952\n")
        w.write("ml/u.user", "1|24|M|technician|85711\n2|53|F|other|94043\n")
        let flags = { (on: [Int]) in (0..<19).map { on.contains($0) ? "1" : "0" }.joined(separator: "|") }
        var item: [UInt8] = Array("1|Toy Story (1995)|01-Jan-1995||http://x|\(flags([3, 4, 5]))\n".utf8)
        item += Array("2|Caf".utf8) + [0xE9] + Array(" (1996)|01-Jan-1996||http://y|\(flags([8]))\n".utf8)
        item += Array("3|unknown||||\(flags([0]))\n".utf8)
        w.write("ml/u.item", bytes: item)
        w.write("ml/u.genre", "unknown|0\nAction|1\nAdventure|2\nAnimation|3\nChildren's|4\nComedy|5\nCrime|6\nDocumentary|7\nDrama|8\nFantasy|9\nFilm-Noir|10\nHorror|11\nMusical|12\nMystery|13\nRomance|14\nSci-Fi|15\nThriller|16\nWar|17\nWestern|18\n\n")
        return w.path("ml")
    }

    @Test func readsRatingsTimestampsAndFeatures() throws {
        let w = Workspace()
        let report = try w.ingest(.movielens, writeSmall(w))
        #expect(report.newUsers == 2 && report.newItems == 3 && report.newInteractions == 4)
        let store = try w.store()
        let stats = try StoreStatistics(store: store)
        #expect(stats.features["user"] == ["age": "numeric", "gender": "categorical", "occupation": "categorical", "zip": "categorical"])
        #expect(stats.features["item"] == ["genres": "multihot", "year": "numeric"])
        let c = store.connection
        #expect(try c.scalarInt("SELECT ts FROM interactions WHERE weight = 2") == 881250952)
        var genres: [String] = []
        try c.prepare("""
            SELECT t.token FROM item_features f JOIN feature_tokens t ON t.id = f.token JOIN items i ON i.id = f.entity
            WHERE i.raw_id = '1' ORDER BY t.token
            """).query { genres.append($0.string(0)) }
        #expect(genres == ["Animation", "Children's", "Comedy"])
        #expect(try c.scalarInt("SELECT count(*) FROM item_features f JOIN items i ON i.id = f.entity WHERE i.raw_id = '3' AND f.token = 0") == 0,
                "an empty release date stores no year")
    }

    @Test func aLatin1TitleIsDecodedNotDropped() throws {
        let w = Workspace()
        _ = try w.ingest(.movielens, writeSmall(w))
        let statement = try w.store().connection.prepare("SELECT label FROM items WHERE raw_id = '2'")
        #expect(try statement.step())
        #expect(statement.string(0) == "Café (1996)")
    }

    @Test func aTruncatedFileFailsWithItsLineAndLeavesAnEmptyStoreEmpty() throws {
        let w = Workspace()
        let input = writeSmall(w, data: "1\t1\t5\t881250949\n1\t2\t3\t881250950\n2\t3\t4")
        #expect {
            _ = try w.ingest(.movielens, input)
        } throws: { error in
            guard case .malformed(let m)? = error as? IngestError else { return false }
            return m.file.hasSuffix("u.data") && m.line == 3 && m.reason.contains("truncated")
        }
        let store = try w.store()
        #expect(try store.count("interactions") == 0 && store.count("users") == 0 && store.count("items") == 0)
    }

    @Test func aBadRatingNamesFieldAndValue() throws {
        let w = Workspace()
        let input = writeSmall(w, data: "1\t1\tfive\t881250949\n")
        #expect {
            _ = try w.ingest(.movielens, input)
        } throws: { error in
            (error as? IngestError)?.description.hasSuffix("u.data:1: field 'rating' has value \"five\": not a finite decimal number") == true
        }
    }
}
