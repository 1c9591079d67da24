import ArgumentParser
import UTMStore
import UTMSystem
#if canImport(Glibc)
import Glibc
#endif

/// `utmctl logs`: incident investigation over the event store [004], and loading EVE files
/// into it.
struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Search the event store (alerts, file verdicts, web access) or load EVE files into it.",
        discussion: """
            An investigation usually starts from the moment something was noticed (an antivirus \
            warning on a PC) and looks back three days:
              utmctl logs --store events.db --around '2026-01-10 09:30' --ip 192.168.10.20
            Times are UTC unless they carry an offset ('2026-01-10T18:30+09:00'); a date alone \
            means its midnight. Export with --format jsonl or --format csv.
            """,
        subcommands: [LogsSearch.self, LogsIngest.self],
        defaultSubcommand: LogsSearch.self
    )
}

struct LogsSearch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Find records by time window, device, category, verdict and type (the default).")

    @Option(name: .long, help: "The event store (SQLite file).")
    var store: String?

    @Option(name: .long, help: "Start of the window (inclusive).")
    var from: String?

    @Option(name: .long, help: "End of the window (exclusive).")
    var to: String?

    @Option(name: .long, help: "Investigate around this moment: the --days days before it, up to it.")
    var around: String?

    @Option(name: .long, help: "Days before --around to look at (default 3, as [004] does).")
    var days: Int = 3

    @Option(name: .long, help: "A device's IP address (either end of the traffic).")
    var ip: String?

    @Option(name: .long, help: "A device's MAC address.")
    var mac: String?

    @Option(name: .long, help: "A device's host name as it told DHCP (e.g. pc-sato): searched by its MAC.")
    var device: String?

    @Option(name: .long, help: "Web category (e.g. security, adult) or signature category.")
    var category: String?

    @Option(name: .long, help: "allowed or blocked.")
    var verdict: String?

    @Option(name: .long, help: "alert, access or file (default: all).")
    var type: String?

    @Option(name: .long, help: "table (for people), jsonl or csv.")
    var format: String = "table"

    @Option(name: .long, help: "At most this many records.")
    var limit: Int?

    func run() throws {
        guard let store else { throw fail("logs: --store DB is required (the event store to search)") }
        guard let format = LogFormat(rawValue: format) else {
            throw fail("logs: --format must be table, jsonl or csv, not '\(format)'")
        }
        var q = LogQuery(limit: limit)
        func time(_ name: String, _ text: String?) throws -> Int64? {
            guard let text else { return nil }
            guard let t = EventTime.parse(text) else {
                throw fail("logs: --\(name) '\(text)' is not a time (try 2026-01-10, '2026-01-10 09:30' or 2026-01-10T09:30:00+09:00)")
            }
            return t
        }
        q.from = try time("from", from)
        q.to = try time("to", to)
        if let t = try time("around", around) {
            guard days > 0 else { throw fail("logs: --days must be positive") }
            let w = LogQuery.around(t, days: days)
            q.from = q.from ?? w.from
            q.to = q.to ?? w.to
        }
        if let f = q.from, let t = q.to, f >= t { throw fail("logs: --from must be before --to") }
        if let ip {
            guard IPText.canonical(ip) != nil else { throw fail("logs: --ip '\(ip)' is not an IPv4 or IPv6 address") }
            q.ip = ip
        }
        if let mac {
            guard MACText.canonical(mac) != nil else { throw fail("logs: --mac '\(mac)' is not a MAC address (aa:bb:cc:dd:ee:ff)") }
            q.mac = mac
        }
        if device != nil && mac != nil { throw fail("logs: give --device or --mac, not both") }
        q.category = category
        if let verdict {
            guard verdict == "allowed" || verdict == "blocked" else {
                throw fail("logs: --verdict must be allowed or blocked, not '\(verdict)'")
            }
            q.verdict = verdict
        }
        if let type {
            guard let t = RecordType(rawValue: type) else { throw fail("logs: --type must be alert, access or file, not '\(type)'") }
            q.types = [t]
        }
        if let limit, limit <= 0 { throw fail("logs: --limit must be positive") }

        let records: [LogRecord]
        do {
            let s = try EventStore(path: store, readOnly: true)
            if let device { q.mac = try deviceMAC(device, s) }
            records = try s.search(q)
        } catch let e as ExitCode {
            throw e
        } catch {
            throw fail("\(error)")
        }
        if records.isEmpty {
            let window = [q.from.map { "from \(EventTime.format($0))" }, q.to.map { "to \(EventTime.format($0))" }]
                .compactMap { $0 }.joined(separator: " ")
            writeStandardError("utmctl: no records match\(window.isEmpty ? "" : " (\(window))") in \(store)")
            return
        }
        var out = ""
        if let h = format.header() { out += h + "\n" }
        for r in records { out += format.line(r) + "\n" }
        print(out, terminator: "")
        if format == .table { writeStandardError("\(records.count) records") }
    }
}

extension LogsSearch {
    /// The MAC of the device with this host name (case-insensitive); one clear line when no
    /// device, or several, have it.
    func deviceMAC(_ name: String, _ store: EventStore) throws -> String {
        let all = try store.devices()
        let matches = all.filter { $0.hostname?.caseInsensitiveCompare(name) == .orderedSame }
        if matches.count == 1 { return matches[0].mac }
        if matches.isEmpty {
            let known = all.compactMap(\.hostname).sorted().prefix(10).joined(separator: ", ")
            throw fail("logs: no device named '\(name)' in \(store.path)" + (known.isEmpty ? " (no DHCP host names recorded)" : " (known: \(known))"))
        }
        throw fail("logs: several devices are named '\(name)': \(matches.map(\.label).joined(separator: "; ")); use --mac")
    }
}

struct LogsIngest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Load an EVE JSON file (e.g. from 'utmctl replay --eve') into the event store.",
        discussion: """
            Creates the store (mode 0600) when it does not exist. Malformed lines are counted and \
            skipped; the summary line names the first few.
            """)

    @Option(name: .long, help: "The event store (SQLite file).")
    var store: String?

    @Option(name: .long, help: "EVE lines per transaction.")
    var batch: Int = 1000

    @Flag(name: .long, help: "Print the running line count after every committed transaction.")
    var progress = false

    @Argument(help: "The EVE file to load.")
    var eve: String

    func run() throws {
        guard let store else { throw fail("logs ingest: --store DB is required") }
        guard batch > 0 else { throw fail("logs ingest: --batch must be positive") }
        var config = EventStoreConfig()
        config.batchLines = batch
        let report: IngestReport
        do {
            let s = try EventStore(path: store, config: config)
            let progress = self.progress
            report = try s.ingest(file: eve) { n in
                if progress { writeStandardOutput("committed \(n)") }
            }
        } catch {
            throw fail("\(error)")
        }
        writeStandardError("utmctl: \(eve): \(report.summary)")
    }
}

/// One line on standard output, flushed at once (a watching process reads it live).
func writeStandardOutput(_ s: String) {
    var line = s + "\n"
    line.withUTF8 { u in
        var done = 0
        while done < u.count {
            let n = write(1, u.baseAddress! + done, u.count - done)
            if n < 0 { if errno == EINTR { continue } else { return } }
            done += n
        }
    }
}
