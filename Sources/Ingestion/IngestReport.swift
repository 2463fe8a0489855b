/// Progress of one file, reported periodically during ingest.
public struct IngestProgress: Sendable {
    public let file: String
    public let lines: Int
    /// Records stored so far from this file (interactions, or entities for feature files).
    public let records: Int
    public let bytesRead: Int
    /// The file's size when known, for percent done and ETA.
    public let totalBytes: Int?
    /// Seconds since the file was opened.
    public let elapsedSeconds: Double
    /// True on the last report for a file.
    public let finished: Bool
}

/// What one ingest did.
public struct IngestReport: Codable, Sendable {
    /// Per file: lines read, records stored, lines skipped.
    public struct FileSummary: Codable, Sendable {
        public var path: String
        public var lines = 0
        public var records = 0
        public var skipped = 0
    }

    public var files: [FileSummary] = []
    /// Users, items and interactions that did not exist before this ingest.
    public var newUsers = 0
    public var newItems = 0
    public var newInteractions = 0
    /// Skipped lines by "field: reason", and the first few in full.
    public var skippedByReason: [String: Int] = [:]
    public var skippedExamples: [String] = []
    /// Things that did not stop the ingest but that a user should know (an empty file).
    public var warnings: [String] = []
    public var seconds = 0.0

    public var skipped: Int { files.reduce(0) { $0 + $1.skipped } }
    public var lines: Int { files.reduce(0) { $0 + $1.lines } }

    enum CodingKeys: String, CodingKey {
        case files, seconds
        case newUsers = "new_users", newItems = "new_items", newInteractions = "new_interactions"
        case skippedByReason = "skipped_by_reason", skippedExamples = "skipped_examples", warnings
    }
}
