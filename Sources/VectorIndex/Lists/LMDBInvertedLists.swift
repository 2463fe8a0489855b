import Foundation
import LMDB

/// What the lists need to know to lay out their chunks.
public struct ListFormat: Sendable {
    public var encoding: any ListEncoding
    /// Most vectors one chunk holds (a chunk is one LMDB value).
    public var chunkCapacity: Int

    public init(encoding: any ListEncoding, chunkCapacity: Int) {
        self.encoding = encoding
        self.chunkCapacity = chunkCapacity
    }
}

/// Inverted lists in one LMDB environment (a version directory of an index).
///
/// Databases:
/// - `lists`: key = list (UInt32, big-endian) ‖ chunk (UInt32, big-endian), so one list's chunks
///   are adjacent and in order; chunks are numbered from 0 without gaps. Value = count Int64 ids,
///   the packed codes, then (for encodings that keep them, from a 4-byte boundary) count × d
///   float32 full-precision vectors, so a scan reads one run of memory and a re-rank finds each
///   candidate's vector beside its code. The count follows from the value's size (the size
///   grows with the count), so locating a chunk touches none of its bytes.
/// - `ids`: key = id (Int64 with the sign bit flipped, big-endian, so keys sort as numbers) →
///   list ‖ chunk ‖ slot (UInt32 each, little-endian).
/// - `meta`: named values of the index (metadata, centroids, codec).
///
/// Appends never rewrite a full chunk: entries go to new chunks, except that a last chunk
/// holding fewer than `mergeBelow` entries is merged with them (so single-vector updates do not
/// leave a chunk per vector). A bulk update therefore writes each new entry once, and the file
/// grows by about what the new entries take.
public final class LMDBInvertedLists: InvertedLists, @unchecked Sendable {
    public let environment: Environment
    public let format: ListFormat
    public var encoding: any ListEncoding { format.encoding }
    let listsDB: Database
    let idsDB: Database
    let metaDB: Database
    // The encoding's sizes, kept here: chunk views are computed on every scan.
    let keepsFullVectors: Bool
    let dimension: Int
    /// Packed code bytes by entry count, 0…chunkCapacity.
    let packedSizes: [Int]
    /// Value sizes by entry count, 0…chunkCapacity (strictly increasing).
    let valueSizes: [Int]

    static let databases = ["meta", "lists", "ids"]

    /// Creates empty lists in a new environment at `path` (a build).
    public init(creatingAt path: String, format: ListFormat, mapSize: Int) throws {
        var options = EnvironmentOptions(mapSize: mapSize, maxDatabases: 8)
        options.noSync = true  // a build syncs once, before publishing
        options.maxMapSize = 1 << 42
        environment = try Environment(path: path, options: options)
        let dbs = try environment.write { txn in try Self.databases.map { try txn.openDatabase(named: $0, create: true) } }
        (metaDB, listsDB, idsDB) = (dbs[0], dbs[1], dbs[2])
        self.format = format
        (keepsFullVectors, dimension) = (format.encoding.keepsFullVectors, format.encoding.dimension)
        packedSizes = (0...format.chunkCapacity).map { format.encoding.packedBytes(count: $0) }
        valueSizes = Self.sizes(packed: packedSizes, keepsFullVectors: keepsFullVectors, dimension: dimension)
    }

    /// Opens existing lists; `format` reads what it needs from the named values.
    public init(openingAt path: String, writable: Bool, format: ((String) throws -> [UInt8]?) throws -> ListFormat) throws {
        var options = EnvironmentOptions(mapSize: 1 << 30, maxDatabases: 8, readOnly: !writable)
        options.maxMapSize = 1 << 42
        environment = try Environment(path: path, options: options)
        let dbs = try environment.read { txn in try Self.databases.map { try txn.openDatabase(named: $0) } }
        (metaDB, listsDB, idsDB) = (dbs[0], dbs[1], dbs[2])
        let meta = metaDB
        self.format = try environment.read { txn in try format { key in try txn.value(forKey: Array(key.utf8), in: meta) } }
        (keepsFullVectors, dimension) = (self.format.encoding.keepsFullVectors, self.format.encoding.dimension)
        let format = self.format
        packedSizes = (0...format.chunkCapacity).map { format.encoding.packedBytes(count: $0) }
        valueSizes = Self.sizes(packed: packedSizes, keepsFullVectors: keepsFullVectors, dimension: dimension)
    }

    public func read<T>(_ body: (any InvertedListsReader) throws -> T) throws -> T {
        try environment.read { txn in try body(LMDBListReader(lists: self, txn: txn)) }
    }

    public func write<T>(_ body: (any InvertedListsWriter) throws -> T) throws -> T {
        try environment.write { txn in
            let writer = LMDBListWriter(lists: self, txn: txn)
            let value = try body(writer)
            try writer.flushLocations()
            return value
        }
    }

    /// Flushes everything to disk.
    public func sync() throws { try environment.sync() }

    // MARK: Layout

    var mergeBelow: Int { min(64, format.chunkCapacity) }

    static func chunkKey(_ list: Int, _ chunk: Int) -> [UInt8] {
        let l = UInt32(list).bigEndian, c = UInt32(chunk).bigEndian
        return withUnsafeBytes(of: l) { Array($0) } + withUnsafeBytes(of: c) { Array($0) }
    }

    static func decodeChunkKey(_ key: UnsafeRawBufferPointer) -> (list: Int, chunk: Int) {
        (Int(UInt32(bigEndian: key.loadUnaligned(as: UInt32.self))),
         Int(UInt32(bigEndian: key.loadUnaligned(fromByteOffset: 4, as: UInt32.self))))
    }

    static func idKey(_ id: Int64) -> [UInt8] {
        let ordered = (UInt64(bitPattern: id) ^ (1 << 63)).bigEndian
        return withUnsafeBytes(of: ordered) { Array($0) }
    }

    static func encodeLocation(_ l: ListLocation) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 12)
        bytes.withUnsafeMutableBytes { b in
            b.storeBytes(of: UInt32(l.list).littleEndian, toByteOffset: 0, as: UInt32.self)
            b.storeBytes(of: UInt32(l.chunk).littleEndian, toByteOffset: 4, as: UInt32.self)
            b.storeBytes(of: UInt32(l.slot).littleEndian, toByteOffset: 8, as: UInt32.self)
        }
        return bytes
    }

    static func decodeLocation(_ b: UnsafeRawBufferPointer) -> ListLocation? {
        guard b.count == 12 else { return nil }
        return ListLocation(list: Int(UInt32(littleEndian: b.loadUnaligned(as: UInt32.self))),
                            chunk: Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4, as: UInt32.self))),
                            slot: Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 8, as: UInt32.self))))
    }

    static func sizes(packed: [Int], keepsFullVectors: Bool, dimension: Int) -> [Int] {
        packed.enumerated().map { count, p in
            keepsFullVectors ? ((8 * count + p + 3) & ~3) + 4 * dimension * count : 8 * count + p
        }
    }

    func codesOffset(count: Int) -> Int { 8 * count }

    func vectorsOffset(count: Int) -> Int { vectorsOffset(count: count, packed: packedSizes[count]) }

    @inline(__always) func vectorsOffset(count: Int, packed: Int) -> Int {
        keepsFullVectors ? (codesOffset(count: count) + packed + 3) & ~3 : codesOffset(count: count)
    }

    func valueSize(count: Int) -> Int { valueSize(count: count, packed: packedSizes[count]) }

    @inline(__always) func valueSize(count: Int, packed: Int) -> Int {
        keepsFullVectors ? vectorsOffset(count: count, packed: packed) + 4 * dimension * count : codesOffset(count: count) + packed
    }

    /// The chunk a stored value holds, or nil when its size is no chunk's. The count is found
    /// from the size alone (a binary search of `valueSizes`).
    func view(_ value: UnsafeRawBufferPointer, list: Int, chunk: Int) -> ListChunk? {
        var lo = 1, hi = valueSizes.count - 1
        let size = value.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if valueSizes[mid] < size { lo = mid + 1 } else { hi = mid }
        }
        guard lo < valueSizes.count, valueSizes[lo] == size else { return nil }
        let count = lo, base = value.baseAddress!
        return ListChunk(list: list, chunk: chunk, count: count, ids: base, codes: base + codesOffset(count: count),
                         vectors: base + vectorsOffset(count: count, packed: packedSizes[count]))
    }

    func corrupt(_ list: Int, _ chunk: Int) -> IndexError {
        .notAnIndex(path: environment.path, reason: "chunk \(chunk) of list \(list) does not match its size")
    }
}

/// Reads of `LMDBInvertedLists` inside one transaction (read or write).
struct LMDBListReader: InvertedListsReader {
    let lists: LMDBInvertedLists
    let txn: Transaction

    func forEachChunk(of list: Int, _ body: (ListChunk) throws -> Bool) throws {
        try txn.withCursor(in: lists.listsDB) { cursor in
            guard try cursor.seek(atLeast: LMDBInvertedLists.chunkKey(list, 0)) else { return }
            while true {
                let more = try cursor.withCurrent { key, value -> Bool in
                    let (l, c) = LMDBInvertedLists.decodeChunkKey(key)
                    guard l == list else { return false }
                    guard let chunk = lists.view(value, list: l, chunk: c) else { throw lists.corrupt(l, c) }
                    return try body(chunk)
                }
                guard more, try cursor.move(.next) else { return }
            }
        }
    }

    func forEachChunk(_ body: (ListChunk) throws -> Bool) throws {
        try txn.forEach(in: lists.listsDB) { key, value in
            let (l, c) = LMDBInvertedLists.decodeChunkKey(key)
            guard let chunk = lists.view(value, list: l, chunk: c) else { throw lists.corrupt(l, c) }
            return try body(chunk)
        }
    }

    func location(of id: Int64) throws -> ListLocation? {
        try txn.withValue(forKey: LMDBInvertedLists.idKey(id), in: lists.idsDB) { LMDBInvertedLists.decodeLocation($0) } ?? nil
    }

    func withChunk<T>(list: Int, chunk: Int, _ body: (ListChunk) throws -> T) throws -> T? {
        try txn.withValue(forKey: LMDBInvertedLists.chunkKey(list, chunk), in: lists.listsDB) { value in
            guard let view = lists.view(value, list: list, chunk: chunk) else { throw lists.corrupt(list, chunk) }
            return try body(view)
        }
    }

    func value(forKey key: String) throws -> [UInt8]? {
        try txn.value(forKey: Array(key.utf8), in: lists.metaDB)
    }

    /// The number and entry count of `list`'s last chunk, or nil for an empty list.
    func lastChunk(of list: Int) throws -> (chunk: Int, count: Int)? {
        try txn.withCursor(in: lists.listsDB) { cursor in
            let found = try cursor.seek(atLeast: LMDBInvertedLists.chunkKey(list + 1, 0)) ? try cursor.move(.previous) : try cursor.move(.last)
            guard found else { return nil }
            return try cursor.withCurrent { key, value -> (Int, Int)? in
                let (l, c) = LMDBInvertedLists.decodeChunkKey(key)
                guard l == list else { return nil }
                guard let view = lists.view(value, list: l, chunk: c) else { throw lists.corrupt(l, c) }
                return (c, view.count)
            }
        }
    }
}

/// One chunk copied out for editing: ids, unpacked codes, full vectors (when kept).
struct EditableChunk {
    var ids: [Int64]
    var codes: [UInt8]
    var vectors: [Float]
    var count: Int { ids.count }
}

/// Changes to `LMDBInvertedLists` inside one write transaction. Id → location changes are
/// collected and written once, in key order, when the transaction's body returns.
final class LMDBListWriter: InvertedListsWriter {
    let lists: LMDBInvertedLists
    let txn: WriteTransaction
    let reader: LMDBListReader
    private var moved: [Int64: ListLocation] = [:]
    private var removed: Set<Int64> = []
    private var last: [Int: (chunk: Int, count: Int)?] = [:]
    private let idsWereEmpty: Bool

    init(lists: LMDBInvertedLists, txn: WriteTransaction) {
        self.lists = lists
        self.txn = txn
        self.reader = LMDBListReader(lists: lists, txn: txn)
        idsWereEmpty = ((try? txn.count(in: lists.idsDB)) ?? 1) == 0
    }

    var encoding: any ListEncoding { lists.encoding }
    var d: Int { encoding.dimension }

    func forEachChunk(of list: Int, _ body: (ListChunk) throws -> Bool) throws { try reader.forEachChunk(of: list, body) }
    func forEachChunk(_ body: (ListChunk) throws -> Bool) throws { try reader.forEachChunk(body) }
    func withChunk<T>(list: Int, chunk: Int, _ body: (ListChunk) throws -> T) throws -> T? { try reader.withChunk(list: list, chunk: chunk, body) }
    func value(forKey key: String) throws -> [UInt8]? { try reader.value(forKey: key) }

    func location(of id: Int64) throws -> ListLocation? {
        if let l = moved[id] { return l }
        if removed.contains(id) { return nil }
        return try reader.location(of: id)
    }

    func setValue(_ bytes: [UInt8], forKey key: String) throws {
        try txn.put(bytes, forKey: Array(key.utf8), in: lists.metaDB)
    }

    private func lastChunk(of list: Int) throws -> (chunk: Int, count: Int)? {
        if let known = last[list] { return known }
        let found = try reader.lastChunk(of: list)
        last[list] = found
        return found
    }

    private func load(_ list: Int, _ chunk: Int) throws -> EditableChunk {
        guard let copy = try reader.withChunk(list: list, chunk: chunk, { c -> EditableChunk in
            var codes = [UInt8](repeating: 0, count: c.count * encoding.codeBytes)
            codes.withUnsafeMutableBufferPointer { encoding.unpack(c.codes, count: c.count, into: $0.baseAddress!) }
            let vectors = encoding.keepsFullVectors
                ? (0..<(c.count * d)).map { c.vectors.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) } : []
            return EditableChunk(ids: (0..<c.count).map { c.id($0) }, codes: codes, vectors: vectors)
        }) else { throw lists.corrupt(list, chunk) }
        return copy
    }

    /// Writes `count` entries (ids, unpacked codes and vectors from the given offsets) as one chunk.
    private func store(_ list: Int, _ chunk: Int, ids: UnsafeBufferPointer<Int64>, codes: UnsafeBufferPointer<UInt8>,
                       vectors: UnsafeBufferPointer<Float>) throws {
        let count = ids.count
        let key = LMDBInvertedLists.chunkKey(list, chunk)
        guard count > 0 else {
            try txn.delete(key: key, in: lists.listsDB)
            return
        }
        let codesAt = lists.codesOffset(count: count), vectorsAt = lists.vectorsOffset(count: count)
        try txn.putReserved(size: lists.valueSize(count: count), forKey: key, in: lists.listsDB) { out in
            let base = out.baseAddress!
            base.copyMemory(from: ids.baseAddress!, byteCount: 8 * count)
            // The gap between the codes and the 4-byte-aligned vectors is zeroed, so files are reproducible.
            if vectorsAt > codesAt { (base + codesAt).initializeMemory(as: UInt8.self, repeating: 0, count: vectorsAt - codesAt) }
            encoding.pack(codes.baseAddress!, count: count, into: base + codesAt)
            if encoding.keepsFullVectors { (base + vectorsAt).copyMemory(from: vectors.baseAddress!, byteCount: 4 * d * count) }
        }
    }

    private func store(_ list: Int, _ chunk: Int, _ c: EditableChunk) throws {
        try c.ids.withUnsafeBufferPointer { ids in
            try c.codes.withUnsafeBufferPointer { codes in
                try c.vectors.withUnsafeBufferPointer { vectors in try store(list, chunk, ids: ids, codes: codes, vectors: vectors) }
            }
        }
    }

    func append(_ entries: ListEntries, to list: Int) throws {
        let n = entries.count
        guard n > 0 else { return }
        let cb = encoding.codeBytes, keeps = encoding.keepsFullVectors
        precondition(entries.codes.count == n * cb && (!keeps || entries.vectors.count == n * d), "entries do not match the encoding")
        let capacity = lists.format.chunkCapacity
        var taken = 0
        var next = 0
        if let tail = try lastChunk(of: list) {
            next = tail.chunk + 1
            if tail.count < lists.mergeBelow {
                var c = try load(list, tail.chunk)
                taken = min(capacity - c.count, n)
                c.ids += entries.ids[0..<taken]
                c.codes += entries.codes[0..<(taken * cb)]
                if keeps { c.vectors += entries.vectors[0..<(taken * d)] }
                for i in 0..<taken { moved[entries.ids[i]] = ListLocation(list: list, chunk: tail.chunk, slot: tail.count + i) }
                try store(list, tail.chunk, c)
                last[list] = (tail.chunk, c.count)
            }
        }
        try entries.ids.withUnsafeBufferPointer { ids in
            try entries.codes.withUnsafeBufferPointer { codes in
                try entries.vectors.withUnsafeBufferPointer { vectors in
                    while taken < n {
                        let count = min(capacity, n - taken)
                        try store(list, next, ids: UnsafeBufferPointer(rebasing: ids[taken..<(taken + count)]),
                                  codes: UnsafeBufferPointer(rebasing: codes[(taken * cb)..<((taken + count) * cb)]),
                                  vectors: keeps ? UnsafeBufferPointer(rebasing: vectors[(taken * d)..<((taken + count) * d)]) : vectors)
                        for i in 0..<count { moved[ids[taken + i]] = ListLocation(list: list, chunk: next, slot: i) }
                        last[list] = (next, count)
                        taken += count
                        next += 1
                    }
                }
            }
        }
        for id in entries.ids { removed.remove(id) }
    }

    func remove(ids: [Int64]) throws -> Set<Int64> {
        var byList: [Int: [(id: Int64, at: ListLocation)]] = [:]
        var found = Set<Int64>()
        for id in ids where !found.contains(id) {
            guard let at = try location(of: id) else { continue }
            found.insert(id)
            byList[at.list, default: []].append((id, at))
        }
        for (list, members) in byList { try remove(members, from: list) }
        for id in found {
            moved.removeValue(forKey: id)
            removed.insert(id)
        }
        return found
    }

    /// Removes entries of one list: holes are filled, lowest first, by the list's last entries
    /// (entries being removed themselves are dropped from the tail instead).
    private func remove(_ members: [(id: Int64, at: ListLocation)], from list: Int) throws {
        guard var tail = try lastChunk(of: list) else { throw IndexError.notAnIndex(path: lists.environment.path, reason: "list \(list) is empty but holds ids") }
        let leaving = Set(members.map(\.id))
        let holes = members.map(\.at).sorted()
        var lo = 0, hi = holes.count
        var chunks: [Int: EditableChunk] = [:]
        var emptied: [Int] = []
        func chunk(_ i: Int) throws -> EditableChunk {
            if let c = chunks[i] { return c }
            let c = try load(list, i)
            chunks[i] = c
            return c
        }
        let cb = encoding.codeBytes, keeps = encoding.keepsFullVectors
        while lo < hi {
            var t = try chunk(tail.chunk)
            let slot = t.count - 1
            let tailID = t.ids[slot]
            if !leaving.contains(tailID) {
                let h = holes[lo]
                lo += 1
                var target = h.chunk == tail.chunk ? t : try chunk(h.chunk)
                target.ids[h.slot] = tailID
                target.codes.replaceSubrange((h.slot * cb)..<((h.slot + 1) * cb), with: t.codes[(slot * cb)..<((slot + 1) * cb)])
                if keeps { target.vectors.replaceSubrange((h.slot * d)..<((h.slot + 1) * d), with: t.vectors[(slot * d)..<((slot + 1) * d)]) }
                if h.chunk == tail.chunk { t = target } else { chunks[h.chunk] = target }
                moved[tailID] = h
            } else {
                hi -= 1  // the tail itself is the last hole
            }
            t.ids.removeLast()
            t.codes.removeLast(cb)
            if keeps { t.vectors.removeLast(d) }
            chunks[tail.chunk] = t
            if t.count == 0 {
                emptied.append(tail.chunk)
                if tail.chunk == 0 {
                    precondition(lo >= hi, "holes left in an emptied list")
                    break
                }
                tail = (tail.chunk - 1, try chunk(tail.chunk - 1).count)
            } else {
                tail.count = t.count
            }
        }
        for (i, c) in chunks { try store(list, i, c) }
        last[list] = emptied.contains(0) ? .some(nil) : tail
    }

    /// Writes the id → location changes, in key order (appended in order when the map was empty,
    /// as in a build).
    func flushLocations() throws {
        for id in removed.sorted() { try txn.delete(key: LMDBInvertedLists.idKey(id), in: lists.idsDB) }
        let append = idsWereEmpty && removed.isEmpty
        for (id, at) in moved.sorted(by: { $0.key < $1.key }) {
            try txn.put(LMDBInvertedLists.encodeLocation(at), forKey: LMDBInvertedLists.idKey(id), in: lists.idsDB, append: append)
        }
        moved = [:]
        removed = []
    }
}
