import Foundation
import Store

/// A column of a delimited file: by header name, or by 1-based position.
public enum ColumnReference: Sendable, Equatable, CustomStringConvertible {
    case name(String)
    case position(Int)

    /// A positive integer is a position, anything else a header name.
    public init(_ text: String) {
        if let n = Int(text), n > 0 { self = .position(n) } else { self = .name(text) }
    }

    public var description: String {
        switch self {
        case .name(let n): "'\(n)'"
        case .position(let p): "column \(p)"
        }
    }
}

/// How to read delimited interaction files (`--format csv`).
public struct DelimitedOptions: Sendable {
    /// Field separator; nil picks tab for `.tsv` files and comma otherwise.
    public var delimiter: UInt8?
    /// Whether the first line names the columns.
    public var header = true
    public var user = ColumnReference.name("user")
    public var item = ColumnReference.name("item")
    /// The timestamp column; nil uses a header column named `timestamp`, `ts` or `time` when there is one.
    public var timestamp: ColumnReference?
    /// The weight column; nil uses a header column named `weight` or `rating` when there is one.
    public var weight: ColumnReference?
    /// Optional feature files (header required): an id column, then one column per feature
    /// named `name`, `name:categorical`, `name:multihot` or `name:numeric`.
    public var userFeatures: String?
    public var itemFeatures: String?
    /// Separator between the tokens of a multi-hot cell.
    public var tokenSeparator: UInt8 = UInt8(ascii: "|")

    public init() {}
}

/// Delimited interaction files. When `--input` is a directory it must hold `interactions.csv`
/// (or `.tsv`); `users.csv` and `items.csv` beside it are read as feature files. This is the
/// layout `twotower synth` writes.
struct DelimitedFormat {
    let reader: RecordReader
    let writer: StoreWriter
    let options: DelimitedOptions

    func ingest(input: String, report: inout IngestReport) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
            throw IngestError.missingFile(path: input, hint: "the --input file or directory does not exist")
        }
        var interactions = input
        var userFeatures = options.userFeatures, itemFeatures = options.itemFeatures
        if isDirectory.boolValue {
            guard let found = optionalFile(input, "interactions.csv") ?? optionalFile(input, "interactions.tsv") else {
                throw IngestError.missingFile(path: (input as NSString).appendingPathComponent("interactions.csv"),
                                              hint: "a csv --input directory must hold interactions.csv or interactions.tsv")
            }
            interactions = found
            userFeatures = userFeatures ?? optionalFile(input, "users.csv")
            itemFeatures = itemFeatures ?? optionalFile(input, "items.csv")
        }
        if let userFeatures { try FeatureFile(reader: reader, writer: writer, entity: .user, options: options).ingest(path: userFeatures, report: &report) }
        if let itemFeatures { try FeatureFile(reader: reader, writer: writer, entity: .item, options: options).ingest(path: itemFeatures, report: &report) }
        try ingestInteractions(interactions, report: &report)
    }

    private func splitter(for path: String) -> FieldSplitter {
        FieldSplitter(delimiter: options.delimiter ?? (path.hasSuffix(".tsv") ? 0x09 : 0x2C))
    }

    private func ingestInteractions(_ path: String, report: inout IngestReport) throws {
        var columns: (user: Int, item: Int, time: Int?, weight: Int?)?
        var headerCount: Int?
        func resolve(_ names: [String]?) throws {
            headerCount = names?.count
            func index(_ ref: ColumnReference, _ role: String) throws -> Int {
                switch ref {
                case .position(let p): return p - 1
                case .name(let n):
                    guard let names else {
                        throw IngestError.badOption("\(path): --\(role)-column \(n) names a column, but the file has no header (--no-header); give a 1-based column number")
                    }
                    guard let i = names.firstIndex(of: n) else {
                        throw IngestError.badOption("\(path): no column named '\(n)' for the \(role) (header: \(names.joined(separator: ", ")))")
                    }
                    return i
                }
            }
            func detect(_ given: ColumnReference?, _ role: String, _ candidates: [String]) throws -> Int? {
                if let given { return try index(given, role) }
                return names.flatMap { names in candidates.lazy.compactMap { names.firstIndex(of: $0) }.first }
            }
            columns = (try index(options.user, "user"), try index(options.item, "item"),
                       try detect(options.timestamp, "timestamp", ["timestamp", "ts", "time"]),
                       try detect(options.weight, "weight", ["weight", "rating"]))
        }
        if !options.header { try resolve(nil) }
        let header: ((Record) throws -> Void)? = options.header ? { r in try resolve((0..<r.count).map { r.text($0) }) } : nil
        try reader.read(path: path, splitter: splitter(for: path), report: &report, header: header) { r in
            guard let c = columns else { return 0 }
            let needed = [c.user, c.item, c.time ?? 0, c.weight ?? 0].max()! + 1
            let described = "user \(options.user), item \(options.item)"
                + (c.time.map { ", timestamp in column \($0 + 1)" } ?? "") + (c.weight.map { ", weight in column \($0 + 1)" } ?? "")
            // With a header, every line has exactly its columns; without one, at least those used.
            if let headerCount { try r.requireExactFields(headerCount, "as the header names") } else { try r.requireFields(needed, described) }
            let user = try r.id(c.user, "user"), item = try r.id(c.item, "item")
            let ts = try c.time.map { try r.timestamp($0, "timestamp") }
            let weight = try c.weight.map { try r.double($0, "weight") }
            try writer.addInteraction(user: try writer.id(of: .user, raw: user), item: try writer.id(of: .item, raw: item),
                                      timestamp: ts, weight: weight)
            return 1
        }
    }
}

/// A feature file: header `id, name[:kind], …`; kinds are categorical (default), multihot
/// (tokens separated by `|`) and numeric. Empty cells mean "no value".
struct FeatureFile {
    let reader: RecordReader
    let writer: StoreWriter
    let entity: Entity
    let options: DelimitedOptions

    func ingest(path: String, report: inout IngestReport) throws {
        var features: [(column: Int, id: Int, kind: FeatureKind, name: String)] = []
        let splitter = FieldSplitter(delimiter: options.delimiter ?? (path.hasSuffix(".tsv") ? 0x09 : 0x2C))
        let header: (Record) throws -> Void = { r in
            guard r.count >= 2 else {
                throw IngestError.badOption("\(path):1: a feature file needs a header with an id column and at least one feature column")
            }
            // The first column is the id: named `id`, the entity (`user`, `item`) or `<entity>_id`.
            let first = r.text(0)
            guard ["id", entity.rawValue, "\(entity.rawValue)_id"].contains(first.lowercased()) else {
                throw IngestError.badOption("\(path):1: column 1 is '\(first)'; a feature file's first column is the id, "
                                            + "named id, \(entity.rawValue) or \(entity.rawValue)_id")
            }
            var seen: [String: Int] = [:]
            for column in 1..<r.count {
                let spec = r.text(column).split(separator: ":", maxSplits: 1).map(String.init)
                guard let name = spec.first, !name.isEmpty else {
                    throw IngestError.badOption("\(path):1: header column \(column + 1) has no feature name")
                }
                if let earlier = seen[name] {
                    throw IngestError.badOption("\(path):1: column \(column + 1) declares feature '\(name)' again (first in column \(earlier + 1))")
                }
                seen[name] = column
                let kindText = spec.count > 1 ? spec[1] : "categorical"
                guard let kind = FeatureKind(rawValue: kindText) else {
                    throw IngestError.badOption("\(path): feature '\(name)' has unknown kind '\(kindText)' (categorical, multihot, numeric)")
                }
                features.append((column, try writer.feature(entity, name: name, kind: kind), kind, name))
            }
        }
        try reader.read(path: path, splitter: splitter, report: &report, header: header) { r in
            try r.requireExactFields(features.count + 1, "id and \(features.count) features, as the header names")
            let raw = try r.id(0, "\(entity) id")
            var parsed: [(Int, FeatureKind, [String], Double)] = []
            for f in features {
                if r.isEmpty(f.column) { parsed.append((f.id, f.kind, [], .nan)); continue }
                switch f.kind {
                case .numeric: parsed.append((f.id, f.kind, [], try r.double(f.column, f.name)))
                case .categorical: parsed.append((f.id, f.kind, [r.text(f.column)], .nan))
                case .multihot:
                    let tokens = r.text(f.column).split(separator: Character(Unicode.Scalar(options.tokenSeparator)))
                        .map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
                    parsed.append((f.id, f.kind, tokens, .nan))
                }
            }
            let id = try writer.id(of: entity, raw: raw)
            for (feature, kind, tokens, value) in parsed {
                if kind == .numeric {
                    if !value.isNaN { try writer.setNumeric(entity, id: id, feature: feature, value: value) }
                } else {
                    try writer.setTokens(entity, id: id, feature: feature, tokens: tokens)
                }
            }
            return 1
        }
    }
}
