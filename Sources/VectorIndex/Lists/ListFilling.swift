import LinearAlgebra

/// Puts many assigned vectors into lists at once, for builds and bulk updates alike: rows are
/// grouped by list (a counting sort), their codes computed on every core, and each list's
/// entries handed to the writer in one `append`, so every chunk is written once. Codes are
/// computed before the write transaction begins (`encode`), so it stays short.
enum ListFilling {
    /// Appends row `r` of `vectors` under `ids[r]` to list `assignment[r]`, with its code from
    /// `codes` (from `encode`).
    /// - Parameter progress: called with the number of lists done, now and then.
    static func append(vectors: Matrix, ids: [Int64], assignment: [Int32], codes: [UInt8]?, nlist: Int, encoding: any ListEncoding,
                       to writer: any InvertedListsWriter, progress: ((Int) -> Void)? = nil) throws {
        let n = vectors.rows, d = vectors.cols
        guard n > 0 else { return }
        // Rows grouped by list, in row order within a list.
        var starts = [Int](repeating: 0, count: nlist + 1)
        for a in assignment { starts[Int(a) + 1] += 1 }
        for l in 0..<nlist { starts[l + 1] += starts[l] }
        var order = [Int](repeating: 0, count: n)
        var fill = starts
        for (row, a) in assignment.enumerated() {
            order[fill[Int(a)]] = row
            fill[Int(a)] += 1
        }
        let cb = encoding.codeBytes, keeps = encoding.keepsFullVectors
        try vectors.values.withUnsafeBufferPointer { xs in
            for list in 0..<nlist where starts[list] < starts[list + 1] {
                let members = order[starts[list]..<starts[list + 1]]
                var entries = ListEntries()
                entries.ids.reserveCapacity(members.count)
                entries.codes.reserveCapacity(members.count * cb)
                if keeps { entries.vectors.reserveCapacity(members.count * d) }
                for row in members {
                    entries.ids.append(ids[row])
                    if let codes {
                        entries.codes += codes[(row * cb)..<((row + 1) * cb)]
                        entries.vectors += UnsafeBufferPointer(rebasing: xs[(row * d)..<((row + 1) * d)])
                    } else {
                        // Flat: the code is the vector's bytes.
                        entries.codes += UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: xs[(row * d)..<((row + 1) * d)]))
                    }
                }
                try writer.append(entries, to: list)
                if list % 256 == 255 { progress?(list + 1) }
            }
        }
        progress?(nlist)
    }

    /// Every row's code (n × codeBytes), computed in parallel; nil for flat lists, whose codes
    /// are the vectors themselves.
    static func encode(_ vectors: Matrix, assignment: [Int32], centroids: Matrix, encoding: any ListEncoding,
                       threads: Int) -> [UInt8]? {
        guard encoding.keepsFullVectors else { return nil }
        let n = vectors.rows, d = vectors.cols, cb = encoding.codeBytes
        let parts = max(1, min(threads, n / 1_024 + 1))
        let pieces = Parallel.map(parts: parts) { part -> [UInt8] in
            let rows = Parallel.range(part, of: parts, count: n)
            var out = [UInt8](repeating: 0, count: rows.count * cb)
            vectors.values.withUnsafeBufferPointer { xs in
                centroids.values.withUnsafeBufferPointer { cs in
                    out.withUnsafeMutableBufferPointer { o in
                        for (i, r) in rows.enumerated() {
                            encoding.encode(xs.baseAddress! + r * d, centroid: cs.baseAddress! + Int(assignment[r]) * d,
                                            into: o.baseAddress! + i * cb)
                        }
                    }
                }
            }
            return out
        }
        return Array(pieces.joined())
    }
}
