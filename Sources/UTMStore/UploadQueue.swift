import Foundation

/// What the box tells the cloud about one alert: metadata only [000 2.1] — addresses, MACs,
/// the URL or server name, the virus or rule name, the severity and the time. Never payloads,
/// headers, bodies or file contents: this type has no field that could hold them, and it is
/// built from a `LogRecord`, which has none either.
public struct UploadRecord: Codable, Sendable, Equatable {
    /// Queue position: increasing, never reused. The cloud acknowledges by it and ignores a
    /// sequence number it has already seen, so a batch re-sent after a crash counts once.
    public var seq: Int64
    /// EVE time ("2026-01-01T00:00:00.001000+0000").
    public var time: String
    /// "alert" (IPS), "virus" (antivirus), "web_filter" (a blocked dangerous site).
    public var type: String
    public var src_ip: String?
    public var dest_ip: String?
    public var src_mac: String?
    public var dest_mac: String?
    /// The full URL for HTTP.
    public var url: String?
    /// The server name: TLS or QUIC SNI, or the DNS name asked for.
    public var sni: String?
    /// Rule (signature) name, virus name, or the blocked site's category.
    public var name: String?
    /// ★ count, 3 = ★★★.
    public var severity: Int

    /// The JSON keys an upload may carry; the metadata-only test holds the encoder to these.
    public static let allowedKeys: Set<String> = [
        "seq", "time", "type", "src_ip", "dest_ip", "src_mac", "dest_mac", "url", "sni", "name", "severity",
    ]

    init(seq: Int64, from r: LogRecord) {
        self.seq = seq
        time = EventTime.format(r.time)
        switch r.type {
        case .alert: type = "alert"
        case .file: type = "virus"
        case .access: type = "web_filter"
        }
        src_ip = r.srcIP
        dest_ip = r.destIP
        src_mac = r.srcMAC
        dest_mac = r.destMAC
        url = r.url
        sni = r.url == nil ? r.host : nil
        name = r.type == .access ? r.category : r.name
        severity = r.severity ?? 2
    }
}

/// Store-and-forward of alert metadata to the cloud [001 3.5]: kept while the cloud is
/// unreachable — up to `uploadMaxRows` records and two weeks, the oldest dropped first —
/// in the same SQLite file as the events, so nothing is lost on restart.
///
/// The sender loops: `nextBatch(limit:)`, send, and on the cloud's acknowledgement
/// `acknowledge(upTo:)`. Unacknowledged records come back in the next batch, in order.
extension EventStore {
    /// Queues the upload record of an alert, a virus or a dangerous-site block; returns 1 when
    /// it queued one. Runs inside the ingest transaction, so a stored alert is a queued alert.
    func enqueueIfAlert(_ r: LogRecord, now: Int64) throws -> Int {
        var r = r
        switch r.type {
        case .alert: break
        case .file: guard r.name != nil else { return 0 }
        case .access:
            guard r.verdict == "blocked", let c = r.category, config.uploadCategories.contains(c) else { return 0 }
            r.severity = 2
        }
        // The record is encoded without its sequence number, which SQLite assigns.
        let data = try JSONEncoder().encode(UploadRecord(seq: 0, from: r))
        try enqueue.run([.int(r.time), .int(now), .text(String(decoding: data, as: UTF8.self))])
        return 1
    }

    /// Up to `limit` records waiting, oldest first.
    public func nextBatch(limit: Int) throws -> [UploadRecord] {
        let s = try db.prepare("SELECT seq, record FROM upload_queue ORDER BY seq LIMIT ?1")
        try s.bind([.int(Int64(limit))])
        var out: [UploadRecord] = []
        let decoder = JSONDecoder()
        while try s.step() {
            guard var r = try? decoder.decode(UploadRecord.self, from: Data((s.text(1) ?? "").utf8)) else { continue }
            r.seq = s.int(0)
            out.append(r)
        }
        return out
    }

    /// The cloud has everything up to and including `seq`: forget it.
    public func acknowledge(upTo seq: Int64) throws {
        try db.transaction {
            try db.prepare("DELETE FROM upload_queue WHERE seq <= ?1").run([.int(seq)])
        }
    }

    /// Drops records queued more than `days` ago (the cloud has been unreachable that long);
    /// returns how many went. Counted in `uploadsDropped`.
    @discardableResult
    public func pruneOlderThan(days: Int, now: Int64? = nil) throws -> Int {
        let cutoff = (now ?? config.clock()) - Int64(days) * EventTime.microsecondsPerDay
        return try db.transaction {
            try db.prepare("DELETE FROM upload_queue WHERE enqueued_us < ?1").run([.int(cutoff)])
            let n = db.changes
            try countDropped(n)
            return n
        }
    }

    /// Records waiting to be sent.
    public func pendingUploads() throws -> Int {
        Int(try db.scalar("SELECT count(*) FROM upload_queue") ?? 0)
    }

    /// Records dropped unsent (cap or expiry) since the store was made: the heartbeat reports it.
    public func uploadsDropped() throws -> Int {
        Int(try db.scalar("SELECT value FROM counters WHERE name = 'uploads_dropped'") ?? 0)
    }

    func countDropped(_ n: Int) throws {
        guard n > 0 else { return }
        try db.prepare("""
            INSERT INTO counters(name, value) VALUES ('uploads_dropped', ?1)
            ON CONFLICT(name) DO UPDATE SET value = value + ?1
            """).run([.int(Int64(n))])
    }

    /// Drops the oldest records beyond `uploadMaxRows`.
    func capUploads() throws {
        let pending = try pendingUploads()
        guard pending > config.uploadMaxRows else { return }
        try db.transaction {
            try db.prepare("DELETE FROM upload_queue WHERE seq IN (SELECT seq FROM upload_queue ORDER BY seq LIMIT ?1)")
                .run([.int(Int64(pending - config.uploadMaxRows))])
            try countDropped(db.changes)
        }
    }
}
