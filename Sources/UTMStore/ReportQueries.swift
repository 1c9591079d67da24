/// The aggregates the monthly and weekly reports are drawn from ([001 3.4.4], [003]), summed in
/// SQLite so a month of an office's traffic never has to be held in memory row by row.
public struct ReportData: Sendable {
    public struct Threat: Sendable, Equatable {
        public var time: Int64
        /// "ips" (alert), "antivirus" (infected file), "web" (blocked security-category site).
        public var kind: String
        /// ★ count 1–3.
        public var severity: Int
        public var name: String
        public var device: String
        public var blocked: Bool
    }
    public struct Site: Sendable, Equatable {
        public var host: String
        /// Transactions (HTTP requests, TLS and QUIC handshakes) to the host.
        public var visits: Int
        /// Distinct minutes with any transaction to the host: the report's "time spent".
        public var minutes: Int
        public var category: String?
    }
    public struct ActivityHour: Sendable, Equatable {
        /// Device IP (source of the traffic) and its MAC when known.
        public var device: String
        public var mac: String?
        /// Start of the UTC hour, microseconds.
        public var hour: Int64
        /// Access records (web transactions, DNS queries, flows) in that hour.
        public var records: Int
    }

    public var from: Int64
    public var to: Int64
    public var threats: [Threat] = []
    /// Blocked web accesses per category, most first.
    public var blockedByCategory: [(category: String, count: Int)] = []
    public var topByVisits: [Site] = []
    public var topByTime: [Site] = []
    public var activity: [ActivityHour] = []
    public var updates: [UpdateRecord] = []
    public var accessRecords = 0
    public var devices = 0

    public init(from: Int64, to: Int64) {
        self.from = from
        self.to = to
    }

    public var isEmpty: Bool { threats.isEmpty && accessRecords == 0 && updates.isEmpty }
}

extension EventStore {
    /// Everything a report for [from, to) needs; `top` sites per ranking (30 in the monthly report).
    public func reportData(from: Int64, to: Int64, top: Int = 30) throws -> ReportData {
        var d = ReportData(from: from, to: to)
        let range: [SQLValue] = [.int(from), .int(to)]

        let alerts = try db.prepare("""
            SELECT time_us, COALESCE(severity, 1), COALESCE(signature, category, 'unknown'), src_ip, verdict,
              COALESCE(category, '') = 'antivirus', dest_ip
            FROM alerts WHERE time_us >= ?1 AND time_us < ?2 ORDER BY time_us
            """)
        try alerts.bind(range)
        while try alerts.step() {
            // The antivirus writes an alert (category antivirus) beside the file's verdict.
            d.threats.append(.init(time: alerts.int(0), kind: alerts.int(5) != 0 ? "antivirus" : "ips", severity: Int(alerts.int(1)),
                                   name: alerts.text(2) ?? "", device: officeDevice(alerts.text(3), alerts.text(6)), blocked: alerts.text(4) == "blocked"))
        }
        let files = try db.prepare("""
            SELECT time_us, COALESCE(severity, 3), virus, src_ip, verdict, dest_ip FROM files
            WHERE virus IS NOT NULL AND time_us >= ?1 AND time_us < ?2
              AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.flow_id = files.flow_id AND a.category = 'antivirus'
                              AND a.signature IS files.virus)
            ORDER BY time_us
            """)
        try files.bind(range)
        while try files.step() {
            d.threats.append(.init(time: files.int(0), kind: "antivirus", severity: Int(files.int(1)), name: files.text(2) ?? "",
                                   device: officeDevice(files.text(3), files.text(5)), blocked: files.text(4) == "blocked"))
        }
        let web = try db.prepare("""
            SELECT time_us, COALESCE(host, url, dest_ip, ''), COALESCE(src_ip, '') FROM access
            WHERE verdict = 'blocked' AND category = 'security' AND time_us >= ?1 AND time_us < ?2 ORDER BY time_us
            """)
        try web.bind(range)
        while try web.step() {
            d.threats.append(.init(time: web.int(0), kind: "web", severity: 2, name: web.text(1) ?? "",
                                   device: web.text(2) ?? "", blocked: true))
        }
        d.threats.sort { $0.time < $1.time }

        let blocked = try db.prepare("""
            SELECT COALESCE(category, 'uncategorised'), count(*) FROM access
            WHERE verdict = 'blocked' AND time_us >= ?1 AND time_us < ?2
              AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.flow_id = access.flow_id)
            GROUP BY 1 ORDER BY 2 DESC, 1
            """)
        try blocked.bind(range)
        while try blocked.step() { d.blockedByCategory.append((blocked.text(0) ?? "", Int(blocked.int(1)))) }

        func sites(order: String) throws -> [ReportData.Site] {
            let s = try db.prepare("""
                SELECT host, count(*) AS visits, count(DISTINCT time_us / 60000000) AS minutes, max(category)
                FROM access WHERE host IS NOT NULL AND event_type IN ('http', 'tls', 'quic')
                  AND time_us >= ?1 AND time_us < ?2
                GROUP BY host ORDER BY \(order), host LIMIT ?3
                """)
            try s.bind(range + [.int(Int64(top))])
            var out: [ReportData.Site] = []
            while try s.step() {
                out.append(.init(host: s.text(0) ?? "", visits: Int(s.int(1)), minutes: Int(s.int(2)), category: s.text(3)))
            }
            return out
        }
        d.topByVisits = try sites(order: "visits DESC")
        d.topByTime = try sites(order: "minutes DESC, visits DESC")

        let hours = try db.prepare("""
            SELECT device, max(mac), time_us / 3600000000 * 3600000000 AS hour, count(*) FROM (
              -- A record written from the server's side (a flow picked up mid-stream, a reply)
              -- has the office device as its destination: a well-known port marks the server.
              SELECT CASE WHEN src_port < 1024 AND COALESCE(dest_port, 0) >= 1024 THEN dest_ip ELSE src_ip END AS device,
                     CASE WHEN src_port < 1024 AND COALESCE(dest_port, 0) >= 1024 THEN dest_mac ELSE src_mac END AS mac, time_us
              FROM access WHERE src_ip IS NOT NULL AND time_us >= ?1 AND time_us < ?2)
            WHERE device IS NOT NULL GROUP BY device, hour ORDER BY device, hour
            """)
        try hours.bind(range)
        var devices = Set<String>()
        while try hours.step() {
            let device = hours.text(0) ?? ""
            devices.insert(device)
            d.activity.append(.init(device: device, mac: hours.text(1), hour: hours.int(2), records: Int(hours.int(3))))
        }
        d.devices = devices.count
        d.accessRecords = Int(try db.scalar("SELECT count(*) FROM access WHERE time_us >= ?1 AND time_us < ?2", range) ?? 0)
        let hasHistory = try db.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'update_history'") ?? 0
        if hasHistory > 0 { d.updates = try updates(from: from, to: to) }
        return d
    }
}

/// The office end of a threat: an alert's source is the packet's sender, which for a download
/// is the server. The device is the private (RFC 1918, ULA, link-local) address of the two.
func officeDevice(_ src: String?, _ dest: String?) -> String {
    func isPrivate(_ ip: String?) -> Bool {
        guard let ip else { return false }
        if ip.hasPrefix("10.") || ip.hasPrefix("192.168.") { return true }
        if ip.hasPrefix("172."), let second = Int(ip.split(separator: ".").dropFirst().first ?? ""), (16...31).contains(second) { return true }
        let l = ip.lowercased()
        return l.hasPrefix("fc") || l.hasPrefix("fd") || l.hasPrefix("fe80:")
    }
    if !isPrivate(src) && isPrivate(dest) { return dest ?? "" }
    return src ?? dest ?? ""
}
