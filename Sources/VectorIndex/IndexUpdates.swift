import Foundation
import LinearAlgebra
import LMDB

/// What an update did.
public struct UpdateReport: Codable, Sendable {
    public var added = 0
    public var replaced = 0
    public var deleted = 0
    /// Ids asked for deletion that the index did not hold.
    public var missing: [Int64] = []
    /// Vectors in the index afterwards.
    public var count = 0

    public init() {}
}

/// In-place updates of the current version. Each call is one LMDB write transaction: readers
/// that began before it never see part of it, readers that begin after see all of it.
///
/// Lists stay dense: an added vector goes to the end of its nearest list; a deleted one is
/// replaced by the list's last vector, whose id-map entry moves with it. Centroids are not
/// retrained, so many updates can unbalance the lists: `index-stats` reports the imbalance and
/// `rebuild-index` re-clusters.
extension IVFIndex {
    /// Adds vectors under new ids and replaces the vectors of existing ones.
    /// - Throws: `IndexError.dimensionMismatch`, `.nonFinite`, `.duplicateID` (an id twice in one call).
    @discardableResult
    public func upsert(ids: [Int64], vectors input: Matrix) throws -> UpdateReport {
        guard ids.count == input.rows else { throw IndexError.badParameter("\(ids.count) ids for \(input.rows) vectors") }
        guard input.cols == dimension || input.rows == 0 else {
            throw IndexError.dimensionMismatch(expected: dimension, got: input.cols, what: "the update")
        }
        try VectorFile.checkFinite(input, source: "the update")
        if metadata.metric == .cosine, let zero = IndexBuilder.firstZeroRow(input) {
            throw IndexError.badParameter("row \(zero) of the update is all zeros: a cosine index needs a direction for every vector")
        }
        var seen = Set<Int64>()
        for id in ids where !seen.insert(id).inserted { throw IndexError.duplicateID(id) }
        var vectors = input
        if metadata.metric == .cosine { KMeans.normalizeRows(&vectors) }
        let (assignment, _) = KMeans.assign(vectors, to: centroids, spherical: metadata.metric.spherical, threads: 1)
        return try environment.write { txn in
            var report = UpdateReport()
            let store = ListStore(index: self, txn: txn)
            for (row, id) in ids.enumerated() {
                if try store.remove(id: id) { report.replaced += 1 } else { report.added += 1 }
                try store.append(id: id, vector: Array(vectors.row(row)), list: Int(assignment[row]))
            }
            report.count = try store.adjustCount(by: report.added)
            return report
        }
    }

    /// Deletes ids; ids the index does not hold are reported, not an error.
    @discardableResult
    public func delete(ids: [Int64]) throws -> UpdateReport {
        try environment.write { txn in
            var report = UpdateReport()
            let store = ListStore(index: self, txn: txn)
            for id in ids {
                if try store.remove(id: id) { report.deleted += 1 } else { report.missing.append(id) }
            }
            report.count = try store.adjustCount(by: -report.deleted)
            return report
        }
    }
}

/// The list-editing steps of an update, inside one write transaction.
struct ListStore {
    let index: IVFIndex
    let txn: WriteTransaction

    var d: Int { index.dimension }
    var capacity: Int { index.metadata.chunkCapacity }
    var vectorBytes: Int { IndexLayout.vectorBytes(index.metadata.encoding, dimension: d) }

    /// One chunk, decoded: its ids and its encoded vectors.
    struct Chunk {
        var ids: [Int64]
        var codes: [UInt8]
    }

    func readChunk(_ list: Int, _ chunk: Int) throws -> Chunk? {
        let vb = vectorBytes
        return try txn.withValue(forKey: IndexLayout.listKey(list, chunk), in: index.lists) { value in
            let count = value.count / (8 + vb)
            return Chunk(ids: (0..<count).map { value.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self) },
                         codes: Array(value[(8 * count)...]))
        }
    }

    func writeChunk(_ list: Int, _ chunk: Int, _ c: Chunk) throws {
        let key = IndexLayout.listKey(list, chunk)
        if c.ids.isEmpty {
            try txn.delete(key: key, in: index.lists)
            return
        }
        try txn.putReserved(size: 8 * c.ids.count + c.codes.count, forKey: key, in: index.lists) { out in
            c.ids.withUnsafeBytes { out.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            c.codes.withUnsafeBytes { (out.baseAddress! + 8 * c.ids.count).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }
    }

    /// The index of a list's last chunk, or nil for an empty list.
    func lastChunk(of list: Int) throws -> Int? {
        try txn.withCursor(in: index.lists) { cursor in
            let found = try cursor.seek(atLeast: IndexLayout.listKey(list + 1, 0)) ? try cursor.move(.previous) : try cursor.move(.last)
            guard found else { return nil }
            let key = try cursor.withCurrent { key, _ in IndexLayout.decodeListKey(key) }
            return key.list == list ? key.chunk : nil
        }
    }

    func encode(_ vector: [Float], list: Int) -> [UInt8] {
        if let quantizer = index.quantizer {
            var code = [UInt8](repeating: 0, count: d)
            let residual = (0..<d).map { vector[$0] - index.centroids[list, $0] }
            residual.withUnsafeBufferPointer { quantizer.encode($0, into: &code) }
            return code
        }
        return vector.withUnsafeBytes { Array($0) }
    }

    func append(id: Int64, vector: [Float], list: Int) throws {
        var chunkIndex = try lastChunk(of: list) ?? 0
        var chunk = try readChunk(list, chunkIndex) ?? Chunk(ids: [], codes: [])
        if chunk.ids.count >= capacity {
            chunkIndex += 1
            chunk = Chunk(ids: [], codes: [])
        }
        let position = chunkIndex * capacity + chunk.ids.count
        chunk.ids.append(id)
        chunk.codes += encode(vector, list: list)
        try writeChunk(list, chunkIndex, chunk)
        let key = IndexLayout.idKey(id)
        try txn.put(IndexLayout.location(list, position), forKey: key, in: index.idsDB)
        if index.quantizer != nil { try txn.put(vector.withUnsafeBytes { Array($0) }, forKey: key, in: index.raw) }
    }

    /// Removes `id` if present, filling its slot with the list's last vector. Returns whether it was there.
    func remove(id: Int64) throws -> Bool {
        let key = IndexLayout.idKey(id)
        guard let (list, position) = try txn.withValue(forKey: key, in: index.idsDB, IndexLayout.decodeLocation) else { return false }
        guard let lastIndex = try lastChunk(of: list), var last = try readChunk(list, lastIndex) else {
            throw IndexError.notAnIndex(path: index.path, reason: "id \(id) points into an empty list \(list)")
        }
        let chunkIndex = position / capacity, slot = position % capacity
        let vb = vectorBytes
        let movedID = last.ids.removeLast()
        let movedCode = Array(last.codes.suffix(vb))
        last.codes.removeLast(vb)
        if movedID != id {
            if chunkIndex == lastIndex {
                last.ids[slot] = movedID
                last.codes.replaceSubrange((slot * vb)..<((slot + 1) * vb), with: movedCode)
            } else {
                guard var hole = try readChunk(list, chunkIndex), slot < hole.ids.count else {
                    throw IndexError.notAnIndex(path: index.path, reason: "id \(id) points past the end of list \(list)")
                }
                hole.ids[slot] = movedID
                hole.codes.replaceSubrange((slot * vb)..<((slot + 1) * vb), with: movedCode)
                try writeChunk(list, chunkIndex, hole)
            }
            try txn.put(IndexLayout.location(list, position), forKey: IndexLayout.idKey(movedID), in: index.idsDB)
        }
        try writeChunk(list, lastIndex, last)
        try txn.delete(key: key, in: index.idsDB)
        if index.quantizer != nil { try txn.delete(key: key, in: index.raw) }
        return true
    }

    /// Updates the stored vector count; returns the new count.
    func adjustCount(by delta: Int) throws -> Int {
        let meta = try txn.openDatabase(named: "meta")
        guard var m = try txn.withValue(forKey: Array("meta".utf8), in: meta, { try IndexLayout.decodeMetadata($0, path: index.path) }) else {
            throw IndexError.notAnIndex(path: index.path, reason: "no metadata")
        }
        m.count += delta
        try txn.put(try IndexLayout.encodeMetadata(m), forKey: Array("meta".utf8), in: meta)
        return m.count
    }
}
