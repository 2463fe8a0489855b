import Foundation
import LinearAlgebra
import Testing
@testable import VectorIndex

/// Crafted `.npy` files are errors, never crashes or huge allocations (the shape overflow from a
/// fault probe, and inputs `scripts/fuzz.sh` found).
struct VectorFileHardeningTests {
    func npy(shape: String, payload: Int) -> Data {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        data.append(Data(header.utf8))
        data.append(Data(count: payload))
        return data
    }

    @Test(arguments: ["(4611686018427387904, 4)", "(4, 4611686018427387904)", "(-3, 4)", "(99999999999999999999, 2)", "(1000, 1000)"])
    func aShapeThatDoesNotFitTheFileIsAnError(shape: String) {
        #expect { _ = try VectorFile.parseMatrix(npy: npy(shape: shape, payload: 64), path: "crafted.npy") } throws: { error in
            let text = "\(error)"
            return text.contains("crafted.npy") && (text.contains("too large for the file") || text.contains("negative") || text.contains("64 bits"))
        }
    }

    @Test func aTruncatedHeaderOfALaterFormatVersionIsAnError() {
        // Found by the fuzzer: version 0x93 with ten bytes read past the end of the header.
        let crash = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 0x93, 0x4E, 0x55, 0x01])
        #expect(throws: IndexError.self) { _ = try VectorFile.parseMatrix(npy: crash, path: "x.npy") }
        let version2 = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 0x02, 0x00, 0x10, 0x00])
        #expect(throws: IndexError.self) { _ = try VectorFile.parseMatrix(npy: version2, path: "x.npy") }
    }

    @Test func aShapeWhoseParenthesisComesBeforeItsOpeningIsAnError() throws {
        // Found by the fuzzer: ")" before "(" in the shape field made an invalid range.
        let crash = try #require(Data(base64Encoded: "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzrg18zTIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICggICAgICAgICAgICAgICAgICAgIAoAAIA/AAAAQAAAQEAAAIBAAACgQAAAwEA="))
        #expect(throws: IndexError.self) { _ = try VectorFile.parseMatrix(npy: crash, path: "x.npy") }
    }

    @Test func aWellFormedFileStillReads() throws {
        #expect(try VectorFile.parseMatrix(npy: npy(shape: "(2, 3)", payload: 24), path: "ok.npy").rows == 2)
    }
}

struct CosineZeroVectorTests {
    @Test func aCosineIndexRefusesZeroVectorsNamingTheRow() throws {
        let dir = IndexDir()
        var x = randomMatrix(40, 4, seed: 3)
        for j in 0..<4 { x[17, j] = 0 }
        var p = ivfParameters(nlist: 2)
        p.metric = .cosine
        #expect { _ = try IndexBuilder.build(vectors: x, parameters: p, into: dir.path) } throws: { "\($0)".contains("row 17") }
        // The same vectors build as inner product, and an update with a zero row is refused for cosine.
        for j in 0..<4 { x[17, j] = 1 }
        _ = try IndexBuilder.build(vectors: x, parameters: p, into: dir.path)
        let index = try IVFIndex(path: dir.path, writable: true)
        #expect { try index.upsert(ids: [99], vectors: Matrix(rows: 1, cols: 4)) } throws: { "\($0)".contains("row 0") }
    }
}
