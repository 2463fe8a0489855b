import Foundation
import LinearAlgebra
import LMDB
import Testing
@testable import VectorIndex

struct IndexBuildTests {
    @Test func eachBuildIsANewVersionAndOnlyTheLastNAreKept() throws {
        let dir = IndexDir()
        var p = ivfParameters(nlist: 4)
        p.keepVersions = 2
        var paths: [String] = []
        for seed in 1...3 {
            paths.append(try IndexBuilder.build(vectors: randomMatrix(100, 4, seed: UInt64(seed)), parameters: p, into: dir.path).path)
        }
        let directory = IndexDirectory(root: dir.path)
        #expect(directory.currentVersion().map { ($0 as NSString).standardizingPath } == (paths[2] as NSString).standardizingPath)
        #expect(directory.versions().count == 2)
        #expect(!FileManager.default.fileExists(atPath: paths[0]))
        #expect(try IVFIndex(path: dir.path).vector(id: 0) == Array(randomMatrix(100, 4, seed: 3).row(0)))
    }

    @Test func badInputsAreClearErrorsAndLeaveTheCurrentVersionAlone() throws {
        let dir = IndexDir()
        let good = try IndexBuilder.build(vectors: randomMatrix(50, 4, seed: 1), parameters: ivfParameters(nlist: 2), into: dir.path).path
        var withNaN = randomMatrix(50, 4, seed: 2)
        withNaN[7, 3] = .nan
        #expect {
            _ = try IndexBuilder.build(vectors: withNaN, parameters: ivfParameters(nlist: 2), into: dir.path)
        } throws: { error in
            guard case let .nonFinite(_, row, column, value)? = error as? IndexError else { return false }
            return row == 7 && column == 3 && value.isNaN
        }
        #expect(throws: IndexError.tooFewVectors(count: 50, nlist: 64)) {
            _ = try IndexBuilder.build(vectors: randomMatrix(50, 4, seed: 3), parameters: ivfParameters(nlist: 64), into: dir.path)
        }
        #expect(throws: IndexError.emptyInput("the vector set")) {
            _ = try IndexBuilder.build(vectors: Matrix(rows: 0, cols: 4), parameters: ivfParameters(nlist: 1), into: dir.path)
        }
        #expect(throws: IndexError.duplicateID(3)) {
            _ = try IndexBuilder.build(vectors: randomMatrix(4, 4, seed: 4), ids: [1, 3, 2, 3], parameters: ivfParameters(nlist: 1), into: dir.path)
        }
        var sqL2 = ivfParameters(nlist: 2)
        sqL2.encoding = .sq8
        sqL2.metric = .l2
        #expect(throws: IndexError.self) {
            _ = try IndexBuilder.build(vectors: randomMatrix(50, 4, seed: 5), parameters: sqL2, into: dir.path)
        }
        #expect(IndexDirectory(root: dir.path).currentVersion().map { ($0 as NSString).standardizingPath } == (good as NSString).standardizingPath)
        let index = try IVFIndex(path: dir.path)
        #expect(throws: IndexError.dimensionMismatch(expected: 4, got: 3, what: "the query")) {
            _ = try index.search([1, 2, 3], parameters: SearchParameters())
        }
        #expect(throws: IndexError.badParameter("nprobe must be at least 1, not 0")) {
            _ = try index.search([1, 2, 3, 4], parameters: SearchParameters(k: 1, nprobe: 0))
        }
    }

    @Test func missingForeignAndFutureIndexesAreRefused() throws {
        let dir = IndexDir()
        #expect(throws: IndexError.missingIndex(path: dir.path)) { _ = try IVFIndex(path: dir.path) }
        // A directory holding a garbage data.mdb.
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir.path + "/data.mdb", contents: Data(repeating: 0x5A, count: 65_536))
        #expect { _ = try IVFIndex(path: dir.path) } throws: { error in
            if case .notAnIndex? = error as? IndexError { return true }
            return false
        }
        // A real LMDB environment that is not an index.
        let other = IndexDir()
        do {
            let env = try Environment(path: other.path)
            let db = try env.database(named: "something", create: true)
            try env.write { try $0.put([1], forKey: [1], in: db) }
        }
        #expect { _ = try IVFIndex(path: other.path) } throws: { error in
            if case .notAnIndex? = error as? IndexError { return true }
            return false
        }
        // An index whose format version is from the future.
        let future = IndexDir()
        let built = try IndexBuilder.build(vectors: randomMatrix(20, 4, seed: 5), parameters: ivfParameters(nlist: 2), into: future.path).path
        do {
            let env = try Environment(path: built)
            let meta = try env.database(named: "meta")
            try env.write { txn in
                var m = try MetadataCoding.decode(try #require(try txn.value(forKey: Array("meta".utf8), in: meta)), path: built)
                m.formatVersion = 99
                try txn.put(try MetadataCoding.encode(m), forKey: Array("meta".utf8), in: meta)
            }
        }
        #expect { _ = try IVFIndex(path: future.path) } throws: { error in
            if case .formatFromTheFuture(_, 99, _)? = error as? IndexError { return true }
            return false
        }
    }

    @Test func vectorFilesRoundTripAndBadFilesAreNamed() throws {
        let dir = IndexDir()
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        let m = randomMatrix(5, 3, seed: 6)
        try VectorFile.writeNPY(m, to: dir.path + "/v.npy")
        #expect(try VectorFile.readMatrix(dir.path + "/v.npy") == m)
        try VectorFile.writeIDs([5, -2, 9], to: dir.path + "/ids.npy")
        #expect(try VectorFile.readIDs(dir.path + "/ids.npy") == [5, -2, 9])
        // fvecs: two rows of dimension 3.
        var fvecs = Data()
        for r in 0..<2 {
            withUnsafeBytes(of: Int32(3)) { fvecs.append(contentsOf: $0) }
            for j in 0..<3 { withUnsafeBytes(of: m[r, j]) { fvecs.append(contentsOf: $0) } }
        }
        _ = FileManager.default.createFile(atPath: dir.path + "/v.fvecs", contents: fvecs)
        #expect(try VectorFile.readMatrix(dir.path + "/v.fvecs").values == Array(m.values[0..<6]))
        _ = FileManager.default.createFile(atPath: dir.path + "/bad.npy", contents: Data("hello".utf8))
        #expect { _ = try VectorFile.readMatrix(dir.path + "/bad.npy") } throws: { error in
            "\(error)".contains("bad.npy") && "\(error)".contains("magic")
        }
        try VectorFile.writeIDs([1, 2], to: dir.path + "/ints.npy")
        #expect { _ = try VectorFile.readMatrix(dir.path + "/ints.npy") } throws: { error in
            "\(error)".contains("<i8")
        }
    }
}
