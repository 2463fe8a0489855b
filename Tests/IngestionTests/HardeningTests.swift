import Foundation
import Ingestion
import Store
import Synchronization
import Testing

/// Inputs a fault probe found accepted wrongly or crashing: each is refused by name (file, line,
/// field, value), skipped under `--on-error skip`, or warned about.
struct HardeningTests {
    func failure(_ w: Workspace, _ file: String, _ options: DelimitedOptions = DelimitedOptions()) -> String? {
        do {
            _ = try w.ingest(.csv, file, options: options)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test(arguments: ["1e20", "-1e20", "1e300", "99999999999999999999", "9223372036854775807", "-9223372036854775808", "4611686018427387904"])
    func aTimestampOutOfRangeIsAnErrorNotACrash(value: String) throws {
        let w = Workspace()
        let file = w.write("t.csv", "user,item,timestamp\nu1,i1,10\nu2,i2,\(value)\n")
        let message = try #require(failure(w, file))
        #expect(message.contains("t.csv:3: field 'timestamp' has value \"\(value)\": out of range"), "\(message)")
        let skipped = try w.ingest(.csv, file, policy: .skip)
        #expect(skipped.skipped == 1 && skipped.newInteractions == 1)
    }

    @Test func timestampsNearTheLimitAndMillisecondsStillParse() throws {
        let w = Workspace()
        let file = w.write("t.csv", "user,item,timestamp\nu1,i1,1700000000123\nu2,i2,-4611686018427387903\nu3,i3,1.5e9\n")
        #expect(try w.ingest(.csv, file).newInteractions == 3)
        #expect(try w.store().connection.scalarInt("SELECT max(ts) FROM interactions") == 1_700_000_000_123)
    }

    @Test(arguments: [("timestamp", "0x10"), ("weight", "0x1p3"), ("weight", "inf"), ("weight", "nan"), ("timestamp", "1e5x")])
    func hexadecimalAndNonDecimalNumbersAreRefused(field: String, value: String) throws {
        let w = Workspace()
        let file = w.write("n.csv", "user,item,timestamp,weight\nu1,i1,\(field == "timestamp" ? value : "5"),\(field == "weight" ? value : "1")\n")
        let message = try #require(failure(w, file))
        #expect(message.contains("n.csv:2: field '\(field)' has value \"\(value)\""), "\(message)")
    }

    @Test func moreFieldsThanTheHeaderIsAnError() throws {
        let w = Workspace()
        let file = w.write("x.csv", "user,item\nu1,i1\nu2,i2,oops\n")
        let message = try #require(failure(w, file))
        #expect(message.contains("x.csv:3: field 'line'") && message.contains("expected 2 fields") && message.contains("found 3"), "\(message)")
    }

    @Test(arguments: [
        ("id,genre,genre\ni1,a,b\n", "column 3 declares feature 'genre' again (first in column 2)"),
        ("id,genre\ni1,a,extra\n", "items.csv:2: field 'line'"),
        ("genre,id\nrock,i1\n", "column 1 is 'genre'"),
    ])
    func badFeatureFilesAreNamedWithFileLineAndColumn(contents: String, expected: String) throws {
        let w = Workspace()
        w.write("d/interactions.csv", "user,item\nu1,i1\n")
        w.write("d/items.csv", contents)
        let message = try #require(failure(w, w.path("d")))
        #expect(message.contains("items.csv") && message.contains(expected), "\(message)")
    }

    @Test func anEmptyFileIngestsWithAWarning() throws {
        let w = Workspace()
        let file = w.write("empty.csv", "")
        let report = try w.ingest(.csv, file)
        #expect(report.newInteractions == 0)
        #expect(report.warnings.contains { $0.contains("empty.csv") && $0.contains("empty") }, "\(report.warnings)")
    }

    @Test func idsOverTheLimitAreRefused() throws {
        let w = Workspace()
        let file = w.write("long.csv", "user,item\nu1,\(String(repeating: "x", count: 5_000))\n")
        let message = try #require(failure(w, file))
        #expect(message.contains("long.csv:2: field 'item'") && message.contains("5000 bytes") && message.contains("4096"), "\(message)")
        let fits = w.write("fits.csv", "user,item\nu1,\(String(repeating: "y", count: 4_096))\n")
        #expect(try w.ingest(.csv, fits).newItems == 1)
    }

    @Test(arguments: [([0xFF, 0xFE, 0xFD] as [UInt8], "not valid UTF-8"), ([0x33, 0x00] as [UInt8], "control character 0x00")])
    func bytesThatAreNotTextInAnIdNameTheLine(id: [UInt8], reason: String) throws {
        let w = Workspace()
        let file = w.write("b.csv", bytes: Array("user,item\nu1,i1\n".utf8) + Array("u2,".utf8) + id + [0x0A])
        let message = try #require(failure(w, file))
        #expect(message.contains("b.csv:3: field 'item'") && message.contains(reason), "\(message)")
    }

    @Test func twoIngestsAtOnceEachCountTheirOwnRows() throws {
        let w = Workspace()
        _ = try w.store()
        var files: [String] = []
        for part in 0..<2 {
            var lines = ["user,item"]
            for n in 0..<3_000 { lines.append("p\(part)u\(n % 500),p\(part)i\(n)") }
            files.append(w.write("part\(part).csv", lines.joined(separator: "\n") + "\n"))
        }
        let results = Mutex<[IngestReport?]>([nil, nil])
        let (storePath, inputs) = (w.storePath, files)
        DispatchQueue.concurrentPerform(iterations: 2) { part in
            let report = try? Ingestor(store: InteractionStore(path: storePath)).ingest(format: .csv, input: inputs[part])
            results.withLock { $0[part] = report }
        }
        let reports = results.withLock { $0 }
        for report in reports {
            let r = try #require(report)
            #expect(r.newInteractions == 3_000 && r.newUsers == 500 && r.newItems == 3_000)
        }
        #expect(try w.store().count("interactions") == 6_000)
    }
}
