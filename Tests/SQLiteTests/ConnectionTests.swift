import Foundation
import SQLite
import TestScratch
import Testing

/// Databases live in the process's scratch directory (removed at exit: not every test closes its
/// database, so they are not removed one by one).
func temporaryDatabasePath() -> String { Scratch.path("sqlite", suffix: ".sqlite") }

struct ConnectionTests {
    @Test func opensInWALModeWithABusyTimeout() throws {
        let db = try Connection(path: temporaryDatabasePath())
        let statement = try db.prepare("PRAGMA journal_mode")
        #expect(try statement.step())
        #expect(statement.string(0) == "wal")
    }

    @Test func typedBindingRoundTrips() throws {
        let db = try Connection(path: temporaryDatabasePath())
        try db.execute("CREATE TABLE t(i INTEGER, r REAL, s TEXT, b BLOB, n)")
        try db.prepare("INSERT INTO t VALUES (?, ?, ?, ?, ?)")
            .run(.integer(-42), .real(2.5), .text("héllo"), .blob([0, 255, 7]), .null)
        var seen = false
        try db.prepare("SELECT i, r, s, b, n FROM t").query { row in
            #expect(row.int(0) == -42)
            #expect(row.double(1) == 2.5)
            #expect(row.string(2) == "héllo")
            #expect(row.blob(3) == [0, 255, 7])
            #expect(row.isNull(4) && row.optionalInt(4) == nil)
            seen = true
        }
        #expect(seen)
    }

    struct Boom: Error {}

    @Test func aThrowingTransactionRollsBackEverything() throws {
        let db = try Connection(path: temporaryDatabasePath())
        try db.execute("CREATE TABLE t(x INTEGER)")
        try db.prepare("INSERT INTO t VALUES (1)").run()
        #expect(throws: Boom.self) {
            try db.transaction {
                try db.prepare("INSERT INTO t VALUES (2)").run()
                try db.prepare("DELETE FROM t WHERE x = 1").run()
                throw Boom()
            }
        }
        #expect(try db.scalarInt("SELECT group_concat(x) FROM t") == 1)
        #expect(!db.isInTransaction)
    }

    @Test func aFailingStatementInsideATransactionRollsBackAndNamesTheSQL() throws {
        let db = try Connection(path: temporaryDatabasePath())
        try db.execute("CREATE TABLE t(x INTEGER PRIMARY KEY)")
        #expect {
            try db.transaction {
                try db.prepare("INSERT INTO t VALUES (1)").run()
                try db.prepare("INSERT INTO t VALUES (1)").run()  // duplicate key
            }
        } throws: { error in
            guard let e = error as? SQLiteError else { return false }
            return e.primaryCode == 19 /* SQLITE_CONSTRAINT */ && e.sql == "INSERT INTO t VALUES (1)"
                && e.message.contains("UNIQUE")
        }
        #expect(try db.scalarInt("SELECT count(*) FROM t") == 0)
    }

    @Test func nestedTransactionsRollBackOnlyTheInnerPart() throws {
        let db = try Connection(path: temporaryDatabasePath())
        try db.execute("CREATE TABLE t(x INTEGER)")
        try db.transaction {
            try db.prepare("INSERT INTO t VALUES (1)").run()
            try? db.transaction {
                try db.prepare("INSERT INTO t VALUES (2)").run()
                throw Boom()
            }
            try db.prepare("INSERT INTO t VALUES (3)").run()
        }
        #expect(try db.scalarInt("SELECT sum(x) FROM t") == 4)
    }

    @Test func prepareErrorsCarryMessageAndSQL() throws {
        let db = try Connection(path: temporaryDatabasePath())
        #expect {
            _ = try db.prepare("SELECT nope FROM nowhere")
        } throws: { error in
            guard let e = error as? SQLiteError else { return false }
            return e.message.contains("no such table") && e.description.contains("SELECT nope FROM nowhere")
        }
    }

    @Test func aWriterWaitsOutTheBusyTimeoutThenFailsWithBusy() throws {
        let path = temporaryDatabasePath()
        let first = try Connection(path: path)
        try first.execute("CREATE TABLE t(x)")
        let second = try Connection(path: path, busyTimeoutMilliseconds: 50)
        try first.execute("BEGIN IMMEDIATE")
        let started = Date()
        #expect {
            try second.execute("INSERT INTO t VALUES (1)")
        } throws: { error in
            (error as? SQLiteError)?.primaryCode == 5 /* SQLITE_BUSY */
        }
        #expect(Date().timeIntervalSince(started) >= 0.04)
        try first.execute("COMMIT")
        try second.execute("INSERT INTO t VALUES (1)")  // free again
    }

    @Test func aFileThatIsNotADatabaseIsReportedByPath() throws {
        let path = temporaryDatabasePath()
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
        #expect {
            let db = try Connection(path: path)
            try db.execute("SELECT count(*) FROM sqlite_master")
        } throws: { error in
            (error as? SQLiteError)?.primaryCode == 26 /* SQLITE_NOTADB */
        }
    }

    /// A closed WAL database is checkpointed and its WAL deleted, unless the connection was told
    /// to skip that (for a file about to be deleted): then the WAL stays and the main file lacks
    /// the rows.
    @Test func closingCheckpointsUnlessToldToSkip() throws {
        func closeAfterWrites(skip: Bool) throws -> (walKept: Bool, mainFileBytes: Int) {
            let path = temporaryDatabasePath()
            do {
                let db = try Connection(path: path)
                try db.execute("PRAGMA wal_autocheckpoint = 0; CREATE TABLE t(x BLOB)")
                for _ in 0..<50 { try db.execute("INSERT INTO t VALUES (randomblob(4000))") }
                if skip { try db.skipCheckpointOnClose() }
            }
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? -1
            return (FileManager.default.fileExists(atPath: path + "-wal"), size)
        }
        let normal = try closeAfterWrites(skip: false), skipped = try closeAfterWrites(skip: true)
        #expect(!normal.walKept && normal.mainFileBytes > 50 * 4_000)
        #expect(skipped.walKept && skipped.mainFileBytes < 50 * 4_000)
    }
}
