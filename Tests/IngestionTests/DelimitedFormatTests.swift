import Ingestion
import Store
import Testing

struct DelimitedFormatTests {
    @Test func readsHeaderColumnsQuotesAndISOTimestamps() throws {
        let w = Workspace()
        let file = w.write("events.csv", #"""
            ts,who,what,score
            2024-03-01T10:00:00Z,"smith, john",book-1,4.5
            1709287200,"say ""hi""",book-2,1
            2024-03-01 12:30:00+02:00,alice,book-1,
            """#)
        var options = DelimitedOptions()
        options.user = .name("who"); options.item = .name("what")
        options.timestamp = .name("ts"); options.weight = .name("score")
        let report = try w.ingest(.csv, file, policy: .skip, options: options)
        // The last line has an empty score: a malformed weight, skipped.
        #expect(report.newInteractions == 2 && report.skipped == 1)
        let store = try w.store()
        #expect(try store.denseID(of: .user, raw: "smith, john") != nil)
        #expect(try store.denseID(of: .user, raw: "say \"hi\"") != nil)
        #expect(try store.connection.scalarInt("SELECT min(ts) FROM interactions") == 1_709_287_200)
    }

    @Test func positionalColumnsWithoutAHeaderAndATabDelimiter() throws {
        let w = Workspace()
        let file = w.write("events.tsv", "7\tA\t100\n8\tB\t200\r\n8\tA\t300")
        var options = DelimitedOptions()
        options.header = false
        options.user = .position(1); options.item = .position(2); options.timestamp = .position(3)
        let report = try w.ingest(.csv, file, options: options)
        #expect(report.newInteractions == 3 && report.newUsers == 2)
        #expect(try w.store().connection.scalarInt("SELECT max(ts) FROM interactions") == 300)
    }

    @Test func aTimestampColumnInTheHeaderIsPickedUpByName() throws {
        let w = Workspace()
        let file = w.write("events.csv", "user,item,timestamp\nu1,i1,50\n")
        _ = try w.ingest(.csv, file)
        #expect(try w.store().connection.scalarInt("SELECT ts FROM interactions") == 50)
    }

    @Test func anUnknownColumnNameIsReportedWithTheHeader() throws {
        let w = Workspace()
        let file = w.write("events.csv", "a,b\n1,2\n")
        #expect { _ = try w.ingest(.csv, file) } throws: { error in
            guard case .badOption(let m)? = error as? IngestError else { return false }
            return m.contains("no column named 'user'") && m.contains("header: a, b")
        }
    }

    @Test func featureFilesDeclareKindsInTheHeader() throws {
        let w = Workspace()
        w.write("d/interactions.csv", "user,item\nu1,i1\nu2,i2\n")
        w.write("d/users.csv", "user,segment,age:numeric\nu1,s1,30\nu2,,41.5\n")
        w.write("d/items.csv", "item,tags:multihot\ni1,a|b|c\ni2,\ni3,b\n")
        let report = try w.ingest(.csv, w.path("d"))
        #expect(report.newItems == 3, "an item with features but no interactions is a cold-start item, kept")
        let stats = try StoreStatistics(store: w.store())
        #expect(stats.features["user"] == ["segment": "categorical", "age": "numeric"])
        #expect(stats.features["item"] == ["tags": "multihot"])
        let c = try w.store().connection
        #expect(try c.scalarInt("SELECT count(*) FROM item_features") == 4)
        #expect(try c.scalarInt("SELECT count(*) FROM user_features") == 3)
    }

    /// The first feature load builds the token index once at the end (`InteractionStore.bulkLoad`);
    /// a load that fails rolls back to a store that still has it; later loads keep it current.
    @Test func theTokenIndexIsThereAfterABulkLoadAFailedOneAndAnIncrementalOne() throws {
        func tokenIndexPlan(_ store: InteractionStore) throws -> String {
            var plan = ""
            try store.connection.cached("EXPLAIN QUERY PLAN SELECT entity FROM item_features WHERE token = ?")
                .query(.integer(1)) { plan += $0.string(3) }
            return plan
        }
        let w = Workspace()
        w.write("bad/interactions.csv", "user,item\nu1,i1\n")
        w.write("bad/items.csv", "item,price:numeric\ni1,12\ni2,not-a-number\n")
        #expect(throws: IngestError.self) { _ = try w.ingest(.csv, w.path("bad")) }
        #expect(try tokenIndexPlan(w.store()).contains("item_features_token"), "the failed load must not lose the index")
        w.write("d/interactions.csv", "user,item\nu1,i1\nu2,i2\n")
        w.write("d/items.csv", "item,tags:multihot\ni1,a|b\ni2,b\ni3,c\n")
        _ = try w.ingest(.csv, w.path("d"))
        let store = try w.store()
        #expect(try tokenIndexPlan(store).contains("USING COVERING INDEX item_features_token"))
        let b = try #require(try store.tokenID(of: .item, feature: "tags", token: "b"))
        #expect(try store.entities(of: .item, withToken: b).sorted() == [0, 1])
        w.write("more/interactions.csv", "user,item\nu3,i4\n")
        w.write("more/items.csv", "item,tags:multihot\ni4,b\n")
        _ = try w.ingest(.csv, w.path("more"))
        #expect(try store.entities(of: .item, withToken: b).sorted() == [0, 1, 3])
        #expect(try tokenIndexPlan(store).contains("USING COVERING INDEX item_features_token"))
    }

    @Test func aFeatureFileWithABadKindIsRefused() throws {
        let w = Workspace()
        w.write("d/interactions.csv", "user,item\nu1,i1\n")
        w.write("d/users.csv", "user,age:number\nu1,3\n")
        #expect { _ = try w.ingest(.csv, w.path("d")) } throws: { error in
            (error as? IngestError)?.description.contains("unknown kind 'number'") == true
        }
    }

    @Test func aGarbledFileNeverLeavesAHalfWrittenStore() throws {
        let w = Workspace()
        let good = w.write("good.csv", "user,item,timestamp\nu1,i1,1\nu1,i2,2\n")
        _ = try w.ingest(.csv, good)
        let before = try w.snapshot()
        // Valid lines first (they are written), then binary garbage: the whole ingest must roll back.
        var bytes = Array("user,item,timestamp\nu2,i1,3\nu3,i3,4\n".utf8)
        var state: UInt32 = 12345
        for _ in 0..<2000 { state = state &* 1_103_515_245 &+ 12345; bytes.append(UInt8(truncatingIfNeeded: state >> 16)) }
        let garbled = w.write("garbled.csv", bytes: bytes)
        #expect(throws: IngestError.self) { _ = try w.ingest(.csv, garbled) }
        #expect(try w.snapshot() == before)
    }
}
