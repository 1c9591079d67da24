import Foundation

/// A search for incident investigation [004]: a time window and optional device, category,
/// verdict and record type. Nil fields do not filter.
public struct LogQuery: Sendable, Equatable {
    /// Inclusive start, microseconds since the epoch.
    public var from: Int64?
    /// Exclusive end.
    public var to: Int64?
    /// Matches either end of the traffic (canonicalised: "2001:db8::20" finds any spelling).
    public var ip: String?
    public var mac: String?
    /// Web category or signature category, case-insensitive.
    public var category: String?
    /// "allowed" or "blocked".
    public var verdict: String?
    /// Nil: all three types.
    public var types: [RecordType]?
    public var limit: Int?

    public init(from: Int64? = nil, to: Int64? = nil, ip: String? = nil, mac: String? = nil,
                category: String? = nil, verdict: String? = nil, types: [RecordType]? = nil, limit: Int? = nil) {
        self.from = from
        self.to = to
        self.ip = ip
        self.mac = mac
        self.category = category
        self.verdict = verdict
        self.types = types
        self.limit = limit
    }

    /// The window [004] investigates by default: the three days before the moment of the
    /// incident, up to and including it.
    public static func around(_ t: Int64, days: Int = 3) -> (from: Int64, to: Int64) {
        (t - Int64(days) * EventTime.microsecondsPerDay, t + 1)
    }
}

extension EventStore {
    /// Records matching `q`, oldest first.
    public func search(_ q: LogQuery) throws -> [LogRecord] {
        var values: [SQLValue] = []
        var conditions: [String] = []
        func bind(_ v: SQLValue) -> String {
            values.append(v)
            return "?\(values.count)"
        }
        if let f = q.from { conditions.append("time_us >= \(bind(.int(f)))") }
        if let t = q.to { conditions.append("time_us < \(bind(.int(t)))") }
        if let ip = q.ip {
            let m = bind(.text(IPText.canonical(ip) ?? ip))
            conditions.append("(src_ip = \(m) OR dest_ip = \(m))")
        }
        if let mac = q.mac {
            let m = bind(.text(MACText.canonical(mac) ?? mac.lowercased()))
            conditions.append("(src_mac = \(m) OR dest_mac = \(m))")
        }
        if let c = q.category { conditions.append("category = \(bind(.text(c))) COLLATE NOCASE") }
        if let v = q.verdict { conditions.append("verdict = \(bind(.text(v)))") }
        let whereClause = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let common = Schema.commonColumns.joined(separator: ", ")
        let parts: [RecordType: String] = [
            .alert: "SELECT 'alert' AS type, id, \(common), NULL, NULL, signature_id, signature, severity, NULL, NULL, NULL FROM alerts",
            .file: "SELECT 'file' AS type, id, \(common), NULL, NULL, NULL, virus, severity, filename, size, sha256 FROM files",
            .access: "SELECT 'access' AS type, id, \(common), bytes_toserver, bytes_toclient, NULL, NULL, NULL, NULL, NULL, NULL FROM access",
        ]
        let types = q.types ?? RecordType.allCases
        let union = types.compactMap { parts[$0].map { $0 + whereClause } }.joined(separator: " UNION ALL ")
        var sql = "SELECT * FROM (\(union)) ORDER BY time_us, type, id"
        if let limit = q.limit { sql += " LIMIT \(bind(.int(Int64(limit))))" }
        let s = try db.prepare(sql)
        try s.bind(values)
        var out: [LogRecord] = []
        while try s.step() {
            var r = LogRecord(type: RecordType(rawValue: s.text(0) ?? "") ?? .access, time: s.int(2),
                              eventType: s.text(3) ?? "", verdict: s.text(12) ?? "allowed")
            r.id = s.int(1)
            r.flowID = s.optionalInt(4)
            r.srcIP = s.text(5)
            r.srcPort = s.optionalInt(6).map(Int.init)
            r.destIP = s.text(7)
            r.destPort = s.optionalInt(8).map(Int.init)
            r.proto = s.text(9)
            r.srcMAC = s.text(10)
            r.destMAC = s.text(11)
            r.host = s.text(13)
            r.url = s.text(14)
            r.category = s.text(15)
            r.app = s.text(16)
            r.bytesToServer = s.optionalInt(17)
            r.bytesToClient = s.optionalInt(18)
            r.signatureID = s.optionalInt(19)
            r.name = s.text(20)
            r.severity = s.optionalInt(21).map(Int.init)
            r.fileName = s.text(22)
            r.fileSize = s.optionalInt(23)
            r.sha256 = s.text(24)
            out.append(r)
        }
        return out
    }
}

/// Export formats for `utmctl logs`: people read the table; scripts and the support desk's
/// spreadsheets take JSON Lines and CSV.
public enum LogFormat: String, Sendable, CaseIterable {
    case table, jsonl, csv

    /// CSV columns, in order; JSON Lines uses the same keys and leaves out empty ones.
    public static let columns = [
        "time", "type", "event_type", "verdict", "src_ip", "src_port", "dest_ip", "dest_port", "proto",
        "src_mac", "dest_mac", "host", "url", "category", "app", "bytes_toserver", "bytes_toclient",
        "signature_id", "name", "severity", "filename", "size", "sha256",
    ]

    static func fields(_ r: LogRecord) -> [(String, Any?)] {
        [("time", EventTime.format(r.time)), ("type", r.type.rawValue), ("event_type", r.eventType),
         ("verdict", r.verdict), ("src_ip", r.srcIP), ("src_port", r.srcPort), ("dest_ip", r.destIP),
         ("dest_port", r.destPort), ("proto", r.proto), ("src_mac", r.srcMAC), ("dest_mac", r.destMAC),
         ("host", r.host), ("url", r.url), ("category", r.category), ("app", r.app),
         ("bytes_toserver", r.bytesToServer), ("bytes_toclient", r.bytesToClient),
         ("signature_id", r.signatureID), ("name", r.name), ("severity", r.severity),
         ("filename", r.fileName), ("size", r.fileSize), ("sha256", r.sha256)]
    }

    /// The header line (CSV), or nil.
    public func header() -> String? {
        switch self {
        case .csv: return Self.columns.joined(separator: ",")
        case .jsonl: return nil
        case .table: return Self.tableRow(["TIME (UTC)", "TYPE", "VERDICT", "SOURCE", "DESTINATION", "SITE / FILE", "CATEGORY", "DETAIL"])
        }
    }

    /// One record as one line.
    public func line(_ r: LogRecord) -> String {
        switch self {
        case .csv:
            return Self.fields(r).map { csvField($0.1) }.joined(separator: ",")
        case .jsonl:
            var object: [String: Any] = [:]
            for (k, v) in Self.fields(r) { if let v { object[k] = v } }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        case .table:
            let time = String(EventTime.format(r.time).prefix(19)).replacingOccurrences(of: "T", with: " ")
            func endpoint(_ ip: String?, _ port: Int?, _ mac: String?) -> String {
                guard let ip else { return "-" }
                var s = ip.contains(":") && port != nil ? "[\(ip)]" : ip
                if let port { s += ":\(port)" }
                if let mac { s += " (\(mac))" }
                return s
            }
            let site = r.type == .file ? (r.fileName ?? r.url ?? r.host ?? "-") : (r.url ?? r.host ?? "-")
            var detail: String
            switch r.type {
            case .alert: detail = "\(r.stars ?? "") \(r.name ?? "")" + (r.signatureID.map { " [\($0)]" } ?? "")
            case .file: detail = r.name.map { "\(r.stars ?? "") virus: \($0)" } ?? "clean" + (r.fileSize.map { ", \($0) bytes" } ?? "")
            case .access:
                detail = [r.eventType, r.app, r.bytesToServer.map { "\($0 + (r.bytesToClient ?? 0)) bytes" }]
                    .compactMap { $0 }.joined(separator: " ")
            }
            return Self.tableRow([time, r.type.rawValue, r.verdict, endpoint(r.srcIP, r.srcPort, r.srcMAC),
                                  endpoint(r.destIP, r.destPort, r.destMAC), site, r.category ?? "-", detail])
        }
    }

    static let widths = [19, 6, 7, 22, 22, 40, 14, 0]

    static func tableRow(_ cells: [String]) -> String {
        var out = ""
        for (i, c) in cells.enumerated() {
            let w = widths[i]
            if w == 0 { out += c; break }
            var cell = c.count > w ? String(c.prefix(w - 1)) + "…" : c
            cell += String(repeating: " ", count: w - cell.count)
            out += cell + "  "
        }
        return out
    }

    func csvField(_ v: Any?) -> String {
        guard let v else { return "" }
        let s = "\(v)"
        // Quote when needed (RFC 4180); a leading = + - @ is neutralised so a spreadsheet
        // never runs a formula from a URL someone visited.
        var t = s
        if let f = t.first, "=+-@".contains(f) { t = "'" + t }
        if t.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || t != s {
            return "\"" + t.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return t
    }
}
