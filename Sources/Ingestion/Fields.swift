/// Splits a delimited line into fields, with RFC 4180 quoting inside one line
/// (`"a, b"` is one field, `""` inside quotes is a quote). Field contents are lent, not copied,
/// except for quoted fields with escaped quotes.
struct FieldSplitter {
    let delimiter: UInt8
    /// Collapse runs of the delimiter (whitespace-separated formats such as LightGCN's).
    var collapseRuns = false
    /// Honour double quotes.
    var quotes = true

    /// The fields of `line` as byte arrays-or-ranges, appended to `fields` (cleared first).
    func split(_ line: UnsafeRawBufferPointer, into fields: inout [Field]) throws(FieldSplitError) {
        fields.removeAll(keepingCapacity: true)
        let n = line.count
        var i = 0
        if collapseRuns {
            while i < n {
                while i < n && line[i] == delimiter { i += 1 }
                if i >= n { break }
                let start = i
                while i < n && line[i] != delimiter { i += 1 }
                fields.append(Field(range: start..<i, unescaped: nil))
            }
            return
        }
        while true {
            if quotes && i < n && line[i] == 0x22 {
                var value: [UInt8] = []
                var j = i + 1
                var closed = false
                while j < n {
                    if line[j] == 0x22 {
                        if j + 1 < n && line[j + 1] == 0x22 { value.append(0x22); j += 2; continue }
                        closed = true
                        j += 1
                        break
                    }
                    value.append(line[j])
                    j += 1
                }
                guard closed else { throw .unclosedQuote(column: fields.count + 1) }
                guard j == n || line[j] == delimiter else { throw .textAfterQuote(column: fields.count + 1) }
                fields.append(Field(range: i..<j, unescaped: value))
                if j == n { return }
                i = j + 1
            } else {
                var j = i
                while j < n && line[j] != delimiter { j += 1 }
                fields.append(Field(range: i..<j, unescaped: nil))
                if j == n { return }
                i = j + 1
            }
        }
    }
}

enum FieldSplitError: Error {
    case unclosedQuote(column: Int)
    case textAfterQuote(column: Int)

    var reason: String {
        switch self {
        case .unclosedQuote: "a quoted field is not closed on this line"
        case .textAfterQuote: "text follows a closing quote"
        }
    }
    var column: Int {
        switch self {
        case .unclosedQuote(let c), .textAfterQuote(let c): c
        }
    }
}

/// One field of a line: a byte range, or its unescaped contents when it was quoted.
struct Field {
    let range: Range<Int>
    let unescaped: [UInt8]?

    func withBytes<R>(in line: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if let unescaped { return try unescaped.withUnsafeBytes(body) }
        return try body(UnsafeRawBufferPointer(rebasing: line[range]))
    }

    /// The field as text: UTF-8 when valid, otherwise Latin-1 (never fails, never loses a byte's meaning).
    func string(in line: UnsafeRawBufferPointer) -> String {
        withBytes(in: line) { Text.decode($0) }
    }

    /// The field trimmed of spaces and tabs, as text.
    func trimmedString(in line: UnsafeRawBufferPointer) -> String {
        string(in: line).trimmingSpaces
    }
}

/// Text decoding that never fails.
enum Text {
    /// UTF-8 when the bytes are valid UTF-8, else Latin-1 (each byte is one code point), which is
    /// what the MovieLens files are.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> String {
        let utf8 = bytes.bindMemory(to: UInt8.self)
        if let s = String(validating: utf8, as: UTF8.self) { return s }
        var scalars = String.UnicodeScalarView()
        for b in utf8 { scalars.append(Unicode.Scalar(b)) }
        return String(scalars)
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
