import Foundation

/// What one EVE line means for the store.
enum ParsedEVE {
    /// A row to insert.
    case record(LogRecord)
    /// A `flow` event: adds app and byte counts to the flow's access rows, or becomes an
    /// access row of its own when the flow had no transaction events.
    case flow(LogRecord, start: Int64)
    /// A `dhcp` event: what it says about a device (no row of its own).
    case device(DeviceSighting)
    /// A well-formed event the store does not keep (stats, DNS answers, IPS drops whose alert
    /// is already an alert row).
    case ignored
    case malformed(String)
}

/// Reads the few fields the store needs from one EVE line. Control plane, not the packet path:
/// Foundation's JSON parser is fine here.
enum EVEParse {
    static func parse(_ line: Substring) -> ParsedEVE {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) else {
            return .malformed("not JSON")
        }
        guard let e = object as? [String: Any] else { return .malformed("not a JSON object") }
        guard let type = e["event_type"] as? String else { return .malformed("no event_type") }
        guard let ts = e["timestamp"] as? String else { return .malformed("no timestamp") }
        guard let time = EventTime.parse(ts) else { return .malformed("bad timestamp \"\(ts)\"") }

        func header(_ t: RecordType, verdict: String) -> LogRecord {
            var r = LogRecord(type: t, time: time, eventType: type, verdict: verdict)
            r.flowID = int64(e["flow_id"])
            r.srcIP = (e["src_ip"] as? String).map { IPText.canonical($0) ?? $0 }
            r.destIP = (e["dest_ip"] as? String).map { IPText.canonical($0) ?? $0 }
            r.srcPort = int64(e["src_port"]).map(Int.init)
            r.destPort = int64(e["dest_port"]).map(Int.init)
            r.proto = e["proto"] as? String ?? int64(e["proto"]).map { String($0) }
            if let ether = e["ether"] as? [String: Any] {
                r.srcMAC = (ether["src_mac"] as? String).flatMap(MACText.canonical)
                r.destMAC = (ether["dest_mac"] as? String).flatMap(MACText.canonical)
            }
            // Transaction details that ride along on alerts and fileinfo events.
            if let http = e["http"] as? [String: Any] { applyHTTP(http, to: &r) }
            if let tls = e["tls"] as? [String: Any], let sni = tls["sni"] as? String { r.host = sni }
            if let quic = e["quic"] as? [String: Any], let sni = quic["sni"] as? String { r.host = sni }
            // An alert of a DNS rule: the query it matched (Suricata 7's alert `dns.query`).
            if let dns = e["dns"] as? [String: Any], let q = (dns["query"] as? [[String: Any]])?.first,
               let name = q["rrname"] as? String { r.host = name }
            if let wf = e["web_filter"] as? [String: Any] { r.category = wf["category"] as? String }
            r.app = e["app"] as? String
            return r
        }

        switch type {
        case "alert":
            guard let a = e["alert"] as? [String: Any] else { return .malformed("alert event without an alert object") }
            let action = a["action"] as? String ?? "allowed"
            var r = header(.alert, verdict: action == "blocked" || action == "drop" ? "blocked" : "allowed")
            r.signatureID = int64(a["signature_id"])
            r.name = a["signature"] as? String
            r.category = a["category"] as? String
            r.severity = starsFromSuricataSeverity(int64(a["severity"]).map(Int.init) ?? 3)
            return .record(r)

        case "fileinfo":
            guard let f = e["fileinfo"] as? [String: Any] else { return .malformed("fileinfo event without a fileinfo object") }
            let virus = (f["virus"] as? String) ?? ((f["av"] as? [String: Any])?["virus"] as? String)
            var r = header(.file, verdict: virus == nil ? "allowed" : "blocked")
            r.fileName = f["filename"] as? String
            r.fileSize = int64(f["size"])
            r.sha256 = f["sha256"] as? String
            r.name = virus
            r.severity = virus == nil ? nil : 3
            return .record(r)

        case "http", "tls", "quic", "dns":
            if type == "dns", let d = e["dns"] as? [String: Any], (d["type"] as? String) == "answer" { return .ignored }
            var r = header(.access, verdict: "allowed")
            if type == "dns", let d = e["dns"] as? [String: Any] {
                r.host = d["rrname"] as? String ?? ((d["queries"] as? [[String: Any]])?.first?["rrname"] as? String)
            }
            if let wf = e["web_filter"] as? [String: Any], (wf["action"] as? String) == "blocked" { r.verdict = "blocked" }
            return .record(r)

        case "drop":
            let d = e["drop"] as? [String: Any]
            let reason = d?["reason"] as? String ?? "rules"
            // An IPS drop is already an alert row with action blocked; web-filter and app-policy
            // drops are access records.
            if reason == "rules" && e["web_filter"] == nil { return .ignored }
            return .record(header(.access, verdict: "blocked"))

        case "flow":
            guard let f = e["flow"] as? [String: Any] else { return .malformed("flow event without a flow object") }
            var r = header(.access, verdict: "allowed")
            r.bytesToServer = int64(f["bytes_toserver"])
            r.bytesToClient = int64(f["bytes_toclient"])
            let start = (f["start"] as? String).flatMap(EventTime.parse) ?? time
            return .flow(r, start: start)

        case "dhcp":
            guard let d = e["dhcp"] as? [String: Any] else { return .malformed("dhcp event without a dhcp object") }
            guard let mac = (d["client_mac"] as? String).flatMap(MACText.canonical) else { return .ignored }
            var s = DeviceSighting(mac: mac, time: time)
            if let name = d["hostname"] as? String, !name.isEmpty { s.hostname = name }
            // Only an ACK confirms an address; a client renewing or informing names its own.
            let kind = d["dhcp_type"] as? String
            let ip: String?
            switch (d["type"] as? String, kind) {
            case ("reply", "ack"?), ("reply", nil): ip = d["assigned_ip"] as? String
            case ("request", "request"?), ("request", "inform"?): ip = d["client_ip"] as? String
            default: ip = nil
            }
            if let ip, let c = IPText.canonical(ip), c != "0.0.0.0" { s.ip = c }
            return .device(s)

        default:
            return .ignored
        }
    }

    static func applyHTTP(_ http: [String: Any], to r: inout LogRecord) {
        guard let host = http["hostname"] as? String else { return }
        r.host = host
        if let path = http["url"] as? String {
            if path.hasPrefix("http://") || path.hasPrefix("https://") {
                r.url = path
            } else {
                let port = int64(http["http_port"]).map { ":\($0)" } ?? ""
                r.url = "http://\(host)\(port)\(path)"
            }
        }
    }

    static func int64(_ v: Any?) -> Int64? {
        if let i = v as? Int64 { return i }
        if let i = v as? Int { return Int64(i) }
        if let d = v as? Double, d.isFinite, abs(d) < 9e18 { return Int64(d) }
        return nil
    }
}
