#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes text to `<path>.partial` through a buffer and renames it to `path` on `commit`, so a
/// reader never sees a half-written file and an interrupted run leaves only the `.partial`.
final class BufferedFileWriter {
    let path: String
    private let partial: String
    private var file: UnsafeMutablePointer<FILE>?
    private var buffer: [UInt8] = []

    init(path: String) throws {
        self.path = path
        self.partial = path + ".partial"
        guard let f = fopen(partial, "wb") else {
            throw SyntheticError.cannotWrite(path: partial, reason: String(cString: strerror(errno)))
        }
        file = f
        buffer.reserveCapacity(1 << 20)
    }

    deinit {
        if let file {  // never committed: drop the partial file
            fclose(file)
            unlink(partial)
        }
    }

    func write(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 20 { try flush() }
    }

    private func flush() throws {
        let written = buffer.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        guard written == buffer.count else {
            throw SyntheticError.cannotWrite(path: partial, reason: String(cString: strerror(errno)))
        }
        buffer.removeAll(keepingCapacity: true)
    }

    func commit() throws {
        try flush()
        guard fflush(file) == 0, fclose(file) == 0 else {
            file = nil
            throw SyntheticError.cannotWrite(path: partial, reason: String(cString: strerror(errno)))
        }
        file = nil
        guard rename(partial, path) == 0 else {
            throw SyntheticError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
        }
    }
}
