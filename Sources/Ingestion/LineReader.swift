#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file line by line in fixed-size chunks, lending each line's bytes (without the line
/// ending, `\n` or `\r\n`) to a closure. Memory stays at one chunk plus the longest line, whatever
/// the file's length, which is what lets ingest stream files of any size.
public struct LineReader {
    public let path: String
    public var chunkSize = 1 << 20
    /// Lines longer than this are an error (a binary or garbled file, most likely).
    public var maxLineLength = 64 << 20

    public init(path: String) { self.path = path }

    /// The file's size in bytes, for progress and ETA.
    public var fileSize: Int? {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : nil
    }

    /// Calls `body(lineNumber, bytes, offsetAfterLine)` for every line; line numbers start at 1 and
    /// the offset (bytes of the file consumed so far) drives percent-done and ETA.
    /// A final line without a newline is delivered too. A UTF-8 byte-order mark is skipped.
    /// - Throws: `IngestError.unreadable` when the file cannot be opened or read, and whatever `body` throws.
    public func forEachLine(_ body: (Int, UnsafeRawBufferPointer, Int) throws -> Void) throws {
        guard let file = fopen(path, "rb") else {
            throw IngestError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { fclose(file) }
        // A small file needs no more than its own size (plus one byte to see the end).
        let chunkSize = min(self.chunkSize, max(4_096, (fileSize ?? self.chunkSize) + 1))
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        var carry: [UInt8] = []
        var lineNumber = 0
        var totalRead = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, chunkSize, file) }
            if n == 0 {
                if ferror(file) != 0 { throw IngestError.unreadable(path: path, reason: String(cString: strerror(errno))) }
                break
            }
            let chunkStart = totalRead
            totalRead += n
            try buffer.withUnsafeBytes { raw in
                var start = 0
                var i = start
                while i < n {
                    guard let newline = memchr(raw.baseAddress! + i, 0x0A, n - i) else { break }
                    let end = raw.baseAddress!.distance(to: UnsafeRawPointer(newline))
                    lineNumber += 1
                    if carry.isEmpty {
                        try deliver(UnsafeRawBufferPointer(rebasing: raw[start..<end]), lineNumber, chunkStart + end + 1, body)
                    } else {
                        carry.append(contentsOf: raw[start..<end])
                        try carry.withUnsafeBytes { try deliver($0, lineNumber, chunkStart + end + 1, body) }
                        carry.removeAll(keepingCapacity: true)
                    }
                    start = end + 1
                    i = start
                }
                if start < n {
                    carry.append(contentsOf: raw[start..<n])
                    if carry.count > maxLineLength {
                        throw IngestError.lineTooLong(path: path, line: lineNumber + 1, limit: maxLineLength)
                    }
                }
            }
        }
        if !carry.isEmpty {
            lineNumber += 1
            try carry.withUnsafeBytes { try deliver($0, lineNumber, totalRead, body) }
        }
    }

    @inline(__always)
    private func deliver(_ whole: UnsafeRawBufferPointer, _ number: Int, _ read: Int,
                         _ body: (Int, UnsafeRawBufferPointer, Int) throws -> Void) throws {
        var line = whole
        if number == 1 && line.count >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF {
            line = UnsafeRawBufferPointer(rebasing: line.dropFirst(3))
        }
        if let last = line.last, last == 0x0D {
            try body(number, UnsafeRawBufferPointer(rebasing: line.dropLast()), read)
        } else {
            try body(number, line, read)
        }
    }
}
