import ArgumentParser
import Foundation
import Ingestion
import Pipeline
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Terminal output for long jobs: a self-overwriting progress line on stderr when stderr is a
/// terminal, nothing otherwise (logs and pipes stay clean).
final class ProgressPrinter: Sendable {
    private let enabled: Bool
    private let lastPrint = Mutex(Date.distantPast)

    init(enabled: Bool = isatty(STDERR_FILENO) == 1) { self.enabled = enabled }

    /// Renders ingest progress: lines and records, lines/s, percent and ETA when the size is known.
    func ingest(_ p: IngestProgress) {
        guard enabled, p.finished || throttle() else { return }
        let rate = Double(p.lines) / max(p.elapsedSeconds, 1e-3)
        var line = "\((p.file as NSString).lastPathComponent): \(Format.count(p.lines)) lines (\(Format.count(p.records)) records), \(Format.count(Int(rate))) lines/s"
        if let total = p.totalBytes, total > 0 {
            let fraction = Double(p.bytesRead) / Double(total)
            line += String(format: ", %.0f%%", fraction * 100)
            if !p.finished && fraction > 0 { line += ", ETA \(Format.duration(p.elapsedSeconds * (1 - fraction) / fraction))" }
        }
        write(line, finished: p.finished)
    }

    /// A free-form status line (throttled to four a second unless `finished`).
    func status(_ text: String, finished: Bool = false) {
        guard enabled, finished || throttle() else { return }
        write(text, finished: finished)
    }

    private func throttle() -> Bool {
        lastPrint.withLock { last in
            let now = Date()
            guard now.timeIntervalSince(last) >= 0.25 else { return false }
            last = now
            return true
        }
    }

    private func write(_ text: String, finished: Bool) {
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + text + (finished ? "\n" : "")).utf8))
    }
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

/// Prints a line to standard error.
func warn(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
