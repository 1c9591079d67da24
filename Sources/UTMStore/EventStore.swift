import Foundation

/// Limits and knobs of the store, with the defaults a box uses.
public struct EventStoreConfig: Sendable {
    /// Rows kept in alerts + files + access together; the oldest go first beyond it.
    public var maxRows: Int = 2_000_000
    /// Bytes the database may use (pages in use, not counting the WAL); oldest rows go first.
    public var maxBytes: Int64 = 512 << 20
    /// How long a writer waits for another connection's lock before failing.
    public var busyTimeoutMilliseconds: Int32 = 5000
    /// EVE lines per transaction when ingesting.
    public var batchLines: Int = 1000
    /// Upload records kept while the cloud is unreachable; the oldest are dropped beyond it.
    public var uploadMaxRows: Int = 200_000
    /// Blocked web accesses in these categories are uploaded as alerts (malware, phishing…
    /// are reported as the "security" group by the engine).
    public var uploadCategories: Set<String> = ["security"]
    /// Devices kept in the device table; beyond it the least recently seen go (a LAN flooded
    /// with spoofed MACs must not grow the file without bound).
    public var maxDevices: Int = 10_000
    /// Wall clock for enqueue times and expiry (tests move it).
    public var clock: @Sendable () -> Int64 = { EventTime.now() }

    public init() {}
}

/// What an ingest did, for the operator and for counters.
public struct IngestReport: Sendable, Equatable {
    public var lines = 0
    public var alerts = 0
    public var files = 0
    public var access = 0
    /// Flow events merged into the access rows of their transactions.
    public var flowsMerged = 0
    /// Well-formed events the store does not keep (stats, DNS answers, IPS drops).
    public var ignored = 0
    public var malformed = 0
    public var uploadsQueued = 0
    /// DHCP events read into the device table.
    public var dhcp = 0
    /// The first few malformed lines, as "line N: reason".
    public var problems: [String] = []

    public init() {}

    /// One line for people: "412 lines: 3 alerts, 1 file, 200 access; 2 malformed (line 7: not JSON)".
    public var summary: String {
        var s = "\(lines) lines: \(alerts) alerts, \(files) files, \(access) access records"
        if flowsMerged > 0 { s += ", \(flowsMerged) flows merged" }
        if ignored > 0 { s += ", \(ignored) ignored" }
        if uploadsQueued > 0 { s += ", \(uploadsQueued) queued for upload" }
        if dhcp > 0 { s += ", \(dhcp) DHCP" }
        if malformed > 0 { s += "; \(malformed) malformed skipped (\(problems.joined(separator: "; ")))" }
        return s
    }
}

/// The box's event store: alerts, file verdicts and access records (including web-filter
/// blocks) from the engine's EVE output, for investigations and the monthly report, and the
/// upload queue of alert metadata for the cloud.
///
/// SQLite in WAL mode with synchronous=NORMAL: a killed process or a power cut loses at most
/// the last transactions, never the database. One instance is one connection; it is not
/// thread-safe (wrap it in an actor or a service to share it). Several processes may open the
/// same file: writers wait for each other up to the busy timeout.
public final class EventStore {
    /// The schema version this code writes; older files are migrated on open.
    public static let schemaVersion = Migrations.all.count

    let db: SQLiteDatabase
    public let config: EventStoreConfig
    public let path: String
    var insertAlert, insertFile, insertAccess: SQLiteStatement
    var mergeFlowApp, mergeFlowBytes, dropExists, deleteDrops, enqueue: SQLiteStatement

    /// Opens or creates the store. A file written by a newer schema is refused (one line).
    public init(path: String, config: EventStoreConfig = EventStoreConfig(), readOnly: Bool = false) throws {
        self.path = path
        self.config = config
        if readOnly && !FileManager.default.fileExists(atPath: path) {
            throw StoreError(code: 0, call: "open", subject: path, message: "no event store here")
        }
        db = try SQLiteDatabase(path: path, readOnly: readOnly)
        try db.busyTimeout(milliseconds: config.busyTimeoutMilliseconds)
        if !readOnly {
            try db.exec("PRAGMA journal_mode=WAL")
            try db.exec("PRAGMA synchronous=NORMAL")
            try db.exec("PRAGMA journal_size_limit=\(4 << 20)")
            try Migrations.migrate(db)
            chmod(path, 0o600) // ours for sure now: an older file made with a loose umask is tightened
        } else {
            let v: Int64
            do { v = try db.scalar("PRAGMA user_version") ?? 0 } catch var e as StoreError {
                e.subject = path // "file is not a database": say which file
                throw e
            }
            if v == 0 { throw StoreError(code: 0, call: "open", subject: path, message: "not an event store (empty or no schema)") }
            if v > Int64(Self.schemaVersion) { throw Migrations.tooNew(path, v) }
        }
        let common = Schema.commonColumns.joined(separator: ", ")
        let db = self.db
        func insert(_ table: String, _ extra: [String]) throws -> SQLiteStatement {
            let n = Schema.commonColumns.count + extra.count
            let cols = ([common] + extra).joined(separator: ", ")
            let marks = (1...n).map { "?\($0)" }.joined(separator: ", ")
            return try db.prepare("INSERT INTO \(table)(\(cols)) VALUES (\(marks))")
        }
        insertAlert = try insert("alerts", ["signature_id", "signature", "severity"])
        insertFile = try insert("files", ["filename", "size", "sha256", "virus", "severity"])
        insertAccess = try insert("access", ["bytes_toserver", "bytes_toclient"])
        // A flow's app and MACs go to all of its access rows; its bytes to the first only, so
        // sums over rows count every byte once.
        mergeFlowApp = try db.prepare("""
            UPDATE access SET app = COALESCE(?2, app), src_mac = COALESCE(src_mac, ?5), dest_mac = COALESCE(dest_mac, ?6)
            WHERE flow_id = ?1 AND time_us BETWEEN ?3 AND ?4 AND event_type <> 'flow'
            """)
        mergeFlowBytes = try db.prepare("""
            UPDATE access SET bytes_toserver = ?2, bytes_toclient = ?3 WHERE id = (
              SELECT min(id) FROM access WHERE flow_id = ?1 AND time_us BETWEEN ?4 AND ?5 AND event_type <> 'flow')
            """)
        dropExists = try db.prepare("SELECT 1 FROM access WHERE flow_id = ?1 AND verdict = 'blocked' LIMIT 1")
        deleteDrops = try db.prepare("DELETE FROM access WHERE flow_id = ?1 AND event_type = 'drop'")
        enqueue = try db.prepare("INSERT INTO upload_queue(time_us, enqueued_us, record) VALUES (?1, ?2, ?3)")
    }

    // MARK: Ingest

    /// Ingests EVE lines in transactions of `config.batchLines`. Malformed lines are counted
    /// and skipped; `onCommit` hears the running line count after every committed batch.
    @discardableResult
    ///
    /// `counters`, when given, is asked after each batch (with the running line count) for
    /// values to write to the store's counters table in the same transaction as the batch's
    /// rows: a reader's position in its source commits with what it read (`EVETail`), so a
    /// crash can neither lose nor repeat lines.
    public func ingest<S: Sequence>(lines: S, counters: ((Int) -> [String: Int64])? = nil,
                                    onCommit: ((Int) -> Void)? = nil) throws -> IngestReport
    where S.Element: StringProtocol {
        var report = IngestReport()
        var batch: [Substring] = []
        batch.reserveCapacity(config.batchLines)
        for line in lines {
            batch.append(Substring(line))
            if batch.count >= config.batchLines {
                try ingestBatch(batch, into: &report, counters: counters)
                batch.removeAll(keepingCapacity: true)
                onCommit?(report.lines)
            }
        }
        if !batch.isEmpty {
            try ingestBatch(batch, into: &report, counters: counters)
            onCommit?(report.lines)
        }
        try enforceLimits()
        return report
    }

    /// Ingests an EVE file, reading it in chunks (EVE files grow to gigabytes).
    @discardableResult
    public func ingest(file: String, onCommit: ((Int) -> Void)? = nil) throws -> IngestReport {
        guard let handle = FileHandle(forReadingAtPath: file) else {
            throw StoreError(code: 0, call: "open", subject: file, message: "cannot read EVE file")
        }
        defer { try? handle.close() }
        return try ingest(lines: EVELineReader(handle: handle), onCommit: onCommit)
    }

    func ingestBatch(_ lines: [Substring], into report: inout IngestReport,
                     counters: ((Int) -> [String: Int64])? = nil) throws {
        let now = config.clock()
        try db.transaction {
            var devices = DeviceBatch()
            for line in lines {
                report.lines += 1
                if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { report.lines -= 1; continue }
                switch EVEParse.parse(line) {
                case .malformed(let why):
                    report.malformed += 1
                    if report.problems.count < 3 { report.problems.append("line \(report.lines): \(why)") }
                case .ignored:
                    report.ignored += 1
                case .device(let d):
                    report.dhcp += 1
                    devices.add(d)
                case .record(let r):
                    devices.add(r)
                    if try insert(r, &report) { report.uploadsQueued += try enqueueIfAlert(r, now: now) }
                case .flow(let r, let start):
                    devices.add(r)
                    if try mergeFlow(r, start: start) {
                        report.flowsMerged += 1
                    } else {
                        var own = r
                        own.eventType = "flow"
                        _ = try insert(own, &report)
                    }
                }
            }
            try writeDevices(devices)
            if let values = counters?(report.lines) { try writeCounters(values) }
        }
        if report.uploadsQueued > 0 { try capUploads() }
    }

    /// A value of the counters table (nil when never written).
    public func counter(_ name: String) throws -> Int64? {
        try db.scalar("SELECT value FROM counters WHERE name = ?1", [.text(name)])
    }

    /// Writes counters in one transaction.
    public func setCounters(_ values: [String: Int64]) throws {
        try db.transaction { try writeCounters(values) }
    }

    func writeCounters(_ values: [String: Int64]) throws {
        for (name, value) in values.sorted(by: { $0.key < $1.key }) {
            try db.prepare("INSERT INTO counters(name, value) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET value = ?2")
                .run([.text(name), .int(value)])
        }
    }

    /// Inserts one row; false when it duplicates what is there (a drop after its blocked
    /// transaction).
    func insert(_ r: LogRecord, _ report: inout IngestReport) throws -> Bool {
        if r.type == .access, r.verdict == "blocked", let flow = r.flowID {
            if r.eventType == "drop" {
                try dropExists.bind([.int(flow)])
                if try dropExists.step() { return false }
            } else {
                try deleteDrops.run([.int(flow)])
            }
        }
        var v: [SQLValue] = [
            .int(r.time), .text(r.eventType), SQLValue(r.flowID), SQLValue(r.srcIP), SQLValue(r.srcPort),
            SQLValue(r.destIP), SQLValue(r.destPort), SQLValue(r.proto), SQLValue(r.srcMAC), SQLValue(r.destMAC),
            .text(r.verdict), SQLValue(r.host), SQLValue(r.url), SQLValue(r.category), SQLValue(r.app),
        ]
        switch r.type {
        case .alert:
            v += [SQLValue(r.signatureID), SQLValue(r.name), SQLValue(r.severity)]
            try insertAlert.run(v)
            report.alerts += 1
        case .file:
            v += [SQLValue(r.fileName), SQLValue(r.fileSize), SQLValue(r.sha256), SQLValue(r.name), SQLValue(r.severity)]
            try insertFile.run(v)
            report.files += 1
        case .access:
            v += [SQLValue(r.bytesToServer), SQLValue(r.bytesToClient)]
            try insertAccess.run(v)
            report.access += 1
        }
        return true
    }

    /// Adds a flow's app, MACs and byte counts to its transactions; false when it had none.
    func mergeFlow(_ r: LogRecord, start: Int64) throws -> Bool {
        guard let flow = r.flowID else { return false }
        // A little slack: transaction events carry their own packet's time.
        let from = start - 1_000_000, to = r.time + 1_000_000
        try mergeFlowApp.run([.int(flow), SQLValue(r.app), .int(from), .int(to), SQLValue(r.srcMAC), SQLValue(r.destMAC)])
        guard db.changes > 0 else { return false }
        try mergeFlowBytes.run([.int(flow), SQLValue(r.bytesToServer), SQLValue(r.bytesToClient), .int(from), .int(to)])
        return true
    }

    // MARK: Limits

    /// Rows in alerts, files and access.
    public func rowCount() throws -> Int {
        Int(try db.scalar("SELECT (SELECT count(*) FROM alerts) + (SELECT count(*) FROM files) + (SELECT count(*) FROM access)") ?? 0)
    }

    /// Bytes of database pages in use (free pages not counted; the WAL not counted).
    public func usedBytes() throws -> Int64 {
        let pages = try db.scalar("PRAGMA page_count") ?? 0
        let free = try db.scalar("PRAGMA freelist_count") ?? 0
        let size = try db.scalar("PRAGMA page_size") ?? 4096
        return (pages - free) * size
    }

    /// Deletes the oldest rows (across all three tables) until the row and byte caps hold.
    /// Returns how many rows went.
    @discardableResult
    public func enforceLimits() throws -> Int {
        var deleted = 0
        let total = try rowCount()
        if total > config.maxRows { deleted += try deleteOldest(total - config.maxRows) }
        var rounds = 0
        while rounds < 20, try usedBytes() > config.maxBytes {
            let rows = try rowCount()
            guard rows > 0 else { break }
            let used = try usedBytes()
            let fraction = Double(used - config.maxBytes) / Double(used)
            deleted += try deleteOldest(max(1, Int(Double(rows) * fraction * 1.05) + 16))
            try db.exec("PRAGMA incremental_vacuum")
            rounds += 1
        }
        try pruneDevices()
        if deleted > 0 { try db.exec("PRAGMA incremental_vacuum") }
        return deleted
    }

    /// Deletes the `n` oldest rows by (time, table, id) in one transaction.
    func deleteOldest(_ n: Int) throws -> Int {
        guard n > 0 else { return 0 }
        return try db.transaction {
            let find = try db.prepare("""
                SELECT time_us, tag, id FROM (
                  SELECT time_us, 'a' AS tag, id FROM alerts UNION ALL
                  SELECT time_us, 'f' AS tag, id FROM files UNION ALL
                  SELECT time_us, 'x' AS tag, id FROM access)
                ORDER BY time_us, tag, id LIMIT 1 OFFSET ?1
                """)
            try find.bind([.int(Int64(n - 1))])
            guard try find.step() else {
                try db.exec("DELETE FROM alerts; DELETE FROM files; DELETE FROM access;")
                return n
            }
            let t = find.int(0), tag = find.text(1) ?? "x", id = find.int(2)
            var count = 0
            for (table, myTag) in [("alerts", "a"), ("files", "f"), ("access", "x")] {
                try db.prepare("DELETE FROM \(table) WHERE time_us <= ?1 AND (time_us, '\(myTag)', id) <= (?1, ?2, ?3)")
                    .run([.int(t), .text(tag), .int(id)])
                count += db.changes
            }
            return count
        }
    }

    /// Runs SQLite's own consistency check; "ok" when the file is sound.
    public func integrityCheck() throws -> String {
        let s = try db.prepare("PRAGMA integrity_check")
        try s.bind([])
        return try s.step() ? (s.text(0) ?? "") : ""
    }
}

/// Splits a file into lines without holding it whole in memory.
struct EVELineReader: Sequence, IteratorProtocol {
    let handle: FileHandle
    var buffer: [UInt8] = []
    var start = 0
    var eof = false

    init(handle: FileHandle) { self.handle = handle }

    mutating func next() -> Substring? {
        while true {
            if let nl = buffer[start...].firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[start..<nl], as: UTF8.self)
                start = nl + 1
                return Substring(line)
            }
            if eof {
                guard start < buffer.count else { return nil }
                let line = String(decoding: buffer[start...], as: UTF8.self)
                start = buffer.count
                return Substring(line)
            }
            buffer.removeFirst(start)
            start = 0
            let chunk = (try? handle.read(upToCount: 1 << 20)) ?? nil
            if let chunk, !chunk.isEmpty { buffer.append(contentsOf: chunk) } else { eof = true }
        }
    }
}
