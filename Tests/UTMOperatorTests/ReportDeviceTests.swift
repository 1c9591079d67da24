import Foundation
import Testing
@testable import UTMReport
import UTMStore

/// The report names devices the way the office knows them: "hostname (IP, MAC)" from the
/// device table (DHCP), the address alone when nothing else is known.
@Suite struct ReportDeviceTests {
    @Test func afterHoursShowsHostname() throws {
        let d = Op.tempDir("report-devices")
        defer { try? FileManager.default.removeItem(atPath: d) }
        let store = try EventStore(path: "\(d)/events.db")
        // Saturday 2026-01-10 (weekend), 23:00 JST (night): after hours either way.
        try store.ingest(lines: [
            #"{"timestamp":"2026-01-10T13:59:00.000000+0000","event_type":"dhcp","src_ip":"0.0.0.0","src_port":68,"dest_ip":"255.255.255.255","dest_port":67,"proto":"UDP","dhcp":{"type":"request","id":1,"client_mac":"02:00:5e:10:20:30","assigned_ip":"0.0.0.0","hostname":"pc-<sato>","dhcp_type":"request"}}"#,
            #"{"timestamp":"2026-01-10T13:59:01.000000+0000","event_type":"dhcp","src_ip":"192.168.10.1","src_port":67,"dest_ip":"192.168.10.23","dest_port":68,"proto":"UDP","dhcp":{"type":"reply","id":1,"client_mac":"02:00:5e:10:20:30","assigned_ip":"192.168.10.23","dhcp_type":"ack"}}"#,
            #"{"timestamp":"2026-01-10T14:00:00.000000+0000","flow_id":7,"event_type":"tls","src_ip":"192.168.10.23","src_port":50000,"dest_ip":"198.51.100.7","dest_port":443,"proto":"TCP","app_proto":"tls","tls":{"sni":"www.example.jp"}}"#,
            #"{"timestamp":"2026-01-10T14:05:00.000000+0000","flow_id":8,"event_type":"tls","src_ip":"192.168.10.99","src_port":50001,"dest_ip":"198.51.100.7","dest_port":443,"proto":"TCP","app_proto":"tls","tls":{"sni":"www.example.jp"}}"#,
        ])
        var options = ReportOptions(period: .month(year: 2026, month: 1))
        options.language = "en"
        let s = try Report.summary(store: store, options: options)
        let sato = try #require(s.afterHours.first { $0.device == "192.168.10.23" })
        #expect(sato.hostname == "pc-<sato>" && sato.mac == "02:00:5e:10:20:30")
        #expect(sato.label == "pc-<sato> (192.168.10.23, 02:00:5e:10:20:30)")
        #expect(s.afterHours.first { $0.device == "192.168.10.99" }?.label == "192.168.10.99")
        let html = Report.html(s, options: options, generatedAt: 1_768_000_000_000_000)
        // The host name comes from the network: escaped like everything else.
        #expect(html.contains("<td>pc-&lt;sato&gt; (192.168.10.23, 02:00:5e:10:20:30)</td>"))
        #expect(!html.contains("pc-<sato>"))
    }
}

/// The update history as the box's updater writes it (UTMBoxAgent: kind names of the signed
/// artifacts, its outcome words) reads as words in both languages, not as keys.
@Suite struct ReportUpdateWordsTests {
    @Test func boxUpdaterOutcomesAreTranslated() {
        let ja = ReportText(language: "ja"), en = ReportText(language: "en")
        #expect(ja.t("av_up") == "ウイルス定義" && en.t("av_up") == "Virus definitions")
        for result in ["installed", "refused", "staged", "download failed", "rolled back"] {
            #expect(ReportText.japanese["res_" + result] != nil, "no Japanese word for \(result)")
        }
    }
}
