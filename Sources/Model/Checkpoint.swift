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
    /// The bytes are not the ones written: the checksum over them does not match.
    case corrupt(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): "\(path): not a TwoTower checkpoint (\(reason))"
        case let .fromTheFuture(path, found, supported): "\(path): checkpoint format \(found) is newer than this twotower reads (\(supported))"
        case let .corrupt(path, reason): "\(path): the checkpoint is damaged (\(reason)); train it again or restore a copy"
        }
    }
}

/// A model directory holds `model.ckpt`: the magic `TTCKPT\n`, a little-endian UInt32 length,
/// the `CheckpointInfo` JSON (format 2 adds the architecture), every parameter matrix in
/// `TwoTowerModel.parameters` order as float32, row-major (format 1: user then item table), and
/// (format 3) a little-endian UInt64 checksum of all the bytes before it. Loading verifies the
/// checksum and refuses non-finite weights, so a damaged file never serves. A checkpoint is
/// written to a temporary file and renamed, so a reader sees the old one or the new one, whole.
public enum Checkpoint {
    public static let formatVersion = 3
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
        withUnsafeBytes(of: checksum(of: data).littleEndian) { data.append(contentsOf: $0) }
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
        return (loaded.model, loaded.info, hex(loaded.checksum))
    }

    /// A 64-bit FNV-1a-style hash over 8-byte words (then the tail bytes). Each step is a
    /// bijection of the state, so a change confined to one word always changes the result;
    /// not cryptographic.
    public static func checksum(of data: Data) -> UInt64 {
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
        return hash
    }

    /// The checksum as 16 hex digits.
    public static func fingerprint(of data: Data) -> String { hex(checksum(of: data)) }

    static func hex(_ value: UInt64) -> String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The model and header of a checkpoint, and the checksum of its bytes.
    private static func decode(_ directory: String) throws -> (model: TwoTowerModel, info: CheckpointInfo, checksum: UInt64) {
        let (path, data) = try read(directory)
        return try decode(data, path: path)
    }

    /// The model and header from a checkpoint's bytes (`path` names it in errors).
    static func decode(_ data: Data, path: String) throws -> (model: TwoTowerModel, info: CheckpointInfo, checksum: UInt64) {
        let (info, start) = try header(data, path: path)
        let architecture = info.resolvedArchitecture
        let floats: Int
        do { floats = try architecture.parameterCount() } catch {
            throw CheckpointError.unreadable(path: path, reason: "its header describes an impossible model: \(error)")
        }
        let trailer = info.formatVersion >= 3 ? 8 : 0
        let (weightBytes, overflow) = floats.multipliedReportingOverflow(by: 4)
        guard !overflow, data.count - start - trailer == weightBytes else {
            throw CheckpointError.unreadable(path: path, reason: "expected \(floats) weights (\(weightBytes) bytes), found \(max(data.count - start - trailer, 0)) bytes")
        }
        var sum = checksum(of: data)
        if trailer > 0 {
            let body = data.prefix(data.count - trailer)
            sum = checksum(of: body)
            let stored = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: data.count - trailer, as: UInt64.self)) }
            guard stored == sum else {
                throw CheckpointError.corrupt(path: path, reason: "checksum \(hex(sum)) of its bytes, \(hex(stored)) recorded")
            }
        }
        var model = TwoTowerModel(architecture: architecture, seed: 0, initialize: false)
        let shapes = model.parameters
        var offset = start
        var parameters: [Matrix] = []
        for (index, shape) in shapes.enumerated() {
            var values = [Float](repeating: 0, count: shape.values.count)
            values.withUnsafeMutableBytes { dst in
                data.withUnsafeBytes { dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + dst.count)])) }
            }
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw CheckpointError.corrupt(path: path, reason: "parameter matrix \(index) holds \(values[bad]) at row \(bad / max(shape.cols, 1)), "
                                              + "column \(bad % max(shape.cols, 1))")
            }
            offset += 4 * values.count
            parameters.append(Matrix(rows: shape.rows, cols: shape.cols, values: values))
        }
        model.parameters = parameters
        return (model, info, sum)
    }

    /// The header of a checkpoint (what it was trained on, its shape and config) without its
    /// weights: for commands that only need to know which store split a model belongs to.
    public static func info(in directory: String) throws -> CheckpointInfo {
        let (path, data) = try read(directory)
        return try header(data, path: path).info
    }

    /// The checkpoint file of a model directory (or the file itself), mapped.
    private static func read(_ directory: String) throws -> (path: String, data: Data) {
        let path = FileManager.default.fileExists(atPath: directory + "/model.ckpt") ? file(in: directory) : directory
        // Mapped, not read: the weights are copied once, straight into the model's matrices.
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw CheckpointError.unreadable(path: path, reason: "cannot read it (does it exist? train one with `twotower train`)")
        }
        return (path, data)
    }

    /// The decoded header of a checkpoint's bytes and the byte offset where the weights start.
    static func header(_ data: Data, path: String) throws -> (info: CheckpointInfo, weights: Int) {
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
        guard let info = try? decoder.decode(CheckpointInfo.self, from: header) else { throw CheckpointError.unreadable(path: path, reason: "bad header") }
        return (info, jsonStart + length)
    }
}
