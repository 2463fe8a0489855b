import Foundation
import Ingestion
import Store

/// A temporary directory of input files plus a store path, deleted at the end of the test.
final class Workspace {
    let root: String
    init() {
        root = NSTemporaryDirectory() + "ingest-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: root) }

    func path(_ name: String) -> String { (root as NSString).appendingPathComponent(name) }

    @discardableResult
    func write(_ name: String, _ text: String) -> String { write(name, bytes: Array(text.utf8)) }

    @discardableResult
    func write(_ name: String, bytes: [UInt8]) -> String {
        let p = path(name)
        try! FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: p, contents: Data(bytes))
        return p
    }

    var storePath: String { path("store.sqlite") }
    func store() throws -> InteractionStore { try InteractionStore(path: storePath) }

    func ingest(_ format: IngestFormat, _ input: String, policy: ErrorPolicy = .fail,
                options: DelimitedOptions = DelimitedOptions()) throws -> IngestReport {
        try Ingestor(store: try store(), policy: policy).ingest(format: format, input: input, delimited: options)
    }

    /// Everything a store holds, as text, to compare before and after.
    func snapshot() throws -> String {
        let s = try store()
        var out: [String] = []
        for table in ["users", "items", "interactions", "features", "feature_tokens", "user_features", "item_features", "splits", "split_parts"] {
            let statement = try s.connection.prepare("SELECT * FROM \(table) ORDER BY 1, 2")
            try statement.query { row in
                out.append(table + ":" + (0..<row.columnCount).map { row.optionalString($0) ?? "NULL" }.joined(separator: ","))
            }
        }
        return out.joined(separator: "\n")
    }
}
