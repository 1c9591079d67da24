// The SQLite shim: Debian's libsqlite3-dev, plus what Swift cannot import from sqlite3.h
// (SQLITE_TRANSIENT is a macro casting -1 to a function pointer). Only UTMStore imports this.
#ifndef CSQLITE_SHIM_H
#define CSQLITE_SHIM_H
#include <sqlite3.h>

/// Binds text that SQLite copies before returning, so Swift's buffer may go away.
static inline int csqlite_bind_text_transient(sqlite3_stmt *s, int i, const char *text, int n) {
    return sqlite3_bind_text(s, i, text, n, SQLITE_TRANSIENT);
}
#endif
