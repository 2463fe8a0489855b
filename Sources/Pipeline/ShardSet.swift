import Foundation
import VectorIndex

/// S index shards published together: a manifest naming one immutable index version per shard.
///
/// A batch engine builds the shards in parallel (`embed --shard I/S`, then `build-index --ids`);
/// the set becomes current only when `publish` writes the manifest, last, beside its destination
/// and renamed over it. A reader therefore sees the previous complete set or the new one, never a
/// mix, and a shard whose build failed or was retried leaves nothing a reader can open.
/// `recommend --index` takes a manifest as it takes one index.
public struct ShardSet: Codable, Sendable, Equatable {
    public struct Member: Codable, Sendable, Equatable {
        /// `I/S`.
        public var shard: String
        /// The shard's index version directory, relative to the manifest's directory when it is
        /// below it, else absolute.
        public var index: String
        /// Vectors in the shard.
        public var items: Int
    }

    public var format = "twotower-shard-set"
    public var formatVersion = 1
    public var dimension: Int
    public var metric: String
    public var publishedAt: String
    public var shards: [Member]

    enum CodingKeys: String, CodingKey {
        case format, formatVersion = "format_version", dimension, metric, publishedAt = "published_at", shards
    }

    /// Whether `path` is a manifest (a file) rather than an index directory.
    public static func isManifest(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && !directory.boolValue
    }

    /// Checks that the S index versions open, are complete and agree on dimension and metric,
    /// then writes the manifest to `path` atomically. `versions[i]` is shard i of S.
    @discardableResult
    public static func publish(versions: [String], to path: String) throws -> ShardSet {
        guard !versions.isEmpty else { throw JobError("a shard set needs at least one index version") }
        let base = (URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path as NSString).standardizingPath
        var members: [Member] = [], dimension = 0, metric = ""
        for (i, version) in versions.enumerated() {
            let index: IVFIndex
            do { index = try IVFIndex(path: version) } catch { throw JobError("shard \(i)/\(versions.count): \(version): \(error)") }
            // The version directory itself (immutable), not the CURRENT link a later build moves.
            let resolved = (URL(fileURLWithPath: index.path).standardizedFileURL.path as NSString).standardizingPath
            if i == 0 {
                dimension = index.dimension
                metric = index.metadata.metric.rawValue
            } else if index.dimension != dimension || index.metadata.metric.rawValue != metric {
                throw JobError("shard \(i)/\(versions.count): \(version) holds \(index.dimension)-dimensional \(index.metadata.metric.rawValue) "
                    + "vectors, shard 0 \(dimension)-dimensional \(metric) ones")
            }
            let relative = resolved.hasPrefix(base + "/") ? String(resolved.dropFirst(base.count + 1)) : resolved
            members.append(Member(shard: "\(i)/\(versions.count)", index: relative, items: index.metadata.count))
        }
        let set = ShardSet(dimension: dimension, metric: metric, publishedAt: ISO8601DateFormatter().string(from: Date()), shards: members)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let file = try OutputFile(path: path)
        file.write(String(decoding: try encoder.encode(set), as: UTF8.self) + "\n")
        try file.finish()
        return set
    }

    /// Reads a manifest and returns it with each shard's index path resolved.
    public static func load(_ path: String) throws -> (set: ShardSet, indexPaths: [String]) {
        guard let data = FileManager.default.contents(atPath: path) else { throw JobError("\(path): cannot read the shard set") }
        let set: ShardSet
        do { set = try JSONDecoder().decode(ShardSet.self, from: data) } catch {
            throw JobError("\(path): not a shard set manifest (\(error))")
        }
        guard set.format == "twotower-shard-set", set.formatVersion == 1, !set.shards.isEmpty else {
            throw JobError("\(path): not a version 1 shard set manifest with at least one shard")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        let paths = set.shards.map { $0.index.hasPrefix("/") ? $0.index : base.appendingPathComponent($0.index).path }
        return (set, paths)
    }
}

/// The best `k` of several shards' answers: best first, equal scores by id, so the merge does not
/// depend on the order the shards are given in.
public func mergeNeighbors(_ answers: [[Neighbor]], k: Int) -> [Neighbor] {
    var all = answers.flatMap { $0 }
    all.sort { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
    return Array(all.prefix(k))
}
