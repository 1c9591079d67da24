import CSQLite
#if canImport(Glibc)
import Glibc
#endif

/// An operational failure of the store: which SQLite call, on what, with SQLite's result code
/// and message. One line, because operators read it in a terminal or a journal.
public struct StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The SQLite (extended) result code; 0 for failures that are not SQLite's (bad input).
    public var code: Int32
    /// The C function that failed ("sqlite3_open_v2") or the store operation.
    public var call: String
    /// What it was about: a path or a statement.
    public var subject: String
    public var message: String

    public init(code: Int32, call: String, subject: String, message: String) {
        self.code = code
        self.call = call
        self.subject = subject
        self.message = message
    }

    public var description: String {
        let what = subject.isEmpty ? "" : "\(subject): "
        return code == 0 ? "\(what)\(message)" : "\(what)\(call) failed (SQLite \(code)): \(message)"
    }
}

/// One SQLite connection (swift-system style: each `sqlite3_*` call wrapped once, failures as
/// `StoreError` with the code and the connection's message). Not shared between threads: the
/// store that owns it serialises access.
final class SQLiteDatabase {
    let handle: OpaquePointer
    let path: String

    /// Opens (creating if needed) a database file. The file is created 0600 — the store holds
    /// device addresses and visited URLs — and an existing store is tightened to 0600 by `EventStore` after its schema check.
    init(path: String, readOnly: Bool = false) throws {
        self.path = path
        if !readOnly {
            // Create it ourselves so no umask ever leaves it world-readable.
            // An existing file is tightened by the store once it knows the file is its own.
            let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 {
                fchmod(fd, 0o600)
                close(fd)
            } else if errno != EEXIST {
                throw StoreError(code: 0, call: "open", subject: path, message: String(cString: strerror(errno)))
            }
        }
        var db: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            if let db { sqlite3_close_v2(db) }
            throw StoreError(code: rc, call: "sqlite3_open_v2", subject: path, message: message)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { sqlite3_close_v2(handle) }

    func error(_ rc: Int32, _ call: String, _ subject: String) -> StoreError {
        StoreError(code: rc, call: call, subject: subject, message: String(cString: sqlite3_errmsg(handle)))
    }

    /// Runs statements that return no rows (schema, pragmas, transactions).
    func exec(_ sql: String) throws {
        let rc = sqlite3_exec(handle, sql, nil, nil, nil)
        if rc != SQLITE_OK { throw error(rc, "sqlite3_exec", sql) }
    }

    func busyTimeout(milliseconds: Int32) throws {
        let rc = sqlite3_busy_timeout(handle, milliseconds)
        if rc != SQLITE_OK { throw error(rc, "sqlite3_busy_timeout", path) }
    }

    func prepare(_ sql: String) throws -> SQLiteStatement {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(handle, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc, "sqlite3_prepare_v2", sql) }
        return SQLiteStatement(db: self, stmt: stmt, sql: sql)
    }

    /// The first column of the first row, as an integer (pragmas, counts).
    func scalar(_ sql: String, _ values: [SQLValue] = []) throws -> Int64? {
        let s = try prepare(sql)
        try s.bind(values)
        return try s.step() ? s.int(0) : nil
    }

    var changes: Int { Int(sqlite3_changes(handle)) }
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    /// `IMMEDIATE` takes the write lock up front, so a second writer waits (busy timeout)
    /// instead of failing half-way.
    func transaction<R>(_ body: () throws -> R) throws -> R {
        try exec("BEGIN IMMEDIATE")
        do {
            let r = try body()
            try exec("COMMIT")
            return r
        } catch {
            try? exec("ROLLBACK")
            throw error
        }
    }
}

/// A value to bind or read: the four SQLite storage classes we use.
enum SQLValue: Equatable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)

    init(_ s: String?) { self = s.map { .text($0) } ?? .null }
    init(_ i: Int64?) { self = i.map { .int($0) } ?? .null }
    init(_ i: Int?) { self = i.map { .int(Int64($0)) } ?? .null }
}

/// A prepared statement; finalised when released.
final class SQLiteStatement {
    let db: SQLiteDatabase
    let stmt: OpaquePointer
    let sql: String

    init(db: SQLiteDatabase, stmt: OpaquePointer, sql: String) {
        self.db = db
        self.stmt = stmt
        self.sql = sql
    }

    deinit { sqlite3_finalize(stmt) }

    /// Clears the previous run and binds `values` to ?1, ?2…
    func bind(_ values: [SQLValue]) throws {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
        for (i, v) in values.enumerated() {
            let n = Int32(i + 1)
            let rc: Int32
            switch v {
            case .null: rc = sqlite3_bind_null(stmt, n)
            case .int(let x): rc = sqlite3_bind_int64(stmt, n, x)
            case .double(let x): rc = sqlite3_bind_double(stmt, n, x)
            case .text(let s):
                var s = s
                rc = s.withUTF8 { u in
                    u.withMemoryRebound(to: CChar.self) { c in
                        guard let base = c.baseAddress else { return csqlite_bind_text_transient(stmt, n, "", 0) }
                        return csqlite_bind_text_transient(stmt, n, base, Int32(c.count))
                    }
                }
            }
            if rc != SQLITE_OK { throw db.error(rc, "sqlite3_bind", sql) }
        }
    }

    /// Advances: true when a row is ready, false when done.
    func step() throws -> Bool {
        let rc = sqlite3_step(stmt)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw db.error(rc, "sqlite3_step", sql)
        }
    }

    /// Binds and runs a statement that returns no rows.
    func run(_ values: [SQLValue]) throws {
        try bind(values)
        while try step() {}
    }

    func isNull(_ i: Int32) -> Bool { sqlite3_column_type(stmt, i) == SQLITE_NULL }
    func int(_ i: Int32) -> Int64 { sqlite3_column_int64(stmt, i) }
    func optionalInt(_ i: Int32) -> Int64? { isNull(i) ? nil : int(i) }
    func text(_ i: Int32) -> String? {
        guard let p = sqlite3_column_text(stmt, i) else { return nil }
        let n = Int(sqlite3_column_bytes(stmt, i))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }
}
