/// Shard `index` of `count`: the raw ids whose FNV-1a hash (64-bit, over their UTF-8 bytes)
/// is `index` modulo `count`. The hash depends on the id alone, so every process that shards
/// the same ids (embed on one executor, recommend on another) agrees without coordination.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, (0..<count).contains(index) else {
            throw JobError("a shard is I/S with 0 ≤ I < S, not \(index)/\(count)")
        }
        self.index = index
        self.count = count
    }

    /// Parses `I/S` (`0/4`).
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let s = Int(parts[1]) else {
            throw JobError("a shard is written I/S (for example 0/4), not '\(text)'")
        }
        try self.init(index: i, count: s)
    }

    public var description: String { "\(index)/\(count)" }

    /// Whether `raw` belongs to this shard.
    public func contains(_ raw: String) -> Bool { Int(Shard.hash(raw) % UInt64(count)) == index }

    /// FNV-1a, 64-bit.
    public static func hash(_ raw: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in raw.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }
}
