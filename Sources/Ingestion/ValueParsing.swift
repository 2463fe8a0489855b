/// Parsers for the typed fields of interaction files, working on raw bytes so the ingest hot path
/// builds no intermediate strings.
enum ValueParsing {
    /// A decimal integer with optional sign and surrounding spaces.
    static func int64(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var i = 0, n = bytes.count
        while i < n && (bytes[i] == 0x20 || bytes[i] == 0x09) { i += 1 }
        while n > i && (bytes[n - 1] == 0x20 || bytes[n - 1] == 0x09) { n -= 1 }
        guard i < n else { return nil }
        var negative = false
        if bytes[i] == 0x2D || bytes[i] == 0x2B { negative = bytes[i] == 0x2D; i += 1 }
        guard i < n, n - i <= 18 else { return nil }
        var value: Int64 = 0
        while i < n {
            let d = bytes[i] &- 0x30
            guard d < 10 else { return nil }
            value = value * 10 + Int64(d)
            i += 1
        }
        return negative ? -value : value
    }

    /// A finite decimal number (integers, decimals, exponents).
    static func double(_ bytes: UnsafeRawBufferPointer) -> Double? {
        if let i = int64(bytes) { return Double(i) }
        let text = Text.decode(bytes).trimmingSpaces
        guard let value = Double(text), value.isFinite else { return nil }
        return value
    }

    /// Seconds since 1970: an integer or decimal epoch value, or an ISO 8601 date or date-time
    /// (`2024-03-01`, `2024-03-01T12:30:00Z`, `2024-03-01 12:30:00+02:00`).
    static func timestamp(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        if let i = int64(bytes) { return i }
        if let d = double(bytes) { return Int64(d.rounded(.down)) }
        return iso8601(Array(Text.decode(bytes).trimmingSpaces.utf8))
    }

    private static func iso8601(_ s: [UInt8]) -> Int64? {
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= s.count else { return nil }
            var v = 0
            for b in s[from..<(from + count)] {
                let d = b &- 0x30
                guard d < 10 else { return nil }
                v = v * 10 + Int(d)
            }
            return v
        }
        guard s.count >= 10, s[4] == 0x2D, s[7] == 0x2D,
              let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        var seconds = 0, offset = 0
        var i = 10
        if i < s.count {
            guard s[i] == 0x54 || s[i] == 0x20, let h = number(i + 1, 2), s.count > i + 3, s[i + 3] == 0x3A,
                  let m = number(i + 4, 2), h < 24, m < 60 else { return nil }
            seconds = h * 3600 + m * 60
            i += 6
            if i < s.count && s[i] == 0x3A {
                guard let sec = number(i + 1, 2), sec <= 60 else { return nil }
                seconds += sec
                i += 3
                if i < s.count && s[i] == 0x2E { i += 1; while i < s.count && (s[i] &- 0x30) < 10 { i += 1 } }
            }
            if i < s.count {
                if s[i] == 0x5A { i += 1 }
                else if s[i] == 0x2B || s[i] == 0x2D {
                    guard let oh = number(i + 1, 2), s.count >= i + 6, let om = number(i + 4, 2) else { return nil }
                    offset = (oh * 3600 + om * 60) * (s[i] == 0x2D ? -1 : 1)
                    i += 6
                } else { return nil }
            }
            guard i == s.count else { return nil }
        }
        return Int64(daysFromCivil(year, month, day) * 86_400 + seconds - offset)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
