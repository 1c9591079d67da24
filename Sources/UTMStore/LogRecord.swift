/// Which table a record lives in, and what `utmctl logs --type` selects.
public enum RecordType: String, Sendable, CaseIterable {
    /// IPS alerts (EVE `alert`).
    case alert
    /// Web access: http, tls, quic, dns queries and flows without them; web-filter and
    /// app-policy blocks (`verdict` = blocked) are access records too.
    case access
    /// File verdicts (EVE `fileinfo`): clean or the virus found.
    case file
}

/// One row of the store as searches return it: the union of the three tables' columns,
/// nil where a type has no such field.
public struct LogRecord: Sendable, Equatable {
    public var type: RecordType
    /// Row id within its table (stable; ties in time keep insertion order).
    public var id: Int64 = 0
    /// Microseconds since the epoch, UTC.
    public var time: Int64
    /// The EVE event type it came from (alert, http, tls, quic, dns, flow, drop, fileinfo).
    public var eventType: String
    public var flowID: Int64?
    public var srcIP: String?
    public var srcPort: Int?
    public var destIP: String?
    public var destPort: Int?
    public var proto: String?
    /// Device MACs: nil until the live path reports them (EVE `ether`).
    public var srcMAC: String?
    public var destMAC: String?
    /// "allowed" or "blocked": what happened to the traffic.
    public var verdict: String
    /// HTTP Host, TLS/QUIC SNI, or DNS query name.
    public var host: String?
    /// Full URL for HTTP ("http://host/path"); nil for names only.
    public var url: String?
    /// Web category (access), signature category (alert).
    public var category: String?
    /// App-ID's application ("TLS.YouTube").
    public var app: String?
    public var bytesToServer: Int64?
    public var bytesToClient: Int64?
    public var signatureID: Int64?
    /// Signature name (alert) or virus name (file).
    public var name: String?
    /// ★ count 1–3 (3 = ★★★, the most serious), for alerts and infected files.
    public var severity: Int?
    public var fileName: String?
    public var fileSize: Int64?
    public var sha256: String?

    public init(type: RecordType, time: Int64, eventType: String, verdict: String) {
        self.type = type
        self.time = time
        self.eventType = eventType
        self.verdict = verdict
    }

    /// "★★☆" for severity 2.
    public var stars: String? {
        guard let s = severity else { return nil }
        let n = max(1, min(3, s))
        return String(repeating: "★", count: n) + String(repeating: "☆", count: 3 - n)
    }
}

/// Suricata's severity (1 = high … 3+ = low) as ★ count (3 = ★★★ … 1 = ★☆☆) [000 3.3(1)].
public func starsFromSuricataSeverity(_ s: Int) -> Int {
    switch s {
    case ...1: return 3
    case 2: return 2
    default: return 1
    }
}
