import Foundation
import LinearAlgebra

/// What a checkpoint records beside the weights.
public struct CheckpointInfo: Codable, Sendable, Equatable {
    public var formatVersion: Int
    public var userCount: Int
    public var itemCount: Int
    public var dimension: Int
    /// The training configuration, as JSON text.
    public var config: String
    /// The store and split it was trained on, and its validation score.
    public var store: String
    public var split: String
    public var validation: Double?
    public var epochs: Int
    /// The towers' shapes (format 2; format-1 checkpoints are ID-only models).
    public var architecture: ModelArchitecture?
    /// The training run in the store's `runs` table that produced it.
    public var run: Int?

    public init(formatVersion: Int, userCount: Int, itemCount: Int, dimension: Int, config: String,
                store: String, split: String, validation: Double?, epochs: Int) {
        self.formatVersion = formatVersion
        self.userCount = userCount
        self.itemCount = itemCount
        self.dimension = dimension
        self.config = config
        self.store = store
        self.split = split
        self.validation = validation
        self.epochs = epochs
    }

    /// The architecture, or the ID-only one a format-1 checkpoint implies.
    public var resolvedArchitecture: ModelArchitecture {
        architecture ?? .idOnly(users: userCount, items: itemCount, dimension: dimension)
    }
}

public enum CheckpointError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case fromTheFuture(path: String, found: Int, supported: Int)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): "\(path): not a TwoTower checkpoint (\(reason))"
        case let .fromTheFuture(path, found, supported): "\(path): checkpoint format \(found) is newer than this twotower reads (\(supported))"
        }
    }
}

/// A model directory holds `model.ckpt`: the magic `TTCKPT\n`, a little-endian UInt32 length,
/// the `CheckpointInfo` JSON (format 2 adds the architecture), then every parameter matrix in
/// `TwoTowerModel.parameters` order as float32, row-major (format 1: user then item table). It is written
/// to a temporary file and renamed, so a reader sees the old checkpoint or the new one, whole.
public enum Checkpoint {
    public static let formatVersion = 2
    static let magic = Array("TTCKPT\n".utf8)

    public static func file(in directory: String) -> String { (directory as NSString).appendingPathComponent("model.ckpt") }

    public static func save(_ model: TwoTowerModel, info: CheckpointInfo, to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        var info = info
        info.formatVersion = formatVersion
        info.architecture = model.architecture
        let json = try encoder.encode(info)
        var data = Data(magic)
        withUnsafeBytes(of: UInt32(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for matrix in model.parameters { matrix.values.withUnsafeBytes { data.append(contentsOf: $0) } }
        let path = file(in: directory), temporary = path + ".partial"
        try data.write(to: URL(fileURLWithPath: temporary))
        if rename(temporary, path) != 0 {
            throw CheckpointError.unreadable(path: path, reason: "cannot rename \(temporary): \(String(cString: strerror(errno)))")
        }
    }

    public static func load(from directory: String) throws -> (model: TwoTowerModel, info: CheckpointInfo) {
        let loaded = try decode(directory)
        return (loaded.model, loaded.info)
    }

    /// Loads a checkpoint with a fingerprint (16 hex digits) of the very bytes its weights came
    /// from: a server names the version that serves, and a checkpoint renamed into place while it
    /// loads cannot lend it the other file's name.
    public static func loadFingerprinted(from directory: String) throws -> (model: TwoTowerModel, info: CheckpointInfo, fingerprint: String) {
        let loaded = try decode(directory)
        return (loaded.model, loaded.info, fingerprint(of: loaded.bytes))
    }

    /// A 64-bit FNV-1a-style hash over 8-byte words (then the tail bytes): a change of any byte
    /// changes it; not cryptographic.
    public static func fingerprint(of data: Data) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        data.withUnsafeBytes { bytes in
            let words = bytes.count / 8
            for w in 0..<words {
                hash ^= bytes.loadUnaligned(fromByteOffset: 8 * w, as: UInt64.self)
                hash = hash &* 0x100_0000_01b3
            }
            for b in bytes[(8 * words)...] {
                hash ^= UInt64(b)
                hash = hash &* 0x100_0000_01b3
            }
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The model and header of a checkpoint, with the mapped bytes they were read from.
    private static func decode(_ directory: String) throws -> (model: TwoTowerModel, info: CheckpointInfo, bytes: Data) {
        let (path, data, info, start) = try open(directory)
        var model = TwoTowerModel(architecture: info.resolvedArchitecture, seed: 0, initialize: false)
        let shapes = model.parameters
        let floats = shapes.reduce(0) { $0 + $1.values.count }
        guard data.count == start + 4 * floats else {
            throw CheckpointError.unreadable(path: path, reason: "expected \(4 * floats) bytes of weights, found \(data.count - start)")
        }
        var offset = start
        model.parameters = shapes.map { shape in
            var values = [Float](repeating: 0, count: shape.values.count)
            values.withUnsafeMutableBytes { dst in
                data.withUnsafeBytes { dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + dst.count)])) }
            }
            offset += 4 * values.count
            return Matrix(rows: shape.rows, cols: shape.cols, values: values)
        }
        return (model, info, data)
    }

    /// The header of a checkpoint (what it was trained on, its shape and config) without its
    /// weights: for commands that only need to know which store split a model belongs to.
    public static func info(in directory: String) throws -> CheckpointInfo { try open(directory).info }

    /// The mapped file, its decoded header and the byte offset where the weights start.
    private static func open(_ directory: String) throws -> (path: String, data: Data, info: CheckpointInfo, weights: Int) {
        let path = FileManager.default.fileExists(atPath: directory + "/model.ckpt") ? file(in: directory) : directory
        // Mapped, not read: the weights are copied once, straight into the model's matrices.
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw CheckpointError.unreadable(path: path, reason: "cannot read it (does it exist? train one with `twotower train`)")
        }
        let bytes = [UInt8](data.prefix(magic.count + 4))
        guard bytes.count == magic.count + 4, Array(bytes[0..<magic.count]) == magic else {
            throw CheckpointError.unreadable(path: path, reason: "bad magic")
        }
        let length = bytes[magic.count..<(magic.count + 4)].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let jsonStart = magic.count + 4
        guard data.count >= jsonStart + length else { throw CheckpointError.unreadable(path: path, reason: "truncated header") }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        struct Version: Decodable { var formatVersion: Int }
        let header = data.subdata(in: jsonStart..<(jsonStart + length))
        guard let version = try? decoder.decode(Version.self, from: header) else { throw CheckpointError.unreadable(path: path, reason: "bad header") }
        guard version.formatVersion <= formatVersion else {
            throw CheckpointError.fromTheFuture(path: path, found: version.formatVersion, supported: formatVersion)
        }
        return (path, data, try decoder.decode(CheckpointInfo.self, from: header), jsonStart + length)
    }
}
