#include <sqlite3.h>

/// sqlite3_db_config is variadic, which Swift cannot call: one fixed-argument wrapper per option.
/// Whether closing the last connection to a WAL database skips the checkpoint (1) or runs it (0).
static inline int twotower_sqlite3_set_no_checkpoint_on_close(sqlite3 *db, int skip) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, skip, (int *)0);
}
