import Foundation
import LMDB
import Testing

/// A fresh directory under the system temp dir, removed when the test's scope ends.
final class TempDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "lmdb-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

struct EnvironmentTests {
    @Test func putGetDeleteAndIterateInKeyOrder() throws {
        let dir = TempDirectory()
        let env = try Environment(path: dir.file("env"))
        let db = try env.database(named: "things", create: true)
        try env.write { txn in
            for key in ["b", "a", "c"] { try txn.put(bytes("value-\(key)"), forKey: bytes(key), in: db) }
        }
        let value = try env.read { try $0.value(forKey: bytes("b"), in: db) }
        #expect(value == bytes("value-b"))
        var keys: [String] = []
        try env.read { txn in
            try txn.forEach(in: db) { key, _ in keys.append(String(decoding: key, as: UTF8.self)); return true }
        }
        #expect(keys == ["a", "b", "c"])
        let deleted = try env.write { try $0.delete(key: bytes("a"), in: db) }
        let deletedAgain = try env.write { try $0.delete(key: bytes("a"), in: db) }
        #expect(deleted && !deletedAgain)
        #expect(try env.read { try $0.count(in: db) } == 2)
    }

    @Test func zeroCopyReadLendsTheStoredBytes() throws {
        let dir = TempDirectory()
        let env = try Environment(path: dir.file("env"))
        let db = try env.database(named: "vectors", create: true)
        let floats: [Float] = [1.5, -2, 3.25]
        try env.write { txn in
            try txn.putReserved(size: 12, forKey: bytes("v"), in: db) { buffer in
                floats.withUnsafeBytes { buffer.copyMemory(from: $0) }
            }
        }
        let sum = try env.read { txn in
            try txn.withValue(forKey: bytes("v"), in: db) { raw in
                raw.bindMemory(to: Float.self).reduce(0, +)
            }
        }
        #expect(sum == 2.75)
        let missing = try env.read { try $0.withValue(forKey: bytes("nope"), in: db) { $0.count } }
        #expect(missing == nil)
    }

    struct Boom: Error {}

    @Test func aThrowingWriteIsAbortedAndLeavesNoTrace() throws {
        let dir = TempDirectory()
        let env = try Environment(path: dir.file("env"))
        let db = try env.database(named: "d", create: true)
        try env.write { try $0.put(bytes("1"), forKey: bytes("kept"), in: db) }
        #expect(throws: Boom.self) {
            try env.write { txn in
                try txn.put(bytes("2"), forKey: bytes("lost"), in: db)
                try txn.put(bytes("3"), forKey: bytes("kept"), in: db)
                throw Boom()
            }
        }
        #expect(try env.read { try $0.value(forKey: bytes("lost"), in: db) } == nil)
        #expect(try env.read { try $0.value(forKey: bytes("kept"), in: db) } == bytes("1"))
        // The environment still accepts writes: nothing was left open.
        try env.write { try $0.put(bytes("4"), forKey: bytes("after"), in: db) }
    }

    @Test func aTransactionUsedAfterItsScopeThrows() throws {
        let dir = TempDirectory()
        let env = try Environment(path: dir.file("env"))
        let db = try env.database(named: "d", create: true)
        let escaped = try env.read { $0 }
        #expect {
            _ = try escaped.value(forKey: bytes("k"), in: db)
        } throws: { error in
            (error as? LMDBError)?.code == LMDBError.closedCode
        }
    }

    @Test func mapFullGrowsTheMapAndRetries() throws {
        let dir = TempDirectory()
        var options = EnvironmentOptions(mapSize: 256 * 1024)
        options.maxMapSize = 64 << 20
        let env = try Environment(path: dir.file("env"), options: options)
        let db = try env.database(named: "big", create: true)
        let before = env.mapSize
        let blob = [UInt8](repeating: 7, count: 4096)
        var attempts = 0
        try env.write { txn in
            attempts += 1
            for i in 0..<512 { try txn.put(blob, forKey: bytes("key-\(i)"), in: db) }  // ~2 MiB
        }
        #expect(attempts > 1, "the first attempt should have hit MDB_MAP_FULL")
        #expect(env.mapSize > before)
        #expect(try env.read { try $0.count(in: db) } == 512)
    }

    @Test func mapFullAtTheLimitIsAnErrorNotACrash() throws {
        let dir = TempDirectory()
        var options = EnvironmentOptions(mapSize: 128 * 1024)
        options.maxMapSize = 256 * 1024
        let env = try Environment(path: dir.file("env"), options: options)
        let db = try env.database(named: "big", create: true)
        let blob = [UInt8](repeating: 1, count: 8192)
        #expect {
            try env.write { txn in for i in 0..<1024 { try txn.put(blob, forKey: bytes("k\(i)"), in: db) } }
        } throws: { error in
            (error as? LMDBError)?.isMapFull == true
        }
        #expect(try env.read { try $0.count(in: db) } == 0)
    }

    @Test func errorsCarryLMDBsCodeAndMessage() throws {
        let dir = TempDirectory()
        var options = EnvironmentOptions()
        options.readOnly = true
        #expect {
            _ = try Environment(path: dir.file("does-not-exist"), options: options)
        } throws: { error in
            guard let e = error as? LMDBError else { return false }
            return e.code == ENOENT && e.message.contains("No such file") && e.description.contains("does-not-exist")
        }
        let env = try Environment(path: dir.file("env"))
        #expect {
            _ = try env.database(named: "never-created")
        } throws: { error in
            (error as? LMDBError)?.isNotFound == true
        }
    }

    @Test func aDatabaseOpenedInAReadTransactionStaysUsable() throws {
        let dir = TempDirectory()
        do {
            let env = try Environment(path: dir.file("env"))
            let db = try env.database(named: "d", create: true)
            try env.write { try $0.put(bytes("v"), forKey: bytes("k"), in: db) }
        }
        var options = EnvironmentOptions()
        options.readOnly = true
        let env = try Environment(path: dir.file("env"), options: options)
        let db = try env.read { try $0.openDatabase(named: "d") }
        #expect(try env.read { try $0.value(forKey: bytes("k"), in: db) } == bytes("v"))
    }

    @Test func aReusableReaderSeesEachNewSnapshot() throws {
        let dir = TempDirectory()
        let env = try Environment(path: dir.file("env"))
        let db = try env.database(named: "d", create: true)
        let reader = try env.makeReader()
        for i in 0..<5 {
            try env.write { try $0.put(bytes("\(i)"), forKey: bytes("k"), in: db) }
            let seen = try reader.read { try $0.value(forKey: bytes("k"), in: db) }
            #expect(seen == bytes("\(i)"))
        }
    }

    @Test func manyReadersSeeConsistentSnapshotsWhileAWriterCommits() throws {
        let dir = TempDirectory()
        let env = try Environment(path: dir.file("env"))
        let db = try env.database(named: "pair", create: true)
        @Sendable func encode(_ n: Int) -> [UInt8] { withUnsafeBytes(of: n.littleEndian) { Array($0) } }
        @Sendable func decode(_ b: [UInt8]?) -> Int { b.map { $0.withUnsafeBytes { $0.loadUnaligned(as: Int.self) } } ?? -1 }
        try env.write { txn in
            try txn.put(encode(0), forKey: bytes("a"), in: db)
            try txn.put(encode(0), forKey: bytes("b"), in: db)
        }
        let commits = 300
        let readers = 6
        let inconsistencies = Counter(), reads = Counter(), readsDuringWrites = Counter()
        let writerDone = Counter(), readersStarted = Counter()
        let group = DispatchGroup()
        // Real threads (not concurrentPerform, which runs only as many iterations as there are
        // cores), and the writer starts only once every reader is reading.
        for _ in 0..<readers {
            group.enter()
            Thread {
                defer { group.leave() }
                let reader = try! env.makeReader()
                readersStarted.add(1)
                while writerDone.value == 0 || reads.value < 100 {
                    let (a, b) = try! reader.read { txn in
                        (decode(try txn.value(forKey: bytes("a"), in: db)), decode(try txn.value(forKey: bytes("b"), in: db)))
                    }
                    if a != b { inconsistencies.add(1) }
                    if writerDone.value == 0 && a > 0 && a < commits { readsDuringWrites.add(1) }
                    reads.add(1)
                }
            }.start()
        }
        while readersStarted.value < readers { usleep(1_000) }
        for n in 1...commits {
            try env.write { txn in
                try txn.put(encode(n), forKey: bytes("a"), in: db)
                try txn.put(encode(n), forKey: bytes("b"), in: db)
            }
        }
        writerDone.add(1)
        group.wait()
        #expect(inconsistencies.value == 0)
        #expect(reads.value >= 100)
        #expect(readsDuringWrites.value > 0, "no read overlapped the writer's commits")
        #expect(decode(try env.read { try $0.value(forKey: bytes("a"), in: db) }) == commits)
    }
}

/// A thread-safe counter for the concurrency test.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add(_ n: Int) { lock.lock(); count += n; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
