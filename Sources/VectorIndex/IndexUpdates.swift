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

/// In-place updates of the current version. Each call is one write transaction: readers that
/// began before it never see part of it, readers that begin after see all of it.
///
/// Lists stay dense: added vectors go to the end of their nearest lists (grouped, so a bulk
/// update writes each list's new entries once); a deleted one is replaced by its list's last
/// entry. Centroids are not retrained, so many updates can unbalance the lists: `index-stats`
/// reports the imbalance and `rebuild-index` re-clusters.
extension IVFIndex {
    /// Adds vectors under new ids and replaces the vectors of existing ones.
    /// - Throws: `IndexError.dimensionMismatch`, `.nonFinite`, `.duplicateID` (an id twice in one call).
    @discardableResult
    public func upsert(ids: [Int64], vectors input: Matrix, threads: Int = 2) throws -> UpdateReport {
        guard ids.count == input.rows else { throw IndexError.badParameter("\(ids.count) ids for \(input.rows) vectors") }
        guard input.cols == dimension || input.rows == 0 else {
            throw IndexError.dimensionMismatch(expected: dimension, got: input.cols, what: "the update")
        }
        try VectorFile.checkFinite(input, source: "the update")
        if metadata.metric == .cosine, let zero = IndexBuilder.firstZeroRow(input) {
            throw IndexError.badParameter("row \(zero) of the update is all zeros: a cosine index needs a direction for every vector")
        }
        var seen = Set<Int64>(minimumCapacity: ids.count)
        for id in ids where !seen.insert(id).inserted { throw IndexError.duplicateID(id) }
        seen = []
        guard !ids.isEmpty else { return try lists.read { reader in var r = UpdateReport(); r.count = try self.storedCount(reader); return r } }
        var vectors = input
        if metadata.metric == .cosine { KMeans.normalizeRows(&vectors) }
        let (assignment, _) = KMeans.assign(vectors, to: centroids, spherical: metadata.metric.spherical, threads: threads)
        let codes = ListFilling.encode(vectors, assignment: assignment, centroids: centroids, encoding: encoding, threads: threads)
        return try lists.write { writer in
            var report = UpdateReport()
            let replaced = try writer.remove(ids: ids)
            report.replaced = replaced.count
            report.added = ids.count - replaced.count
            try ListFilling.append(vectors: vectors, ids: ids, assignment: assignment, codes: codes, nlist: metadata.nlist,
                                   encoding: encoding, to: writer)
            report.count = try adjustCount(by: report.added, writer)
            return report
        }
    }

    /// Deletes ids; ids the index does not hold are reported, not an error.
    @discardableResult
    public func delete(ids: [Int64]) throws -> UpdateReport {
        try lists.write { writer in
            var report = UpdateReport()
            let removed = try writer.remove(ids: ids)
            report.deleted = removed.count
            var reported = Set<Int64>()
            report.missing = ids.filter { !removed.contains($0) && reported.insert($0).inserted }
            report.count = try adjustCount(by: -report.deleted, writer)
            return report
        }
    }

    private func storedCount(_ reader: any InvertedListsReader) throws -> Int {
        guard let bytes = try reader.value(forKey: "meta") else { throw IndexError.notAnIndex(path: path, reason: "no metadata") }
        return try MetadataCoding.decode(bytes, path: path).count
    }

    /// Updates the stored vector count; returns the new count.
    private func adjustCount(by delta: Int, _ writer: any InvertedListsWriter) throws -> Int {
        guard let bytes = try writer.value(forKey: "meta") else { throw IndexError.notAnIndex(path: path, reason: "no metadata") }
        var m = try MetadataCoding.decode(bytes, path: path)
        m.count += delta
        try writer.setValue(try MetadataCoding.encode(m), forKey: "meta")
        return m.count
    }
}
