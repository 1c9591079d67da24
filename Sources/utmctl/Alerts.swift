import ArgumentParser
import Foundation
import UTMStore
import UTMSystem

/// `utmctl alerts`: the latest threats the box saw (IPS alerts and infected files), from the
/// event store: what the support desk reads out when a customer calls about a mail from the cloud.
struct Alerts: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List recent alerts (IPS and antivirus) from the event store, newest first.",
        discussion: """
            For a whole investigation (time window, device, web access) use 'utmctl logs'.
              utmctl alerts --store /var/lib/mimamori/events.db --days 7
            """)

    @Option(name: .long, help: "The event store (SQLite file).")
    var store: String?

    @Option(name: .long, help: "Look back this many days from now.")
    var days: Int = 7

    @Option(name: .long, help: "At most this many alerts.")
    var limit: Int = 50

    @Option(name: .long, help: "Only this device (IP address).")
    var ip: String?

    @Flag(name: .long, help: "One JSON object per line.")
    var json = false

    func validate() throws {
        guard days > 0 else { throw ValidationError("--days must be positive") }
        guard limit > 0 else { throw ValidationError("--limit must be positive") }
        if let ip, IPText.canonical(ip) == nil { throw ValidationError("--ip '\(ip)' is not an IPv4 or IPv6 address") }
    }

    func run() throws {
        guard let store else { throw fail("alerts: --store DB is required (the event store)") }
        let now = EventTime.now()
        var q = LogQuery(from: now - Int64(days) * EventTime.microsecondsPerDay, to: now + 60_000_000, ip: ip, limit: nil)
        q.types = [.alert, .file]
        var records: [LogRecord]
        do {
            records = try EventStore(path: store, readOnly: true).search(q)
        } catch {
            throw fail("alerts: \(error)")
        }
        // An infected file is an antivirus alert and a file verdict: show it once, as the alert.
        let alertedFlows = Set(records.filter { $0.type == .alert && $0.category == "antivirus" }.compactMap(\.flowID))
        records = records.filter { $0.type == .alert || ($0.name != nil && !alertedFlows.contains($0.flowID ?? -1)) }
            .sorted { $0.time > $1.time }
        records = Array(records.prefix(limit))
        if records.isEmpty {
            writeStandardError("utmctl: no alerts in the last \(days) days in \(store)")
            return
        }
        var out = ""
        for r in records {
            if json {
                var o: [String: Any] = ["time": EventTime.format(r.time), "type": r.type == .alert ? "ips" : "antivirus",
                                        "verdict": r.verdict, "severity": r.severity ?? 1, "name": r.name ?? ""]
                o["src_ip"] = r.srcIP
                o["dest_ip"] = r.destIP
                o["host"] = r.host
                o["signature_id"] = r.signatureID
                out += ControlClient.json(o) + "\n"
            } else {
                out += "\(EventTime.format(r.time))  \(r.stars ?? "★☆☆")  \(r.verdict == "blocked" ? "blocked" : "alerted")  "
                    + "\(r.type == .alert ? "IPS" : "virus")  \(r.name ?? "?")  \(r.srcIP ?? "?") → \(r.destIP ?? "?")"
                    + (r.host.map { " (\($0))" } ?? "") + "\n"
            }
        }
        print(out, terminator: "")
    }
}
