import Foundation

/// Number and table formatting for the jobs' log lines and the commands' output.
public enum Format {
    /// 1234567 → "1,234,567".
    public static func count(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// 42 → "42s", 125 → "2m05s", 7300 → "2h01m".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "—" }
        if seconds < 60 { return String(format: "%.0fs", seconds) }
        if seconds < 3600 { return String(format: "%dm%02ds", Int(seconds) / 60, Int(seconds) % 60) }
        return String(format: "%dh%02dm", Int(seconds) / 3600, (Int(seconds) % 3600) / 60)
    }

    /// A metric with four decimals, or "—" when it was not computed (never an invented 0).
    public static func metric(_ value: Double?) -> String {
        value.map { String(format: "%.4f", $0) } ?? "—"
    }

    /// A simple aligned table: the first column left-aligned, the rest right-aligned.
    public static func table(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        var widths = [Int](repeating: 0, count: first.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == 0 ? cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: max(0, widths[min(i, widths.count - 1)] - cell.count)) + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// Encodes a value as JSON text with sorted, snake_case keys.
public func jsonText<T: Encodable>(_ value: T, pretty: Bool = false) throws -> String {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
