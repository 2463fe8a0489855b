import Foundation
import LinearAlgebra

/// Reads and writes vector files: NumPy `.npy` (float32 or int64, C order, 2-D or 1-D) and
/// `.fvecs` (per row: int32 dimension, then that many float32), the formats FAISS and the
/// peers in `../shared/peers` use.
public enum VectorFile {
    /// A float32 matrix from `.npy` or `.fvecs`; every value must be finite.
    public static func readMatrix(_ path: String) throws -> Matrix {
        let matrix: Matrix
        if path.hasSuffix(".fvecs") {
            matrix = try readFvecs(path)
        } else {
            let (descr, shape, payload) = try readNPY(path)
            guard descr == "<f4" || descr == "|f4" else {
                throw IndexError.badVectorFile(path: path, reason: "dtype \(descr) is not float32 ('<f4'); save with .astype(np.float32)")
            }
            guard shape.count == 2 else { throw IndexError.badVectorFile(path: path, reason: "shape \(shape) is not 2-D (rows × dimension)") }
            let (rows, cols) = (shape[0], shape[1])
            let bytes = try payloadBytes(shape, itemSize: 4, available: payload.count, path: path)
            var values = [Float](repeating: 0, count: rows * cols)
            values.withUnsafeMutableBytes { dst in payload.withUnsafeBytes { dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<bytes])) } }
            matrix = Matrix(rows: rows, cols: cols, values: values)
        }
        guard matrix.rows > 0, matrix.cols > 0 else { throw IndexError.emptyInput(path) }
        try checkFinite(matrix, source: path)
        return matrix
    }

    /// Int64 ids from a 1-D `.npy`.
    public static func readIDs(_ path: String) throws -> [Int64] {
        let (descr, shape, payload) = try readNPY(path)
        guard descr == "<i8" else { throw IndexError.badVectorFile(path: path, reason: "dtype \(descr) is not int64 ('<i8')") }
        guard shape.count == 1 else { throw IndexError.badVectorFile(path: path, reason: "ids must be 1-D, shape is \(shape)") }
        let bytes = try payloadBytes(shape, itemSize: 8, available: payload.count, path: path)
        var ids = [Int64](repeating: 0, count: shape[0])
        ids.withUnsafeMutableBytes { dst in payload.withUnsafeBytes { dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<bytes])) } }
        return ids
    }

    /// The payload size a header's shape implies, computed without overflow and checked against
    /// the bytes the file holds: a crafted shape is an error, never a crash or a huge allocation.
    static func payloadBytes(_ shape: [Int], itemSize: Int, available: Int, path: String) throws -> Int {
        var total = itemSize
        for extent in shape {
            guard extent >= 0 else { throw IndexError.badVectorFile(path: path, reason: "shape \(shape) has a negative extent") }
            let (product, overflow) = total.multipliedReportingOverflow(by: extent)
            guard !overflow, product <= available else {
                throw IndexError.badVectorFile(path: path, reason: "shape \(shape) is too large for the file (\(available) data bytes)")
            }
            total = product
        }
        return total
    }

    /// Throws `IndexError.nonFinite` at the first NaN or infinity.
    public static func checkFinite(_ m: Matrix, source: String) throws {
        for (i, v) in m.values.enumerated() where !v.isFinite {
            throw IndexError.nonFinite(source: source, row: i / m.cols, column: i % m.cols, value: v)
        }
    }

    /// Writes `m` as a float32 `.npy` (written to a temporary name, then renamed).
    public static func writeNPY(_ m: Matrix, to path: String) throws {
        try writeNPY(descr: "<f4", shape: "(\(m.rows), \(m.cols))", payload: m.values.withUnsafeBytes { Data($0) }, to: path)
    }

    /// Writes `ids` as an int64 `.npy`.
    public static func writeIDs(_ ids: [Int64], to path: String) throws {
        try writeNPY(descr: "<i8", shape: "(\(ids.count),)", payload: ids.withUnsafeBytes { Data($0) }, to: path)
    }

    private static func writeNPY(descr: String, shape: String, payload: Data, to path: String) throws {
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        data.append(payload)
        let temporary = path + ".partial"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else {
            throw IndexError.badVectorFile(path: path, reason: "cannot write")
        }
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: temporary, toPath: path)
    }

    private static func readNPY(_ path: String) throws -> (String, [Int], Data) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw IndexError.badVectorFile(path: path, reason: "cannot read the file (does it exist?)")
        }
        return try parseNPY(data, path: path)
    }

    /// A float32 matrix from the bytes of a `.npy` file (`path` names it in errors).
    static func parseMatrix(npy data: Data, path: String) throws -> Matrix {
        let (descr, shape, payload) = try parseNPY(data, path: path)
        guard descr == "<f4" || descr == "|f4" else { throw IndexError.badVectorFile(path: path, reason: "dtype \(descr) is not float32") }
        guard shape.count == 2 else { throw IndexError.badVectorFile(path: path, reason: "shape \(shape) is not 2-D") }
        let bytes = try payloadBytes(shape, itemSize: 4, available: payload.count, path: path)
        var values = [Float](repeating: 0, count: shape[0] * shape[1])
        values.withUnsafeMutableBytes { dst in payload.withUnsafeBytes { dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<bytes])) } }
        return Matrix(rows: shape[0], cols: shape[1], values: values)
    }

    /// The dtype, shape and payload of a `.npy` file's bytes.
    static func parseNPY(_ data: Data, path: String) throws -> (String, [Int], Data) {
        let bytes = [UInt8](data.prefix(12))
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else {
            throw IndexError.badVectorFile(path: path, reason: "not a NumPy .npy file (bad magic)")
        }
        let major = bytes[6]
        guard (1...3).contains(major) else { throw IndexError.badVectorFile(path: path, reason: "unknown .npy format version \(major)") }
        guard major == 1 || bytes.count >= 12 else { throw IndexError.badVectorFile(path: path, reason: "truncated header") }
        let (headerLength, headerStart): (Int, Int) = major == 1
            ? (Int(bytes[8]) | Int(bytes[9]) << 8, 10)
            : (Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24, 12)
        guard data.count >= headerStart + headerLength else { throw IndexError.badVectorFile(path: path, reason: "truncated header") }
        let header = String(decoding: data[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        func field(_ name: String) -> String? {
            guard let r = header.range(of: "'\(name)':") else { return nil }
            return String(header[r.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        guard let descrField = field("descr"), let quote = descrField.first, quote == "'" || quote == "\"",
              let end = descrField.dropFirst().firstIndex(of: quote) else {
            throw IndexError.badVectorFile(path: path, reason: "no dtype in the .npy header")
        }
        let descr = String(descrField[descrField.index(after: descrField.startIndex)..<end])
        if let fortran = field("fortran_order"), fortran.hasPrefix("True") {
            throw IndexError.badVectorFile(path: path, reason: "Fortran order is not supported; save with np.ascontiguousarray")
        }
        guard let shapeField = field("shape"), let open = shapeField.firstIndex(of: "("),
              let close = shapeField[open...].firstIndex(of: ")") else {
            throw IndexError.badVectorFile(path: path, reason: "no shape in the .npy header")
        }
        var shape: [Int] = []
        for part in shapeField[shapeField.index(after: open)..<close].split(separator: ",") {
            let text = part.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty else { continue }
            guard let extent = Int(text) else {
                throw IndexError.badVectorFile(path: path, reason: "shape entry '\(text)' is not an integer that fits in 64 bits")
            }
            shape.append(extent)
        }
        return (descr, shape, data.subdata(in: (headerStart + headerLength)..<data.count))
    }

    private static func readFvecs(_ path: String) throws -> Matrix {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw IndexError.badVectorFile(path: path, reason: "cannot read the file (does it exist?)")
        }
        guard data.count >= 4 else { throw IndexError.emptyInput(path) }
        let d = Int(data.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) })
        let rowBytes = 4 * (d + 1)
        guard d > 0, rowBytes <= data.count, data.count % rowBytes == 0 else {
            throw IndexError.badVectorFile(path: path, reason: "size \(data.count) is not a whole number of rows of dimension \(d)")
        }
        let rows = data.count / rowBytes
        var values = [Float](repeating: 0, count: rows * d)
        try data.withUnsafeBytes { raw in
            for r in 0..<rows {
                let rowDim = Int(raw.loadUnaligned(fromByteOffset: r * rowBytes, as: Int32.self))
                guard rowDim == d else { throw IndexError.badVectorFile(path: path, reason: "row \(r) has dimension \(rowDim), the first row \(d)") }
                for j in 0..<d { values[r * d + j] = raw.loadUnaligned(fromByteOffset: r * rowBytes + 4 + 4 * j, as: Float.self) }
            }
        }
        return Matrix(rows: rows, cols: d, values: values)
    }
}
