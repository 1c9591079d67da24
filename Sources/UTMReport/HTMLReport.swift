import Foundation
import UTMStore

/// Draws a `ReportSummary` as one HTML page with inline CSS and SVG: no external assets, so it
/// opens the same in a mail client, a browser offline, or headless Chromium for a PDF/PNG.
struct HTMLReport {
    let summary: ReportSummary
    let options: ReportOptions
    let text: ReportText
    let generatedAt: Int64

    func t(_ k: String) -> String { text.t(k) }
    func e(_ s: String) -> String { HTML.escape(s) }

    /// "2024-11-15 21:40" in local time.
    func localTime(_ us: Int64) -> String {
        let s = Int(us / 1_000_000) + options.utcOffsetSeconds
        let day = s >= 0 ? s / 86400 : (s - 86399) / 86400
        let (y, m, d) = CivilDate.civil(day)
        let rem = s - day * 86400
        return String(format: "%04d-%02d-%02d %02d:%02d", y, m, d, rem / 3600, rem % 3600 / 60)
    }

    func localDate(_ us: Int64) -> String { String(localTime(us).prefix(10)) }

    var title: String {
        switch options.period {
        case .month(let y, let m): return text.ja ? "\(t("monthly")) \(y)年\(m)月" : "\(t("monthly")) \(y)-\(String(format: "%02d", m))"
        case .week: return "\(t("weekly")) \(localDate(summary.data.from))"
        }
    }

    func table(_ head: [String], _ rows: [[String]], numeric: Set<Int> = []) -> String {
        guard !rows.isEmpty else { return "<p class=\"none\">\(t("none"))</p>" }
        var s = "<table><thead><tr>" + head.map { "<th>\(e($0))</th>" }.joined() + "</tr></thead><tbody>"
        for r in rows {
            s += "<tr>" + r.enumerated().map { i, c in numeric.contains(i) ? "<td class=\"n\">\(e(c))</td>" : "<td>\(e(c))</td>" }.joined() + "</tr>"
        }
        return s + "</tbody></table>"
    }

    func stars(_ n: Int) -> String { String(repeating: "★", count: max(1, min(3, n))) + String(repeating: "☆", count: 3 - max(1, min(3, n))) }

    func render() -> String {
        let d = summary.data
        var h = """
        <!DOCTYPE html>
        <html lang="\(text.ja ? "ja" : "en")"><head><meta charset="utf-8">
        <title>\(e(title))</title>
        <style>
        body{font-family:"Noto Sans CJK JP","Hiragino Sans","Yu Gothic",sans-serif;color:#222;margin:24px auto;max-width:960px;padding:0 16px}
        h1{font-size:24px;border-bottom:3px solid #1f4e79;padding-bottom:6px;color:#1f4e79}
        h2{font-size:18px;margin-top:32px;border-left:6px solid #1f4e79;padding-left:8px}
        h3{font-size:15px;margin:12px 0 4px}
        .meta{color:#555;font-size:13px}
        .cards{display:flex;gap:12px;flex-wrap:wrap}
        .card{flex:1;min-width:160px;border:1px solid #ccd;border-radius:6px;padding:10px 14px;background:#f6f8fb}
        .card .v{font-size:28px;font-weight:bold;color:#1f4e79}
        .card.alert .v{color:#c0392b}
        table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0}
        th,td{border:1px solid #ccd;padding:3px 6px;text-align:left;word-break:break-all}
        th{background:#e8eef6}
        td.n{text-align:right;white-space:nowrap}
        .none{color:#777}
        .cols{display:flex;gap:24px;flex-wrap:wrap}
        footer{margin-top:40px;color:#777;font-size:12px;border-top:1px solid #ccd;padding-top:8px}
        svg.chart{max-width:100%;height:auto}
        </style></head><body>
        <h1>\(e(title))</h1>
        <p class="meta">\(t("box")): \(e(options.boxName)) ／ \(t("period")): \(localDate(d.from)) – \(localDate(d.to - 1)) ／ \(t("generated")): \(localTime(generatedAt))</p>

        """
        let blockedWeb = d.blockedByCategory.reduce(0) { $0 + $1.count }
        h += "<h2>\(t("summary"))</h2><div class=\"cards\">"
        h += "<div class=\"card alert\"><div>\(t("threats_blocked"))</div><div class=\"v\">\(summary.threatsBlocked)</div></div>"
        h += "<div class=\"card\"><div>\(t("blocked_sites"))</div><div class=\"v\">\(blockedWeb)</div></div>"
        h += "<div class=\"card\"><div>\(t("access"))</div><div class=\"v\">\(d.accessRecords)</div></div>"
        h += "<div class=\"card\"><div>\(t("devices"))</div><div class=\"v\">\(d.devices)</div></div></div>"
        if d.isEmpty { h += "<p class=\"none\">\(t("empty"))</p>" }

        // Threats.
        h += "<h2>\(t("threats"))</h2><div class=\"cols\"><div><h3>\(t("by_severity"))</h3>"
        h += SVGChart.bars([3, 2, 1].map { (stars($0), summary.threatsBySeverity[$0] ?? 0, ["#c0392b", "#e67e22", "#f1c40f"][3 - $0]) },
                           width: 440, labelWidth: 90)
        h += "</div><div><h3>\(t("by_type"))</h3>"
        h += SVGChart.bars(["ips", "antivirus", "web"].map { (t($0), summary.threatsByKind[$0] ?? 0, nil) }, width: 440, labelWidth: 210)
        h += "</div></div><h3>\(t("recent_threats"))</h3>"
        h += table([t("time"), t("kind"), t("severity"), t("name"), t("device")],
                   d.threats.filter(\.blocked).reversed().prefix(20).map {
                       [localTime($0.time), t("\($0.kind)_kind"), stars($0.severity), $0.name, $0.device]
                   })

        // Blocked sites by category.
        h += "<h2>\(t("blocked_by_category"))</h2>"
        h += SVGChart.bars(d.blockedByCategory.prefix(15).map { (text.category($0.category), $0.count, nil) }, labelWidth: 280)
        h += table([t("category"), t("count")], d.blockedByCategory.map { [text.category($0.category), "\($0.count)"] }, numeric: [1])

        // Top sites.
        h += "<h2>\(t("top_visits"))</h2>"
        h += SVGChart.bars(d.topByVisits.prefix(10).map { ($0.host, $0.visits, "#2980b9") }, labelWidth: 260)
        h += table([t("rank"), t("site"), t("category"), t("visits"), t("minutes")],
                   d.topByVisits.enumerated().map { ["\($0 + 1)", $1.host, $1.category.map(text.category) ?? "-", "\($1.visits)", "\($1.minutes)"] },
                   numeric: [0, 3, 4])
        h += "<h2>\(t("top_time"))</h2>"
        h += SVGChart.bars(d.topByTime.prefix(10).map { ($0.host, $0.minutes, "#16a085") }, labelWidth: 260)
        h += table([t("rank"), t("site"), t("category"), t("minutes"), t("visits")],
                   d.topByTime.enumerated().map { ["\($0 + 1)", $1.host, $1.category.map(text.category) ?? "-", "\($1.minutes)", "\($1.visits)"] },
                   numeric: [0, 3, 4])

        // After hours.
        h += "<h2>\(t("after_hours"))</h2>"
        let colors = ["#2c3e50", "#8e44ad", "#e67e22"]
        h += SVGChart.stacked(summary.afterHours.prefix(15).map { ($0.device, [$0.night, $0.weekend, $0.holiday]) },
                              colors: colors, legend: [t("night"), t("weekend"), t("holiday")])
        h += table([t("device"), t("mac"), t("night"), t("weekend"), t("holiday"), t("total")],
                   summary.afterHours.map { [$0.device, $0.mac ?? "-", "\($0.night)", "\($0.weekend)", "\($0.holiday)", "\($0.total)"] },
                   numeric: [2, 3, 4, 5])
        let holidays = summary.holidays.map { String(format: "%04d-%02d-%02d", $0.0.year, $0.0.month, $0.0.day) + " " + $0.1 }
        h += "<p class=\"meta\">\(t("holidays_in_period")): \(holidays.isEmpty ? t("none") : e(holidays.joined(separator: "、")))</p>"

        // Updates.
        h += "<h2>\(t("updates"))</h2>"
        h += table([t("time"), t("update_kind"), t("version"), t("result")],
                   d.updates.map { [localTime($0.time), t("\($0.kind)_up"), $0.version, (text.ja ? (ReportText.japanese["res_" + $0.result] ?? $0.result) : $0.result) + ($0.detail.map { " (\($0))" } ?? "")] })
        h += "<footer>\(t("footer"))</footer></body></html>\n"
        return h
    }
}
