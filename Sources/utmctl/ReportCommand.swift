import ArgumentParser
import Foundation
import UTMReport
import UTMStore
import UTMSystem

/// `utmctl report`: the customer's monthly (or weekly) report as one HTML file.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the monthly or weekly security report (self-contained HTML) from the event store.",
        discussion: """
            Threats blocked by severity and type, blocked sites by category, the top 30 sites by \
            visits and by time, after-hours activity per device (22:00-05:00, weekends, Japanese \
            public holidays) and the update history. Japanese unless --lang en.
              utmctl report --store events.db --month 2026-11 -o report-2026-11.html
              utmctl report --store events.db --week 2026-11-30 --lang en -o week.html
            tools/render-report.sh turns the HTML into a PNG to look at.
            """)

    @Option(name: .long, help: "The event store (SQLite file).")
    var store: String?

    @Option(name: .long, help: "Month to report, YYYY-MM (local time).")
    var month: String?

    @Option(name: .long, help: "First day of a seven-day report, YYYY-MM-DD (local time).")
    var week: String?

    @Option(name: .long, help: "ja (default) or en.")
    var lang: String = "ja"

    @Option(name: [.short, .long], help: "Output file ('-' for standard output).")
    var output: String = "-"

    @Option(name: .long, help: "Box name in the header.")
    var box: String = "Mimamori UTM"

    @Option(name: .long, help: "Local time as hours from UTC (Japan: 9).")
    var utcOffset: Int = 9

    @Flag(name: .long, help: "Print the report's numbers as JSON instead of HTML.")
    var json = false

    func validate() throws {
        guard lang == "ja" || lang == "en" else { throw ValidationError("--lang must be ja or en, not '\(lang)'") }
        guard (month == nil) != (week == nil) else { throw ValidationError("give exactly one of --month YYYY-MM or --week YYYY-MM-DD") }
        guard (-12...14).contains(utcOffset) else { throw ValidationError("--utc-offset must be between -12 and 14 hours") }
    }

    static func numbers(_ text: String, count: Int) -> [Int]? {
        let parts = text.split(separator: "-").map { Int($0) }
        guard parts.count == count, parts.allSatisfy({ $0 != nil }) else { return nil }
        return parts.map { $0! }
    }

    func run() throws {
        guard let store else { throw fail("report: --store DB is required (the event store)") }
        let period: ReportPeriod
        if let month {
            guard let p = Self.numbers(month, count: 2), (2000...2099).contains(p[0]), (1...12).contains(p[1]) else {
                throw fail("report: --month '\(month)' is not YYYY-MM (e.g. 2026-11)")
            }
            period = .month(year: p[0], month: p[1])
        } else {
            guard let p = Self.numbers(week!, count: 3), (2000...2099).contains(p[0]), (1...12).contains(p[1]), (1...31).contains(p[2]) else {
                throw fail("report: --week '\(week!)' is not YYYY-MM-DD (e.g. 2026-11-30)")
            }
            period = .week(year: p[0], month: p[1], day: p[2])
        }
        var options = ReportOptions(period: period)
        options.language = lang
        options.boxName = box
        options.utcOffsetSeconds = utcOffset * 3600
        let summary: ReportSummary
        do {
            summary = try Report.summary(store: try EventStore(path: store, readOnly: true), options: options)
        } catch {
            throw fail("report: \(error)")
        }
        if summary.data.isEmpty {
            writeStandardError("utmctl: report: no records in \(store) for the period; the report says so")
        }
        let body: String
        if json {
            body = ControlClient.json(Self.json(summary)) + "\n"
        } else {
            body = Report.html(summary, options: options, generatedAt: Int64(Date().timeIntervalSince1970 * 1e6))
        }
        if output == "-" {
            print(body, terminator: "")
        } else {
            do {
                try body.write(toFile: output, atomically: true, encoding: .utf8)
            } catch {
                throw fail("report: cannot write \(output): \(error.localizedDescription)")
            }
            writeStandardError("utmctl: report written to \(output)")
        }
    }

    static func json(_ s: ReportSummary) -> [String: Any] {
        let d = s.data
        return [
            "from_us": d.from, "to_us": d.to,
            "threats_blocked": s.threatsBlocked,
            "threats_by_severity": Dictionary(uniqueKeysWithValues: s.threatsBySeverity.map { ("\($0.key)", $0.value) }),
            "threats_by_type": s.threatsByKind,
            "blocked_by_category": Dictionary(d.blockedByCategory.map { ($0.category, $0.count) }, uniquingKeysWith: +),
            "top_by_visits": d.topByVisits.map { ["host": $0.host, "visits": $0.visits, "minutes": $0.minutes] as [String: Any] },
            "top_by_time": d.topByTime.map { ["host": $0.host, "visits": $0.visits, "minutes": $0.minutes] as [String: Any] },
            "after_hours": s.afterHours.map {
                ["device": $0.device, "mac": $0.mac ?? "", "night": $0.night, "weekend": $0.weekend, "holiday": $0.holiday] as [String: Any]
            },
            "holidays": s.holidays.map { String(format: "%04d-%02d-%02d", $0.0.year, $0.0.month, $0.0.day) },
            "updates": d.updates.map { ["kind": $0.kind, "version": $0.version, "result": $0.result] },
            "access_records": d.accessRecords, "devices": d.devices,
        ]
    }
}
