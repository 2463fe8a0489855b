/// Parsers for the typed fields of interaction files, working on raw bytes so the ingest hot path
/// builds no intermediate strings. Every number is decimal: hexadecimal (`0x10`, `0x1p3`),
/// `inf` and `nan` are refused, as are values outside the range a field can hold.
enum ValueParsing {
    /// Epoch values must lie within ±2⁶² (seconds, or milli-, micro- or nanoseconds since 1970):
    /// far beyond any real date, and safely inside Int64 when rounded.
    static let timestampLimit: Double = 4_611_686_018_427_387_904

    /// Why a field did not parse.
    enum Failure: Error, Equatable {
        case invalid
        case outOfRange
    }

    /// A decimal integer with optional sign and surrounding spaces, within Int64.
    static func int64(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        try? checkedInt64(bytes).get()
    }

    static func checkedInt64(_ bytes: UnsafeRawBufferPointer) -> Result<Int64, Failure> {
        var i = 0, n = bytes.count
        while i < n && (bytes[i] == 0x20 || bytes[i] == 0x09) { i += 1 }
        while n > i && (bytes[n - 1] == 0x20 || bytes[n - 1] == 0x09) { n -= 1 }
        guard i < n else { return .failure(.invalid) }
        var negative = false
        if bytes[i] == 0x2D || bytes[i] == 0x2B { negative = bytes[i] == 0x2D; i += 1 }
        guard i < n else { return .failure(.invalid) }
        // Accumulated negatively, so Int64.min fits too.
        var value: Int64 = 0
        var overflow = false
        while i < n {
            let d = bytes[i] &- 0x30
            guard d < 10 else { return .failure(.invalid) }
            if !overflow {
                let (times, o1) = value.multipliedReportingOverflow(by: 10)
                let (next, o2) = times.subtractingReportingOverflow(Int64(d))
                if o1 || o2 { overflow = true } else { value = next }
            }
            i += 1
        }
        if overflow { return .failure(.outOfRange) }
        if negative { return .success(value) }
        return value == .min ? .failure(.outOfRange) : .success(-value)
    }

    /// A finite decimal number (integers, decimals, exponents).
    static func double(_ bytes: UnsafeRawBufferPointer) -> Double? {
        try? checkedDouble(bytes).get()
    }

    static func checkedDouble(_ bytes: UnsafeRawBufferPointer) -> Result<Double, Failure> {
        switch checkedInt64(bytes) {
        case .success(let i): return .success(Double(i))
        case .failure(.outOfRange): break  // a long integer: still a number, parsed below
        case .failure(.invalid): break
        }
        var sawDigit = false
        for b in bytes {
            switch b {
            case 0x30...0x39: sawDigit = true
            case 0x2B, 0x2D, 0x2E, 0x45, 0x65, 0x20, 0x09: continue  // + - . E e and spaces
            default: return .failure(.invalid)
            }
        }
        guard sawDigit, let value = Double(Text.decode(bytes).trimmingSpaces) else { return .failure(.invalid) }
        return value.isFinite ? .success(value) : .failure(.outOfRange)
    }

    /// Seconds since 1970: an integer or decimal epoch value, or an ISO 8601 date or date-time
    /// (`2024-03-01`, `2024-03-01T12:30:00Z`, `2024-03-01 12:30:00+02:00`).
    static func timestamp(_ bytes: UnsafeRawBufferPointer) -> Result<Int64, Failure> {
        if let i = int64(bytes) { return i.magnitude < 1 << 62 ? .success(i) : .failure(.outOfRange) }
        switch checkedDouble(bytes) {
        case .success(let d):
            guard abs(d) < timestampLimit else { return .failure(.outOfRange) }
            return .success(Int64(d.rounded(.down)))
        case .failure(.outOfRange): return .failure(.outOfRange)
        case .failure(.invalid):
            return iso8601(Array(Text.decode(bytes).trimmingSpaces.utf8)).map { .success($0) } ?? .failure(.invalid)
        }
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
