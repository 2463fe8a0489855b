/// The store's schema as an ordered list of migrations. `PRAGMA user_version` records how many
/// have been applied; opening a store applies the missing ones in one transaction.
///
/// Layout (version 5):
/// - `users(id, raw_id)`, `items(id, raw_id, label)`: dense ids from 0 ↔ the ids in the source files.
/// - `interactions(id, user, item, ts, weight)`: one row per event; `(user, item, ts)` is unique, so
///   re-ingesting the same files changes nothing. `ts` is NULL for formats without time. Indexed
///   by that key only (version 5 dropped the index by item).
/// - `features(id, entity, name, kind)`, `feature_tokens(id, feature, token)`: the feature catalogue
///   and the vocabulary of categorical and multi-hot features.
/// - `user_features` / `item_features(entity, feature, token, value)`: token 0 with the value for a
///   numeric feature; one row per token with value 1 for categorical and multi-hot features.
/// - `splits(id, name, method, parameters, created_at)` and `split_parts(split, interaction, part)`
///   with part 0 = train, 1 = validation, 2 = test.
/// - `runs(...)`: training and evaluation runs (added in version 2), with their `status` and the
///   `pid` of the process running them (version 4).
/// - `item_features_token`: items by feature token, for the daemon's `filter=` (version 3; without
///   it a filtered query reads the whole table).
enum Schema {
    static let migrations: [String] = [
        // 1: interactions, entities, features, splits.
        """
        CREATE TABLE store_info(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE users(id INTEGER PRIMARY KEY, raw_id TEXT NOT NULL UNIQUE);
        CREATE TABLE items(id INTEGER PRIMARY KEY, raw_id TEXT NOT NULL UNIQUE, label TEXT);
        CREATE TABLE interactions(
            id INTEGER PRIMARY KEY,
            user INTEGER NOT NULL REFERENCES users(id),
            item INTEGER NOT NULL REFERENCES items(id),
            ts INTEGER,
            weight REAL
        );
        CREATE UNIQUE INDEX interactions_key ON interactions(user, item, coalesce(ts, ''));
        CREATE INDEX interactions_item ON interactions(item);
        CREATE TABLE features(
            id INTEGER PRIMARY KEY,
            entity TEXT NOT NULL CHECK (entity IN ('user', 'item')),
            name TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('categorical', 'multihot', 'numeric')),
            UNIQUE(entity, name)
        );
        CREATE TABLE feature_tokens(
            id INTEGER PRIMARY KEY,
            feature INTEGER NOT NULL REFERENCES features(id),
            token TEXT NOT NULL,
            UNIQUE(feature, token)
        );
        CREATE TABLE user_features(
            entity INTEGER NOT NULL REFERENCES users(id),
            feature INTEGER NOT NULL REFERENCES features(id),
            token INTEGER NOT NULL,
            value REAL NOT NULL,
            PRIMARY KEY (entity, feature, token)
        ) WITHOUT ROWID;
        CREATE TABLE item_features(
            entity INTEGER NOT NULL REFERENCES items(id),
            feature INTEGER NOT NULL REFERENCES features(id),
            token INTEGER NOT NULL,
            value REAL NOT NULL,
            PRIMARY KEY (entity, feature, token)
        ) WITHOUT ROWID;
        CREATE TABLE splits(
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            method TEXT NOT NULL,
            parameters TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE split_parts(
            split INTEGER NOT NULL REFERENCES splits(id) ON DELETE CASCADE,
            interaction INTEGER NOT NULL REFERENCES interactions(id) ON DELETE CASCADE,
            part INTEGER NOT NULL CHECK (part IN (0, 1, 2)),
            PRIMARY KEY (split, interaction)
        ) WITHOUT ROWID;
        """,
        // 2: training and evaluation runs.
        """
        CREATE TABLE runs(
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            config TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            wall_seconds REAL,
            summary TEXT
        );
        CREATE TABLE run_epochs(
            run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            epoch INTEGER NOT NULL,
            metrics TEXT NOT NULL,
            PRIMARY KEY (run, epoch)
        ) WITHOUT ROWID;
        """,
        // 3: the items carrying a token.
        itemFeaturesTokenIndex,
        // 4: a run's state (running, finished, failed, interrupted) and the process running it,
        // so a run killed without a chance to say so is found and marked at the next start.
        """
        ALTER TABLE runs ADD COLUMN status TEXT NOT NULL DEFAULT 'finished';
        ALTER TABLE runs ADD COLUMN pid INTEGER;
        UPDATE runs SET status = 'interrupted' WHERE finished_at IS NULL;
        """,
        // 5: no index of interactions by item. Only per-item counts read it, and a table scan
        // counts them; every insert paid for it, and the daemon's merges of online events
        // rewrote most of its pages each time (events land on items all over the catalogue).
        "DROP INDEX IF EXISTS interactions_item;",
    ]

    /// Items by feature token (the table's key columns ride along, so it covers the lookup).
    /// A bulk load into an empty table drops it and builds it once at the end, which is cheaper
    /// than keeping it up to date row by row (docs/benchmarks.md has the measurement).
    static let itemFeaturesTokenIndex = "CREATE INDEX item_features_token ON item_features(token);"

    /// The schema version this build writes and reads.
    static var currentVersion: Int { migrations.count }
}
