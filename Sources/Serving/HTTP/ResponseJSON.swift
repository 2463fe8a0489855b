import NIOCore

/// Writes the top-K answer as JSON straight into a byte buffer. It is the body of every query
/// route, so it skips `JSONEncoder`, which took a noticeable share of the daemon's CPU under load
/// (docs/benchmarks.md has the profile). Keys and values are those `Codable`
/// gives with snake-case keys; `ResponseJSONTests` checks the two agree.
extension TopKResponse {
    func json(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("{\"items\":[")
        for (n, item) in items.enumerated() {
            buffer.writeStaticString(n == 0 ? "{\"id\":" : ",{\"id\":")
            Self.writeString(item.id, into: &buffer)
            buffer.writeStaticString(",\"score\":")
            buffer.writeString(Self.number(item.score))
            buffer.writeStaticString("}")
        }
        buffer.writeStaticString("],\"model_version\":")
        Self.writeString(modelVersion, into: &buffer)
        buffer.writeStaticString(",\"index_version\":")
        Self.writeString(indexVersion, into: &buffer)
        buffer.writeStaticString(",\"took_ms\":")
        buffer.writeString(Self.number(tookMs))
        buffer.writeStaticString("}")
    }

    /// Shortest round-trip decimal; non-finite values (never produced) become null, as JSON has
    /// no spelling for them.
    static func number<F: BinaryFloatingPoint & LosslessStringConvertible>(_ x: F) -> String {
        x.isFinite ? x.description : "null"
    }

    /// A JSON string literal: quote, backslash and control characters escaped, the rest UTF-8.
    static func writeString(_ s: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            buffer.writeString(s)
        } else {
            for byte in s.utf8 {
                switch byte {
                case 0x22: buffer.writeStaticString("\\\"")
                case 0x5C: buffer.writeStaticString("\\\\")
                case 0x0A: buffer.writeStaticString("\\n")
                case 0x0D: buffer.writeStaticString("\\r")
                case 0x09: buffer.writeStaticString("\\t")
                case ..<0x20:
                    buffer.writeStaticString("\\u00")
                    buffer.writeInteger(hexDigits[Int(byte >> 4)])
                    buffer.writeInteger(hexDigits[Int(byte & 15)])
                default: buffer.writeInteger(byte)
                }
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
