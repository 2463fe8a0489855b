import Foundation

/// One line of an input file, split into fields, with helpers that parse a field or produce a
/// `MalformedLine` naming file, line, field and value.
struct Record {
    let file: String
    let number: Int
    let line: UnsafeRawBufferPointer
    let fields: [Field]

    var count: Int { fields.count }

    func text(_ index: Int) -> String { fields[index].trimmedString(in: line) }

    func isEmpty(_ index: Int) -> Bool {
        fields[index].withBytes(in: line) { bytes in bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 } }
    }

    func malformed(_ field: String, _ value: String, _ reason: String) -> MalformedLine {
        MalformedLine(file: file, line: number, field: field, value: value, reason: reason)
    }

    func requireFields(_ expected: Int, _ names: String) throws {
        if fields.count < expected {
            throw malformed("line", Text.decode(line), "expected \(expected) fields (\(names)), found \(fields.count); truncated line?")
        }
    }

    /// Exactly `expected` fields: more than the header names means a shifted or extra delimiter.
    func requireExactFields(_ expected: Int, _ names: String) throws {
        try requireFields(expected, names)
        if fields.count > expected {
            throw malformed("line", Text.decode(line), "expected \(expected) fields (\(names)), found \(fields.count); "
                            + "an unquoted delimiter inside a field?")
        }
    }

    /// The longest id accepted, in bytes of UTF-8.
    static let maxIDBytes = 4_096

    /// A non-empty identifier (kept as text): valid UTF-8, no control characters (a NUL would
    /// end it early in SQLite), at most `maxIDBytes` bytes.
    func id(_ index: Int, _ name: String) throws -> String {
        try fields[index].withBytes(in: line) { bytes in
            var start = 0, end = bytes.count
            while start < end && (bytes[start] == 0x20 || bytes[start] == 0x09) { start += 1 }
            while end > start && (bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09) { end -= 1 }
            let trimmed = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            let shown = Text.decode(trimmed)
            guard !trimmed.isEmpty else { throw malformed(name, shown, "empty id") }
            guard trimmed.count <= Self.maxIDBytes else {
                throw malformed(name, shown, "id of \(trimmed.count) bytes; ids are at most \(Self.maxIDBytes) bytes")
            }
            if let control = trimmed.firstIndex(where: { $0 < 0x20 || $0 == 0x7F }) {
                throw malformed(name, shown.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "\\x" + String(format: "%02x", $0.value) : String($0) }.joined(),
                                "control character 0x\(String(format: "%02x", trimmed[control])) in an id")
            }
            guard let valid = String(validating: trimmed.bindMemory(to: UInt8.self), as: UTF8.self) else {
                throw malformed(name, trimmed.map { $0 < 0x80 ? String(UnicodeScalar($0)) : String(format: "\\x%02x", $0) }.joined(),
                                "not valid UTF-8 (ids are UTF-8 text)")
            }
            return valid
        }
    }

    /// A non-negative integer identifier, for formats whose ids are numbers.
    func numericID(_ index: Int, _ name: String) throws -> String {
        let value = try id(index, name)
        guard let n = fields[index].withBytes(in: line, ValueParsing.int64), n >= 0 else {
            throw malformed(name, value, "not a non-negative integer id")
        }
        return String(n)
    }

    func int(_ index: Int, _ name: String) throws -> Int64 {
        guard let v = fields[index].withBytes(in: line, ValueParsing.int64) else {
            throw malformed(name, text(index), "not an integer")
        }
        return v
    }

    func double(_ index: Int, _ name: String) throws -> Double {
        guard let v = fields[index].withBytes(in: line, ValueParsing.double) else {
            throw malformed(name, text(index), "not a finite decimal number")
        }
        return v
    }

    func timestamp(_ index: Int, _ name: String) throws -> Int64 {
        switch fields[index].withBytes(in: line, ValueParsing.timestamp) {
        case .success(let v): return v
        case .failure(.outOfRange):
            throw malformed(name, text(index), "out of range (epoch values must lie within ±2^62 ≈ ±4.6e18)")
        case .failure(.invalid):
            throw malformed(name, text(index), "not a timestamp (decimal epoch seconds or an ISO 8601 date-time)")
        }
    }
}

/// Streams a file's records through a handler, applying the error policy and reporting progress.
struct RecordReader {
    let policy: ErrorPolicy
    let progress: ((IngestProgress) -> Void)?
    /// How often to offer progress; the receiver throttles by time.
    let progressEveryLines = 1_024

    /// Reads `path`; `header`, when given, receives the first line instead of `body`.
    /// `body` returns how many records it stored for the line.
    func read(path: String, splitter: FieldSplitter, report: inout IngestReport,
              header: ((Record) throws -> Void)? = nil,
              body: (Record) throws -> Int) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw IngestError.missingFile(path: path, hint: "no such file")
        }
        let reader = LineReader(path: path)
        let total = reader.fileSize
        let name = path
        var summary = IngestReport.FileSummary(path: path)
        var fields: [Field] = []
        var lastBytes = 0
        let started = Date()
        func offerProgress(finished: Bool) {
            progress?(IngestProgress(file: name, lines: summary.lines, records: summary.records, bytesRead: lastBytes,
                                     totalBytes: total, elapsedSeconds: Date().timeIntervalSince(started), finished: finished))
        }
        try reader.forEachLine { number, line, bytesRead in
            summary.lines = number
            lastBytes = bytesRead
            if number % progressEveryLines == 0 { offerProgress(finished: false) }
            do {
                do {
                    try splitter.split(line, into: &fields)
                } catch let error as FieldSplitError {
                    throw MalformedLine(file: name, line: number, field: "column \(error.column)",
                                        value: Text.decode(line), reason: error.reason)
                }
                let record = Record(file: name, number: number, line: line, fields: fields)
                if number == 1, let header {
                    try header(record)
                    return
                }
                if fields.isEmpty || (fields.count == 1 && record.isEmpty(0)) { return }  // blank line
                summary.records += try body(record)
            } catch let malformed as MalformedLine {
                guard policy == .skip else { throw IngestError.malformed(malformed) }
                summary.skipped += 1
                report.skippedByReason["\(malformed.field): \(malformed.reason)", default: 0] += 1
                if report.skippedExamples.count < 5 { report.skippedExamples.append(malformed.description) }
            }
        }
        offerProgress(finished: true)
        if summary.records == 0 && summary.skipped == 0 {
            report.warnings.append("\(path): no records (\(summary.lines == 0 ? "the file is empty" : "only a header or blank lines"))")
        }
        report.files.append(summary)
    }
}
