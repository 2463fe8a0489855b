import Foundation
import Store

/// The input formats `twotower ingest` reads.
public enum IngestFormat: String, Sendable, CaseIterable, Codable {
    /// MovieLens 100K: `u.data`, with `u.user`, `u.item` (and `u.genre`) for features when present.
    case movielens
    /// LightGCN benchmark files: `train.txt` and `test.txt`, one user and its items per line;
    /// the files' split is stored as the split named `given`.
    case lightgcn
    /// Delimited files (CSV/TSV) with a column mapping, plus optional feature files.
    case csv
}

/// Reads input files into a store in one transaction: either all of an ingest lands or, on any
/// error, the store is left exactly as it was.
public final class Ingestor {
    public let store: InteractionStore
    public let policy: ErrorPolicy
    let records: RecordReader

    public init(store: InteractionStore, policy: ErrorPolicy = .fail,
                progress: ((IngestProgress) -> Void)? = nil) {
        self.store = store
        self.policy = policy
        self.records = RecordReader(policy: policy, progress: progress)
    }

    /// Ingests `input` (a directory for MovieLens and LightGCN; a file or a directory for CSV).
    public func ingest(format: IngestFormat, input: String,
                       delimited: DelimitedOptions = DelimitedOptions()) throws -> IngestReport {
        let started = Date()
        var report = try store.bulkWrite {
            // Counted inside the write transaction, so another ingest committing at the same time
            // is never reported as this one's rows.
            let before = try (store.count("users"), store.count("items"), store.count("interactions"))
            let writer = try StoreWriter(store: store)
            var report = IngestReport()
            switch format {
            case .movielens: try MovieLensFormat(reader: records, writer: writer).ingest(directory: input, report: &report)
            case .lightgcn: try LightGCNFormat(reader: records, writer: writer).ingest(directory: input, report: &report)
            case .csv: try DelimitedFormat(reader: records, writer: writer, options: delimited).ingest(input: input, report: &report)
            }
            report.newUsers = try store.count("users") - before.0
            report.newItems = try store.count("items") - before.1
            report.newInteractions = try store.count("interactions") - before.2
            return report
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }
}

/// The path of `name` inside `directory`, or an error saying which file the format needs.
func requiredFile(_ directory: String, _ name: String, format: String) throws -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
        throw IngestError.missingFile(path: directory, hint: "the --input directory does not exist")
    }
    guard isDirectory.boolValue else {
        throw IngestError.badOption("--input \(directory) must be a directory holding the \(format) files")
    }
    let path = (directory as NSString).appendingPathComponent(name)
    guard FileManager.default.fileExists(atPath: path) else {
        throw IngestError.missingFile(path: path, hint: "the \(format) format needs \(name)")
    }
    return path
}

func optionalFile(_ directory: String, _ name: String) -> String? {
    let path = (directory as NSString).appendingPathComponent(name)
    return FileManager.default.fileExists(atPath: path) ? path : nil
}
