import ArgumentParser
import Foundation
import Ingestion

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Terminal output for long jobs: a self-overwriting progress line on stderr when stderr is a
/// terminal, nothing otherwise (logs and pipes stay clean).
final class ProgressPrinter: @unchecked Sendable {
    private let enabled: Bool
    private var lastPrint = Date.distantPast

    init(enabled: Bool = isatty(STDERR_FILENO) == 1) { self.enabled = enabled }

    /// Renders ingest progress: lines and records, lines/s, percent and ETA when the size is known.
    func ingest(_ p: IngestProgress) {
        guard enabled else { return }
        let now = Date()
        guard p.finished || now.timeIntervalSince(lastPrint) >= 0.25 else { return }
        lastPrint = now
        let rate = Double(p.lines) / max(p.elapsedSeconds, 1e-3)
        var line = "\((p.file as NSString).lastPathComponent): \(Format.count(p.lines)) lines (\(Format.count(p.records)) records), \(Format.count(Int(rate))) lines/s"
        if let total = p.totalBytes, total > 0 {
            let fraction = Double(p.bytesRead) / Double(total)
            line += String(format: ", %.0f%%", fraction * 100)
            if !p.finished && fraction > 0 { line += ", ETA \(Format.duration(p.elapsedSeconds * (1 - fraction) / fraction))" }
        }
        write(line, finished: p.finished)
    }

    /// A free-form status line.
    func status(_ text: String, finished: Bool = false) {
        guard enabled else { return }
        write(text, finished: finished)
    }

    private func write(_ text: String, finished: Bool) {
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + text + (finished ? "\n" : "")).utf8))
    }
}

enum Format {
    /// 1234567 → "1,234,567".
    static func count(_ n: Int) -> String {
        let digits = String(abs(n))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    static func duration(_ seconds: Double) -> String {
        if seconds < 60 { return String(format: "%.0fs", seconds) }
        if seconds < 3600 { return String(format: "%dm%02ds", Int(seconds) / 60, Int(seconds) % 60) }
        return String(format: "%dh%02dm", Int(seconds) / 3600, (Int(seconds) % 3600) / 60)
    }

    /// A simple aligned table.
    static func table(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        var widths = [Int](repeating: 0, count: first.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == 0 ? cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: widths[i] - cell.count) + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// Encodes a value as JSON text with sorted keys.
func jsonText<T: Encodable>(_ value: T, pretty: Bool = false) throws -> String {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// Parses a comma-separated option value ("1,2,4") into numbers, naming the option and the bad
/// element on error.
func parseList<T: LosslessStringConvertible>(_ text: String, option: String, as: T.Type = T.self,
                                              where valid: (T) -> Bool = { _ in true }, expected: String = "a number") throws -> [T] {
    try text.split(separator: ",").map { part in
        let trimmed = part.trimmingCharacters(in: .whitespaces)
        guard let value = T(trimmed), valid(value) else { throw ValidationError("\(option): '\(trimmed)' is not \(expected)") }
        return value
    }
}
