import Foundation
@testable import UTMStore

/// Hand-written EVE lines in the engine's format: what the IPS, antivirus and web filter will
/// write once they land (alert, fileinfo, drop), next to the transaction events it writes today.
enum StoreFixtures {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A fresh path in the temporary directory (the store and its -wal/-shm files go there).
    static func tempPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mimamori-store-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent("\(name)-\(UUID().uuidString).db").path
    }

    /// An alert that carries much more than metadata: headers, body, payload. None of the
    /// SECRET strings may reach an upload record.
    static let alert = """
        {"timestamp":"2026-01-10T09:00:00.000000+0000","flow_id":101,"event_type":"alert","src_ip":"192.168.10.30","src_port":50000,"dest_ip":"198.51.100.7","dest_port":80,"proto":"TCP","ether":{"src_mac":"AA:BB:CC:00:00:30","dest_mac":"aa-bb-cc-00-00-01"},"alert":{"action":"blocked","gid":1,"signature_id":2019401,"rev":3,"signature":"ET MALWARE Evil CnC Beacon","category":"A Network Trojan was detected","severity":1},"http":{"hostname":"evil.example","url":"/gate.php?id=7","http_user_agent":"SECRET-UA","request_headers":[{"name":"Cookie","value":"SECRET-COOKIE"}]},"payload":"U0VDUkVULVBBWUxPQUQ=","payload_printable":"SECRET-PAYLOAD","http_request_body":"SECRET-BODY","packet":"SECRET-PACKET"}
        """
    static let lowAlert = """
        {"timestamp":"2026-01-10T09:01:00.000000+0000","flow_id":102,"event_type":"alert","src_ip":"192.168.10.31","src_port":50010,"dest_ip":"203.0.113.9","dest_port":443,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2013028,"rev":1,"signature":"ET POLICY curl User-Agent Outbound","category":"Attempted Information Leak","severity":3},"tls":{"sni":"api.example"}}
        """
    static let virus = """
        {"timestamp":"2026-01-10T09:05:00.000000+0000","flow_id":103,"event_type":"fileinfo","src_ip":"198.51.100.8","src_port":80,"dest_ip":"192.168.10.30","dest_port":50001,"proto":"TCP","http":{"hostname":"dl.example","url":"/eicar.com"},"fileinfo":{"filename":"/eicar.com","magic":"EICAR virus test files","sha256":"275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f","size":68,"virus":"Eicar-Test-Signature","state":"CLOSED","stored":false},"file_content":"SECRET-FILE"}
        """
    static let cleanFile = """
        {"timestamp":"2026-01-10T09:06:00.000000+0000","flow_id":104,"event_type":"fileinfo","src_ip":"198.51.100.8","src_port":80,"dest_ip":"192.168.10.31","dest_port":50002,"proto":"TCP","http":{"hostname":"dl.example","url":"/report.pdf"},"fileinfo":{"filename":"/report.pdf","sha256":"00ff","size":1234,"state":"CLOSED","stored":false}}
        """
    /// A phishing site blocked at the ClientHello: the tls event and the drop of its packet.
    static let phishTLS = """
        {"timestamp":"2026-01-10T09:10:00.000000+0000","flow_id":105,"event_type":"tls","src_ip":"192.168.10.32","src_port":50020,"dest_ip":"198.51.100.20","dest_port":443,"proto":"TCP","app_proto":"tls","tls":{"sni":"login.phish.example","version":"TLS 1.3"},"web_filter":{"category":"security","categories":["phishing"],"action":"blocked"}}
        """
    static let phishDrop = """
        {"timestamp":"2026-01-10T09:10:00.000100+0000","flow_id":105,"event_type":"drop","src_ip":"192.168.10.32","src_port":50020,"dest_ip":"198.51.100.20","dest_port":443,"proto":"TCP","drop":{"len":517,"reason":"web filter"},"web_filter":{"category":"security","categories":["phishing"],"action":"blocked"}}
        """
    /// An adult site the policy only records: allowed traffic with a category.
    static let adultHTTP = """
        {"timestamp":"2026-01-10T09:20:00.000000+0000","flow_id":106,"event_type":"http","src_ip":"192.168.10.33","src_port":50030,"dest_ip":"198.51.100.30","dest_port":80,"proto":"TCP","app_proto":"http","http":{"hostname":"adult.example","url":"/a,b","http_method":"GET","status":200,"length":10},"web_filter":{"category":"adult","categories":["adult"],"action":"recorded"}}
        """
    static let adultFlow = """
        {"timestamp":"2026-01-10T09:20:01.000000+0000","flow_id":106,"event_type":"flow","src_ip":"192.168.10.33","src_port":50030,"dest_ip":"198.51.100.30","dest_port":80,"proto":"TCP","app_proto":"http","app":"HTTP","flow":{"pkts_toserver":5,"pkts_toclient":4,"bytes_toserver":400,"bytes_toclient":9000,"start":"2026-01-10T09:19:59.000000+0000","end":"2026-01-10T09:20:01.000000+0000"}}
        """
    /// Five days before the incident: outside [004]'s three-day window.
    static let oldDNS = """
        {"timestamp":"2026-01-05T08:00:00.000000+0000","flow_id":107,"event_type":"dns","src_ip":"192.168.10.30","src_port":40000,"dest_ip":"192.168.10.1","dest_port":53,"proto":"UDP","dns":{"type":"query","id":1,"rrname":"old.example","rrtype":"A"}}
        """

    static let all = [alert, lowAlert, virus, cleanFile, phishTLS, phishDrop, adultHTTP, adultFlow, oldDNS]

    /// A DNS query line at `seconds` after 2026-01-01, from device `host`.
    static func dns(_ seconds: Int, host: Int = 20, flow: Int? = nil) -> String {
        let t = EventTime.format(EventTime.parse("2026-01-01")! + Int64(seconds) * 1_000_000)
        return """
            {"timestamp":"\(t)","flow_id":\(flow ?? 1_000_000 + seconds),"event_type":"dns","src_ip":"192.168.10.\(host)","src_port":40000,"dest_ip":"192.168.10.1","dest_port":53,"proto":"UDP","dns":{"type":"query","id":\(seconds % 65536),"rrname":"host\(seconds).example.jp","rrtype":"A"}}
            """
    }

    static func alert(_ seconds: Int, sid: Int) -> String {
        let t = EventTime.format(EventTime.parse("2026-01-01")! + Int64(seconds) * 1_000_000)
        return """
            {"timestamp":"\(t)","flow_id":\(seconds + 1),"event_type":"alert","src_ip":"192.168.10.40","src_port":50000,"dest_ip":"198.51.100.7","dest_port":80,"proto":"TCP","alert":{"action":"allowed","signature_id":\(sid),"signature":"rule \(sid)","category":"test","severity":2}}
            """
    }
}

/// A clock the tests move by hand.
final class FakeClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int64
    init(_ t: Int64) { value = t }
    var now: Int64 {
        get { lock.lock(); defer { lock.unlock() }; return value }
        set { lock.lock(); value = newValue; lock.unlock() }
    }
    func advance(days: Int) { now += Int64(days) * EventTime.microsecondsPerDay }
}
