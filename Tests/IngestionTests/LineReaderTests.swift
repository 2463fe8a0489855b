@testable import Ingestion
import Testing

struct LineReaderTests {
    func lines(_ bytes: [UInt8], chunk: Int) throws -> [String] {
        let w = Workspace()
        let path = w.write("f.txt", bytes: bytes)
        var reader = LineReader(path: path)
        reader.chunkSize = chunk
        var out: [String] = []
        var numbers: [Int] = []
        try reader.forEachLine { n, line, _ in numbers.append(n); out.append(String(decoding: line, as: UTF8.self)) }
        #expect(numbers == Array(1...max(out.count, 1)).prefix(out.count).map { $0 })
        return out
    }

    @Test(arguments: [1, 2, 3, 7, 1 << 20])
    func splitsLinesAcrossChunkBoundaries(chunk: Int) throws {
        let text = Array("alpha\r\nbeta\n\ngamma-delta\nlast-without-newline".utf8)
        #expect(try lines(text, chunk: chunk) == ["alpha", "beta", "", "gamma-delta", "last-without-newline"])
    }

    @Test func skipsAByteOrderMark() throws {
        #expect(try lines([0xEF, 0xBB, 0xBF] + Array("a,b\n".utf8), chunk: 2) == ["a,b"])
    }

    @Test func anUnreadableFileIsNamed() {
        #expect { try LineReader(path: "/nonexistent/file").forEachLine { _, _, _ in } } throws: { error in
            (error as? IngestError)?.description.contains("/nonexistent/file") == true
        }
    }

    @Test func parsesTimestampsInTheAcceptedForms() {
        func ts(_ s: String) -> Int64? { Array(s.utf8).withUnsafeBytes { try? ValueParsing.timestamp($0).get() } }
        #expect(ts("0") == 0)
        #expect(ts(" 881250949 ") == 881_250_949)
        #expect(ts("1700000000.75") == 1_700_000_000)
        #expect(ts("1970-01-02") == 86_400)
        #expect(ts("2024-03-01T10:00:00Z") == 1_709_287_200)
        #expect(ts("2024-03-01T12:00:00+02:00") == 1_709_287_200)
        #expect(ts("2024-03-01 10:00") == 1_709_287_200)
        #expect(ts("2024-13-01") == nil)
        #expect(ts("yesterday") == nil)
    }
}
