/// Table layout. The three event tables share their leading columns so one search can read
/// them as a union; each adds its own.
enum Schema {
    static let commonColumns = [
        "time_us", "event_type", "flow_id", "src_ip", "src_port", "dest_ip", "dest_port", "proto",
        "src_mac", "dest_mac", "verdict", "host", "url", "category", "app",
    ]

    static let commonDefinition = """
        id INTEGER PRIMARY KEY,
          time_us INTEGER NOT NULL, event_type TEXT NOT NULL, flow_id INTEGER,
          src_ip TEXT, src_port INTEGER, dest_ip TEXT, dest_port INTEGER, proto TEXT,
          src_mac TEXT, dest_mac TEXT, verdict TEXT NOT NULL CHECK (verdict IN ('allowed', 'blocked')),
          host TEXT, url TEXT, category TEXT, app TEXT
        """
}

/// Schema versions, kept in SQLite's `user_version`. Version N is `all[N-1]`; a migration runs
/// in the transaction that sets the version, so a crash leaves the old or the new schema.
/// Append new steps; never edit a released one.
enum Migrations {
    static let all: [String] = [
        // 1: alerts, file verdicts, access records, upload queue, counters.
        """
        CREATE TABLE alerts(\(Schema.commonDefinition),
          signature_id INTEGER, signature TEXT, severity INTEGER);
        CREATE INDEX alerts_time ON alerts(time_us);
        CREATE TABLE files(\(Schema.commonDefinition),
          filename TEXT, size INTEGER, sha256 TEXT, virus TEXT, severity INTEGER);
        CREATE INDEX files_time ON files(time_us);
        CREATE TABLE access(\(Schema.commonDefinition),
          bytes_toserver INTEGER, bytes_toclient INTEGER);
        CREATE INDEX access_time ON access(time_us);
        CREATE INDEX access_flow ON access(flow_id);
        CREATE TABLE upload_queue(
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          time_us INTEGER NOT NULL, enqueued_us INTEGER NOT NULL, record TEXT NOT NULL);
        CREATE INDEX upload_enqueued ON upload_queue(enqueued_us);
        CREATE TABLE counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        """,
        // 2: definitions and firmware update history, for the monthly report (UpdateHistory.swift).
        """
        CREATE TABLE update_history(
          id INTEGER PRIMARY KEY, time_us INTEGER NOT NULL, kind TEXT NOT NULL,
          version TEXT NOT NULL, result TEXT NOT NULL, detail TEXT);
        CREATE INDEX update_history_time ON update_history(time_us);
        """,
    ]

    static func tooNew(_ path: String, _ v: Int64) -> StoreError {
        StoreError(code: 0, call: "open", subject: path,
                   message: "event store schema version \(v) is newer than this software (\(all.count)); refusing to touch it")
    }

    static func migrate(_ db: SQLiteDatabase) throws {
        let current = try db.scalar("PRAGMA user_version") ?? 0
        if current > Int64(all.count) { throw tooNew(db.path, current) }
        if current == 0 {
            // Must precede the first table: lets pruning give pages back to the file system.
            try db.exec("PRAGMA auto_vacuum=INCREMENTAL")
        }
        for v in Int(current)..<all.count {
            try db.transaction {
                // Re-read inside the write lock: another process may have migrated meanwhile.
                let now = try db.scalar("PRAGMA user_version") ?? 0
                guard now == Int64(v) else { return }
                try db.exec(all[v])
                try db.exec("PRAGMA user_version=\(v + 1)")
            }
        }
    }
}
