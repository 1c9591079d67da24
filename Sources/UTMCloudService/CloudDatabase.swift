import CSQLite
import Foundation
import UTMCloudClient

/// The service's SQLite file (WAL), in the thin wrapper style of UTMStore's SQLite.swift: each
/// `sqlite3_*` call wrapped once, failures as one `CloudError` line. One connection, used under
/// the service's lock.
final class CloudDatabase {
    let handle: OpaquePointer
    let path: String

    static let schema = [
        """
        CREATE TABLE devices(
          serial TEXT PRIMARY KEY, code TEXT NOT NULL, emails TEXT NOT NULL DEFAULT '',
          activated_us INTEGER, epoch TEXT, last_seen_us INTEGER, offline_reported_us INTEGER, status TEXT);
        CREATE TABLE commands(
          id INTEGER PRIMARY KEY AUTOINCREMENT, serial TEXT NOT NULL, kind TEXT NOT NULL, at TEXT,
          created_us INTEGER NOT NULL, acked_us INTEGER);
        CREATE TABLE alerts(
          id INTEGER PRIMARY KEY AUTOINCREMENT, serial TEXT NOT NULL, epoch TEXT NOT NULL, seq INTEGER NOT NULL,
          received_us INTEGER NOT NULL, severity INTEGER NOT NULL, record TEXT NOT NULL, notified_us INTEGER,
          UNIQUE(serial, epoch, seq));
        CREATE INDEX alerts_unnotified ON alerts(serial) WHERE notified_us IS NULL;
        CREATE TABLE mails(
          id INTEGER PRIMARY KEY AUTOINCREMENT, serial TEXT NOT NULL, kind TEXT NOT NULL, recipients TEXT NOT NULL,
          subject TEXT NOT NULL, sent_us INTEGER NOT NULL);
        """,
    ]

    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd) }
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            if let db { sqlite3_close_v2(db) }
            throw CloudError("\(path): sqlite3_open_v2 failed (SQLite \(rc))")
        }
        handle = db
        sqlite3_busy_timeout(db, 5000)
        try exec("PRAGMA journal_mode=WAL")
        try exec("PRAGMA synchronous=NORMAL")
        let version = try query("PRAGMA user_version").first?.first.flatMap { $0 }.flatMap { Int($0) } ?? 0
        guard version <= Self.schema.count else { throw CloudError("\(path): written by a newer mimamori-cloud (schema \(version))") }
        for step in version ..< Self.schema.count {
            try transaction {
                try exec(Self.schema[step])
                try exec("PRAGMA user_version = \(step + 1)")
            }
        }
    }

    deinit { sqlite3_close_v2(handle) }

    func failure(_ rc: Int32, _ call: String, _ sql: String) -> CloudError {
        CloudError("\(path): \(call) failed (SQLite \(rc)): \(String(cString: sqlite3_errmsg(handle))) in \(sql.prefix(60))")
    }

    func exec(_ sql: String) throws {
        let rc = sqlite3_exec(handle, sql, nil, nil, nil)
        if rc != SQLITE_OK { throw failure(rc, "sqlite3_exec", sql) }
    }

    /// Runs one statement with ?1… bound to `values` (String, Int, Int64 or nil) and returns
    /// every row as text columns.
    @discardableResult
    func query(_ sql: String, _ values: [Any?] = []) throws -> [[String?]] {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(handle, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw failure(rc, "sqlite3_prepare_v2", sql) }
        defer { sqlite3_finalize(stmt) }
        for (i, v) in values.enumerated() {
            let n = Int32(i + 1)
            let rc: Int32
            switch v {
            case let s as String: rc = csqlite_bind_text_transient(stmt, n, s, Int32(s.utf8.count))
            case let x as Int: rc = sqlite3_bind_int64(stmt, n, Int64(x))
            case let x as Int64: rc = sqlite3_bind_int64(stmt, n, x)
            default: rc = sqlite3_bind_null(stmt, n)
            }
            if rc != SQLITE_OK { throw failure(rc, "sqlite3_bind", sql) }
        }
        var rows: [[String?]] = []
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw failure(rc, "sqlite3_step", sql) }
            rows.append((0 ..< sqlite3_column_count(stmt)).map { i in
                guard let p = sqlite3_column_text(stmt, i) else { return nil }
                return String(decoding: UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(stmt, i))), as: UTF8.self)
            })
        }
        return rows
    }

    var changes: Int { Int(sqlite3_changes(handle)) }

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
