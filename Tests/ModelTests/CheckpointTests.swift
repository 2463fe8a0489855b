import Foundation
import LinearAlgebra
import Model
import Testing

/// A damaged checkpoint never loads: its checksum catches changed bytes, non-finite weights are
/// refused, and a header describing an impossible model is an error before anything is allocated.
struct CheckpointTests {
    func saved() throws -> (dir: String, bytes: Data, model: TwoTowerModel) {
        let dir = NSTemporaryDirectory() + "ckpt-damage-" + UUID().uuidString
        let model = TwoTowerModel(userCount: 40, itemCount: 30, dimension: 8, seed: 3)
        let info = CheckpointInfo(formatVersion: Checkpoint.formatVersion, userCount: 40, itemCount: 30, dimension: 8,
                                  config: "{}", store: "s", split: "x", validation: nil, epochs: 1)
        try Checkpoint.save(model, info: info, to: dir)
        return (dir, try Data(contentsOf: URL(fileURLWithPath: Checkpoint.file(in: dir))), model)
    }

    func write(_ bytes: Data, to dir: String) throws { try bytes.write(to: URL(fileURLWithPath: Checkpoint.file(in: dir))) }

    @Test func weightsOverwrittenWithNaNAreRefusedEvenWithAMatchingChecksum() throws {
        let (dir, bytes, _) = try saved()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 0xFF bytes over the first weights, the header intact: the checksum no longer matches.
        var damaged = bytes
        let weightsEnd = bytes.count - 8
        for i in (weightsEnd - 4 * 40 * 8)..<(weightsEnd - 4 * 40 * 8 + 64) { damaged[i] = 0xFF }
        try write(damaged, to: dir)
        #expect { _ = try Checkpoint.load(from: dir) } throws: { "\($0)".contains("checksum") }
        // The same NaNs with the checksum recomputed (a writer that saved NaN weights): refused by value.
        var resealed = damaged.prefix(weightsEnd)
        withUnsafeBytes(of: Checkpoint.checksum(of: resealed).littleEndian) { resealed.append(contentsOf: $0) }
        try write(resealed, to: dir)
        #expect { _ = try Checkpoint.load(from: dir) } throws: { error in
            "\(error)".contains("nan") && "\(error)".contains("parameter matrix")
        }
    }

    @Test func fiftyRandomBitFlipsAreEachCaught() throws {
        let (dir, bytes, _) = try saved()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var state: UInt64 = 77
        for _ in 0..<50 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let position = Int(state >> 33) % bytes.count
            var flipped = bytes
            flipped[position] ^= UInt8(1 << (Int(state >> 20) % 8))
            try write(flipped, to: dir)
            #expect(throws: CheckpointError.self, "a flip at byte \(position) loaded") { _ = try Checkpoint.load(from: dir) }
        }
        try write(bytes, to: dir)
        #expect(throws: Never.self) { _ = try Checkpoint.load(from: dir) }
    }

    @Test func aHeaderAskingForAnImpossibleModelIsRefusedBeforeAllocating() throws {
        let (dir, bytes, _) = try saved()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let length = Int(bytes[7]) | Int(bytes[8]) << 8 | Int(bytes[9]) << 16 | Int(bytes[10]) << 24
        let header = String(decoding: bytes[11..<(11 + length)], as: UTF8.self)
        for (count, expected) in [("4611686018427387904", "impossible model"), ("-5", "impossible")] {
            let crafted = header.replacingOccurrences(of: "\"count\":40", with: "\"count\":\(count)")
            #expect(crafted != header)
            var data = Data(bytes.prefix(7))
            withUnsafeBytes(of: UInt32(crafted.utf8.count).littleEndian) { data.append(contentsOf: $0) }
            data.append(Data(crafted.utf8))
            data.append(bytes.suffix(from: 11 + length))
            try write(data, to: dir)
            #expect { _ = try Checkpoint.load(from: dir) } throws: { "\($0)".contains(expected) }
        }
    }
}
