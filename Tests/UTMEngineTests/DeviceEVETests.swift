import Foundation
import Testing
import UTMCore
import UTMDecode
import UTMDetect
@testable import UTMEngine

/// EVE's `ether` object and the `dhcp` event, through the whole engine (issues 7/8: the event
/// store's device table is built from them).
@Suite struct DeviceEVETests {
    static func run(_ engine: Engine, _ frames: [[UInt8]], linkType: LinkType = .ethernet) -> [[String: Any]] {
        for (i, f) in frames.enumerated() {
            _ = f.withByteView { v in
                engine.process(frame: v, linkType: linkType,
                               timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i)), wireLength: v.count)
            }
        }
        engine.finish()
        return String(decoding: engine.eve.buffer, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    static func ether(_ e: [String: Any]) -> (String?, String?) {
        let o = e["ether"] as? [String: Any]
        return (o?["src_mac"] as? String, o?["dest_mac"] as? String)
    }

    static let client = "02:00:00:00:00:01", server = "02:00:00:00:00:02"

    /// Every event of an HTTP session, a DNS exchange and their flows carries the MACs in its own
    /// orientation: client → server for transactions and flows, the packet's for DNS answers.
    @Test func etherOnEveryEventKind() throws {
        let frames = WebFilterEngineTests.http("www.example.com") + EngineTraffic.dns(sport: 40100, name: "a.example.net")
            + EngineTraffic.tcpSession(v6: true, sport: 41002, dport: 443, exchanges: [
                (EngineTraffic.clientHello(sni: "v6.example.org"), EngineTraffic.serverHello())])
        let events = Self.run(Engine(), frames)
        var seen = Set<String>()
        for e in events {
            let type = e["event_type"] as? String ?? ""
            seen.insert(type)
            if type == "stats" { #expect(e["ether"] == nil); continue }
            let (src, dst) = Self.ether(e)
            let answer = (e["dns"] as? [String: Any])?["type"] as? String == "answer"
            #expect(src == (answer ? Self.server : Self.client), "\(type)")
            #expect(dst == (answer ? Self.client : Self.server), "\(type)")
        }
        #expect(seen.isSuperset(of: ["http", "tls", "dns", "flow"]))
    }

    /// Alerts (written by the detection stage from the packet) and IPS drops carry them too.
    @Test func etherOnAlertsAndDrops() throws {
        var parser = RuleParser()
        parser.load(text: """
            alert http any any -> any any (msg:"req"; http.method; content:"GET"; sid:1;)
            drop http any any -> any any (msg:"resp"; http.stat_code; content:"200"; sid:2;)
            """, file: "ether.rules")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: parser.finish()))
        let events = Self.run(engine, WebFilterEngineTests.http("www.example.com"))
        let alerts = events.filter { $0["event_type"] as? String == "alert" }
        #expect(alerts.count >= 2)
        for a in alerts + events.filter({ $0["event_type"] as? String == "drop" }) {
            let (src, dst) = Self.ether(a)
            let fromClient = a["src_ip"] as? String == "192.168.1.10"
            #expect(src == (fromClient ? Self.client : Self.server))
            #expect(dst == (fromClient ? Self.server : Self.client))
        }
    }

    /// Without an Ethernet header there is no `ether` at all.
    @Test func noEtherOffEthernet() {
        let raw = WebFilterEngineTests.http("www.example.com").map { Array($0.dropFirst(14)) }
        let events = Self.run(Engine(), raw, linkType: .raw)
        #expect(events.contains { $0["event_type"] as? String == "http" })
        #expect(!events.contains { $0["ether"] != nil })
    }

    /// A DISCOVER / REQUEST / ACK exchange on UDP 68 ↔ 67 becomes Suricata-style dhcp events.
    @Test func dhcpEvents() throws {
        func frame(_ src: [UInt8], _ dst: [UInt8], srcMAC: [UInt8], dstMAC: [UInt8], sport: UInt16, dport: UInt16,
                   _ payload: [UInt8]) -> [UInt8] {
            let udp = EngineTraffic.be16(sport) + EngineTraffic.be16(dport) + EngineTraffic.be16(UInt16(8 + payload.count)) + [0, 0] + payload
            var ip: [UInt8] = [0x45, 0] + EngineTraffic.be16(UInt16(20 + udp.count)) + [0, 1, 0, 0, 64, 17, 0, 0] + src + dst
            var sum: UInt32 = 0
            for i in stride(from: 0, to: 20, by: 2) { sum += UInt32(ip[i]) << 8 | UInt32(ip[i + 1]) }
            while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
            ip[10] = UInt8(~UInt16(sum) >> 8); ip[11] = UInt8(~UInt16(sum) & 0xff)
            return dstMAC + srcMAC + [8, 0] + ip + udp
        }
        let mac: [UInt8] = [0x02, 0x00, 0x5e, 0x10, 0x20, 0x30], box: [UInt8] = [0x02, 0, 0, 0, 0, 0xfe]
        let bcast: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        let xid: UInt32 = 0x3903_f326
        func msg(op: UInt8, type: UInt8, yiaddr: [UInt8] = [0, 0, 0, 0], _ options: [UInt8]) -> [UInt8] {
            var m: [UInt8] = [op, 1, 6, 0] + EngineTraffic.be32(xid) + [0, 0, 0x80, 0] + [0, 0, 0, 0] + yiaddr + [UInt8](repeating: 0, count: 8)
            m += mac + [UInt8](repeating: 0, count: 10 + 192) + [0x63, 0x82, 0x53, 0x63, 53, 1, type] + options + [255]
            return m
        }
        let name = Array("pc-sato".utf8)
        let frames = [
            frame([0, 0, 0, 0], [255, 255, 255, 255], srcMAC: mac, dstMAC: bcast, sport: 68, dport: 67,
                  msg(op: 1, type: 1, [12, UInt8(name.count)] + name)),
            frame([0, 0, 0, 0], [255, 255, 255, 255], srcMAC: mac, dstMAC: bcast, sport: 68, dport: 67,
                  msg(op: 1, type: 3, [50, 4, 192, 168, 10, 23, 12, UInt8(name.count)] + name)),
            frame([192, 168, 10, 1], [192, 168, 10, 23], srcMAC: box, dstMAC: mac, sport: 67, dport: 68,
                  msg(op: 2, type: 5, yiaddr: [192, 168, 10, 23], [54, 4, 192, 168, 10, 1, 51, 4] + EngineTraffic.be32(3600))),
        ]
        let dhcp = Self.run(Engine(), frames).filter { $0["event_type"] as? String == "dhcp" }
        try #require(dhcp.count == 3)
        let d = dhcp.map { $0["dhcp"] as? [String: Any] ?? [:] }
        #expect(d.map { $0["dhcp_type"] as? String } == ["discover", "request", "ack"])
        #expect(d.map { $0["type"] as? String } == ["request", "request", "reply"])
        #expect(d.allSatisfy { $0["client_mac"] as? String == "02:00:5e:10:20:30" && $0["id"] as? Int == Int(xid) })
        #expect(d[0]["hostname"] as? String == "pc-sato" && d[1]["requested_ip"] as? String == "192.168.10.23")
        #expect(d[2]["assigned_ip"] as? String == "192.168.10.23" && d[2]["lease_time"] as? Int == 3600)
        #expect(dhcp[2]["app_proto"] as? String == "dhcp")
        #expect(Self.ether(dhcp[2]).0 == "02:00:00:00:00:fe" && Self.ether(dhcp[2]).1 == "02:00:5e:10:20:30")
    }
}

extension DeviceEVETests {
    /// NFQUEUE gives IP packets and the sender's MAC beside them: events get ether.src_mac
    /// (the client's, on the client's packets; the flow keeps it for transactions and flow).
    @Test func sourceMACFromTheCapture() {
        let engine = Engine()
        let mac = MACAddress(value: 0x02_00_5e_10_20_30)
        for (i, f) in WebFilterEngineTests.http("www.example.com").enumerated() {
            let ip = Array(f.dropFirst(14))
            let fromClient = f[11] == 1 // EngineTraffic: the client's frames come from 02:…:01
            _ = ip.withByteView { v in
                engine.process(frame: v, linkType: .raw, timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i)),
                               wireLength: v.count, sourceMAC: fromClient ? mac : .none)
            }
        }
        engine.finish()
        let events = String(decoding: engine.eve.buffer, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let withEther = events.filter { ["http", "flow"].contains($0["event_type"] as? String ?? "") }
        #expect(withEther.count == 2)
        for e in withEther {
            #expect(Self.ether(e).0 == "02:00:5e:10:20:30" && Self.ether(e).1 == nil)
        }
    }
}

extension DeviceEVETests {
    /// fileinfo (and the antivirus alert) of a download carry ether like the transaction.
    @Test func etherOnFileinfo() throws {
        let (av, _, _) = EngineAntivirusConfig.load([("test.hdb", Array("0123456789abcdef0123456789abcdef:1:Mimamori.Test.Unused\n".utf8))])
        var config = EngineConfig()
        config.applyAntivirus(av)
        let eicar = #"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"#
        let frames = EngineTraffic.tcpSession(v6: false, sport: 41010, dport: 80, exchanges: [
            (Array("GET /eicar.com HTTP/1.1\r\nHost: dl.example\r\n\r\n".utf8),
             Array("HTTP/1.1 200 OK\r\nContent-Length: \(eicar.utf8.count)\r\n\r\n\(eicar)".utf8)),
        ])
        let events = Self.run(Engine(config: config), frames)
        let files = events.filter { ["fileinfo", "alert"].contains($0["event_type"] as? String ?? "") }
        #expect(files.contains { $0["event_type"] as? String == "fileinfo" })
        for e in files {
            let (src, dst) = Self.ether(e)
            let fromClient = e["src_ip"] as? String == "192.168.1.10"
            #expect(src == (fromClient ? Self.client : Self.server) && dst == (fromClient ? Self.server : Self.client),
                    "\(e["event_type"] ?? "")")
        }
    }
}
