/// Where one stored vector sits: its list, the chunk of that list, the slot in the chunk.
public struct ListLocation: Hashable, Comparable, Sendable {
    public var list: Int
    public var chunk: Int
    public var slot: Int

    public init(list: Int, chunk: Int, slot: Int) {
        self.list = list
        self.chunk = chunk
        self.slot = slot
    }

    public static func < (a: ListLocation, b: ListLocation) -> Bool {
        (a.list, a.chunk, a.slot) < (b.list, b.chunk, b.slot)
    }
}

/// One chunk of a list, viewed where it is stored (valid only inside the read or write that
/// produced it): `count` ids, their packed codes, and, for encodings that re-rank, their
/// full-precision vectors.
public struct ListChunk {
    public let list: Int
    public let chunk: Int
    public let count: Int
    /// `count` Int64 ids (no alignment promised).
    public let ids: UnsafeRawPointer
    /// The encoding's packed codes for the `count` vectors.
    public let codes: UnsafeRawPointer
    /// `count × dimension` float32 (no alignment promised): the vectors in full precision, kept
    /// beside the codes by encodings that re-rank; for flat lists the codes themselves.
    public let vectors: UnsafeRawPointer

    @inline(__always) public func id(_ slot: Int) -> Int64 { ids.loadUnaligned(fromByteOffset: 8 * slot, as: Int64.self) }
}

/// New entries for one list, in the order they are appended: ids, unpacked codes
/// (`codeBytes` each) and, when the encoding keeps them, full-precision vectors.
public struct ListEntries {
    public var ids: [Int64] = []
    public var codes: [UInt8] = []
    public var vectors: [Float] = []

    public init() {}

    public init(ids: [Int64], codes: [UInt8], vectors: [Float]) {
        self.ids = ids
        self.codes = codes
        self.vectors = vectors
    }

    public var count: Int { ids.count }
}

/// Read access to the lists inside one consistent snapshot.
public protocol InvertedListsReader {
    /// Calls `body` with each chunk of `list` in order, until it returns false.
    func forEachChunk(of list: Int, _ body: (ListChunk) throws -> Bool) throws
    /// Calls `body` with every chunk of every list, in list order, until it returns false.
    func forEachChunk(_ body: (ListChunk) throws -> Bool) throws
    /// Where `id` is stored, if it is.
    func location(of id: Int64) throws -> ListLocation?
    /// Calls `body` with the chunk at `list`, `chunk`, if there is one.
    func withChunk<T>(list: Int, chunk: Int, _ body: (ListChunk) throws -> T) throws -> T?
    /// A small named value the index keeps beside its lists (metadata, centroids, codec).
    func value(forKey key: String) throws -> [UInt8]?
}

/// Changes to the lists inside one write transaction.
public protocol InvertedListsWriter: InvertedListsReader {
    /// Appends entries to `list`. Each call writes the list's new chunks once: a bulk load or
    /// update groups its entries per list and calls this once per list.
    func append(_ entries: ListEntries, to list: Int) throws
    /// Removes the ids that are stored, filling each hole with the list's last entry; returns
    /// the ones it removed. Entries are grouped per list, so each touched chunk is written once.
    func remove(ids: [Int64]) throws -> Set<Int64>
    func setValue(_ bytes: [UInt8], forKey key: String) throws
}

/// Storage of an IVF index's lists, FAISS's `InvertedLists`: for each list, the ids and codes of
/// its vectors, in chunks, and an id → location map; plus a few named values. It stores bytes it
/// does not interpret (sizes come from the `ListEncoding` it was opened with), and `IVFIndex`
/// reads and changes it only through this protocol.
public protocol InvertedLists: AnyObject, Sendable {
    /// The encoding whose codes the lists hold (for sizes and re-packing on edits).
    var encoding: any ListEncoding { get }
    /// Runs `body` on one consistent snapshot; many reads may run at once.
    func read<T>(_ body: (any InvertedListsReader) throws -> T) throws -> T
    /// Runs `body` in one transaction: readers see all of it or none of it.
    func write<T>(_ body: (any InvertedListsWriter) throws -> T) throws -> T
}
