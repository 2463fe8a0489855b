/// Why ingestion stopped. Every case names the input it is about.
public enum IngestError: Error, CustomStringConvertible, Equatable {
    /// A line that does not parse: file, line number (from 1), field name, the offending value.
    case malformed(MalformedLine)
    case unreadable(path: String, reason: String)
    case missingFile(path: String, hint: String)
    case lineTooLong(path: String, line: Int, limit: Int)
    case badOption(String)

    public var description: String {
        switch self {
        case .malformed(let m): m.description
        case let .unreadable(path, reason): "cannot read \(path): \(reason)"
        case let .missingFile(path, hint): "missing input file \(path) (\(hint))"
        case let .lineTooLong(path, line, limit): "\(path):\(line): line longer than \(limit) bytes; is this a text file?"
        case .badOption(let message): message
        }
    }
}

/// One malformed line, precisely located.
public struct MalformedLine: Error, CustomStringConvertible, Equatable, Sendable {
    public let file: String
    public let line: Int
    public let field: String
    public let value: String
    public let reason: String

    public init(file: String, line: Int, field: String, value: String, reason: String) {
        self.file = file
        self.line = line
        self.field = field
        self.value = value.count > 80 ? String(value.prefix(80)) + "…" : value
        self.reason = reason
    }

    public var description: String {
        "\(file):\(line): field '\(field)' has value \"\(value)\": \(reason)"
    }
}

/// What to do with a malformed line.
public enum ErrorPolicy: String, Sendable, CaseIterable, Codable {
    /// Stop at the first malformed line and roll the whole ingest back.
    case fail
    /// Skip malformed lines, count them by reason, and keep going.
    case skip
}
