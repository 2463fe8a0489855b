import CLMDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How to open an LMDB environment.
public struct EnvironmentOptions: Sendable {
    /// Initial size of the memory map in bytes. It is address space, not memory; `write` doubles it
    /// when a transaction hits `MDB_MAP_FULL`.
    public var mapSize: Int = 1 << 30
    /// How many named databases the environment may hold.
    public var maxDatabases: Int = 16
    /// How many concurrent read transactions (across processes) the lock file has slots for.
    public var maxReaders: Int = 256
    /// Open read-only: no write transactions, and the lock file is still used for readers.
    public var readOnly: Bool = false
    /// The path names a single data file (plus `<path>-lock`) instead of a directory.
    public var noSubdirectory: Bool = false
    /// Skip fsync at commit. Faster, but a system crash may lose the last transactions.
    public var noSync: Bool = false
    /// Upper bound for automatic map growth.
    public var maxMapSize: Int = 1 << 40

    public init(mapSize: Int = 1 << 30, maxDatabases: Int = 16, readOnly: Bool = false,
                noSubdirectory: Bool = false) {
        self.mapSize = mapSize
        self.maxDatabases = maxDatabases
        self.readOnly = readOnly
        self.noSubdirectory = noSubdirectory
    }
}

/// A named (or the unnamed main) database inside an environment. A plain handle, valid for the
/// environment's lifetime once the transaction that opened it has committed.
public struct Database: Sendable, Hashable {
    let dbi: MDB_dbi
    /// The name it was opened with, `nil` for the main database.
    public let name: String?
}

/// An LMDB environment: one memory-mapped file shared by every transaction and process that opens it.
///
/// All access goes through scoped transactions: `read { txn in … }` and `write { txn in … }`.
/// A write transaction commits when its closure returns and aborts when it throws, so no path
/// leaves one open. Transactions are not tied to threads (`MDB_NOTLS`), so the environment can be
/// shared across threads and tasks.
public final class Environment: @unchecked Sendable {
    let handle: OpaquePointer
    /// The path the environment was opened at.
    public let path: String
    public let options: EnvironmentOptions
    let resizeLock = ReadWriteLock()
    private let writerLock = ReadWriteLock()
    private var currentMapSize: Int

    /// Opens (creating when allowed) the environment at `path`.
    /// - Throws: `LMDBError` naming the path when LMDB refuses it (missing directory when read-only,
    ///   a file that is not an LMDB environment, a version mismatch, …).
    public init(path: String, options: EnvironmentOptions = EnvironmentOptions()) throws {
        var env: OpaquePointer?
        try check(mdb_env_create(&env), "mdb_env_create")
        guard let env else { throw LMDBError(code: ENOMEM, operation: "mdb_env_create") }
        do {
            try check(mdb_env_set_maxdbs(env, MDB_dbi(options.maxDatabases)), "mdb_env_set_maxdbs")
            try check(mdb_env_set_maxreaders(env, UInt32(options.maxReaders)), "mdb_env_set_maxreaders")
            try check(mdb_env_set_mapsize(env, options.mapSize), "mdb_env_set_mapsize")
            var flags = UInt32(MDB_NOTLS)
            if options.readOnly { flags |= UInt32(MDB_RDONLY) }
            if options.noSubdirectory { flags |= UInt32(MDB_NOSUBDIR) }
            if options.noSync { flags |= UInt32(MDB_NOSYNC) }
            if !options.readOnly && !options.noSubdirectory {
                mkdir(path, 0o755)  // an existing directory is fine; other failures surface in mdb_env_open
            }
            try check(mdb_env_open(env, path, flags, 0o644), "mdb_env_open(\(path))")
        } catch {
            mdb_env_close(env)
            throw error
        }
        self.handle = env
        self.path = path
        self.options = options
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        self.currentMapSize = info.me_mapsize
    }

    deinit { mdb_env_close(handle) }

    /// The current size of the memory map in bytes (grows on `MDB_MAP_FULL`).
    public var mapSize: Int { resizeLock.withShared { currentMapSize } }

    /// Opens a named database (or the main one when `name` is nil), creating it when `create` is set.
    public func database(named name: String?, create: Bool = false) throws -> Database {
        if create {
            return try write { txn in try txn.openDatabase(named: name, create: true) }
        }
        return try read { txn in try txn.openDatabase(named: name, create: false) }
    }

    /// Runs `body` in a read-only transaction that sees one consistent snapshot.
    /// Buffers handed out by the transaction are valid only inside `body`.
    public func read<R>(_ body: (ReadTransaction) throws -> R) throws -> R {
        resizeLock.lockShared()
        defer { resizeLock.unlock() }
        let txn = try ReadTransaction(environment: self, handle: beginTransaction(readOnly: true))
        defer { txn.abortIfOpen() }
        let value = try body(txn)
        // Ending a read-only transaction by commit rather than abort keeps the database handles it
        // opened valid for the environment (LMDB closes them on abort).
        try txn.finish()
        return value
    }

    /// Runs `body` in a write transaction: commits when it returns, aborts when it throws.
    ///
    /// When the map is full the transaction is aborted, the map doubled (up to
    /// `options.maxMapSize`) and `body` run again from the start, so `body` should have no
    /// effects outside the transaction. Writers are serialised, as LMDB requires.
    public func write<R>(_ body: (WriteTransaction) throws -> R) throws -> R {
        precondition(!options.readOnly, "write transaction on a read-only LMDB environment")
        while true {
            let outcome: Result<R, Error> = writerLock.withExclusive {
                resizeLock.lockShared()
                defer { resizeLock.unlock() }
                do {
                    let txn = try WriteTransaction(environment: self, handle: beginTransaction(readOnly: false))
                    do {
                        let value = try body(txn)
                        try txn.commit()
                        return .success(value)
                    } catch {
                        txn.abortIfOpen()
                        throw error
                    }
                } catch {
                    return .failure(error)
                }
            }
            switch outcome {
            case .success(let value):
                return value
            case .failure(let error as LMDBError) where error.isMapFull:
                try grow()
            case .failure(let error):
                throw error
            }
        }
    }

    /// A reusable read transaction for hot paths: `read` renews it and resets it afterwards,
    /// avoiding the cost of creating a transaction per query.
    public func makeReader() throws -> Reader { try Reader(environment: self) }

    /// Flushes the data to disk (useful with `noSync`).
    public func sync() throws { try check(mdb_env_sync(handle, 1), "mdb_env_sync") }

    /// Doubles the map size. Waits for this process's transactions to finish.
    func grow() throws {
        try resizeLock.withExclusive {
            let target = min(currentMapSize * 2, options.maxMapSize)
            guard target > currentMapSize else {
                throw LMDBError(code: MDB_MAP_FULL,
                                message: "map is full at its maximum size of \(currentMapSize) bytes",
                                operation: "grow map")
            }
            try check(mdb_env_set_mapsize(handle, target), "mdb_env_set_mapsize")
            currentMapSize = target
        }
    }

    /// Begins a raw transaction, adopting a map size grown by another process when LMDB asks.
    func beginTransaction(readOnly: Bool) throws -> OpaquePointer {
        var txn: OpaquePointer?
        var rc = mdb_txn_begin(handle, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn)
        if rc == MDB_MAP_RESIZED {
            // Another process grew the map. Adopting the new size needs no active transaction in
            // this process; the caller holds the resize lock shared, so ask LMDB directly.
            mdb_env_set_mapsize(handle, 0)
            rc = mdb_txn_begin(handle, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn)
        }
        try check(rc, "mdb_txn_begin")
        guard let txn else { throw LMDBError(code: ENOMEM, operation: "mdb_txn_begin") }
        return txn
    }
}
