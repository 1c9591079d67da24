import Foundation
import Testing
@testable import UTMStore

/// The device table (schema version 3) from a small EVE file: DHCP gives host name and
/// address, the ether of every event ties MACs to private addresses.
@Suite struct DeviceTableTests {
    typealias F = StoreFixtures
    static let sato = "02:00:5e:10:20:30", printer = "02:00:5e:10:20:40", gateway = "02:00:00:00:00:fe"

    /// In the engine's format (DeviceEVETests writes these from real frames).
    static let lines = [
        #"{"timestamp":"2026-01-10T08:59:00.000000+0000","flow_id":201,"event_type":"dhcp","src_ip":"0.0.0.0","src_port":68,"dest_ip":"255.255.255.255","dest_port":67,"proto":"UDP","app_proto":"dhcp","ether":{"src_mac":"02:00:5e:10:20:30","dest_mac":"ff:ff:ff:ff:ff:ff"},"dhcp":{"type":"request","id":956560166,"client_mac":"02:00:5E:10:20:30","assigned_ip":"0.0.0.0","requested_ip":"192.168.10.23","hostname":"pc-sato","dhcp_type":"request"}}"#,
        #"{"timestamp":"2026-01-10T08:59:00.010000+0000","flow_id":202,"event_type":"dhcp","src_ip":"192.168.10.1","src_port":67,"dest_ip":"192.168.10.23","dest_port":68,"proto":"UDP","app_proto":"dhcp","ether":{"src_mac":"02:00:00:00:00:fe","dest_mac":"02:00:5e:10:20:30"},"dhcp":{"type":"reply","id":956560166,"client_mac":"02:00:5e:10:20:30","assigned_ip":"192.168.10.23","dhcp_type":"ack","lease_time":86400}}"#,
        // Browsing: the device's MAC beside its address; the far end is public (the gateway's MAC).
        #"{"timestamp":"2026-01-10T09:00:00.000000+0000","flow_id":203,"event_type":"http","src_ip":"192.168.10.23","src_port":50000,"dest_ip":"198.51.100.7","dest_port":80,"proto":"TCP","app_proto":"http","ether":{"src_mac":"02:00:5e:10:20:30","dest_mac":"02:00:00:00:00:fe"},"http":{"hostname":"www.example.jp","url":"/","http_method":"GET","status":200,"length":10}}"#,
        #"{"timestamp":"2026-01-10T09:00:01.000000+0000","flow_id":203,"event_type":"alert","src_ip":"198.51.100.7","src_port":80,"dest_ip":"192.168.10.23","dest_port":50000,"proto":"TCP","ether":{"src_mac":"02:00:00:00:00:fe","dest_mac":"02:00:5e:10:20:30"},"alert":{"action":"allowed","gid":1,"signature_id":1,"rev":1,"signature":"test","category":"","severity":2}}"#,
        // A device that never did DHCP (static address): known by MAC and address only.
        #"{"timestamp":"2026-01-10T09:30:00.000000+0000","flow_id":204,"event_type":"flow","src_ip":"192.168.10.40","src_port":9100,"dest_ip":"192.168.10.23","dest_port":50100,"proto":"TCP","ether":{"src_mac":"02:00:5e:10:20:40","dest_mac":"02:00:5e:10:20:30"},"flow":{"pkts_toserver":1,"pkts_toclient":1,"bytes_toserver":60,"bytes_toclient":60,"start":"2026-01-10T09:29:59.000000+0000"}}"#,
    ]

    @Test func devicesFromEVE() throws {
        let s = try EventStore(path: F.tempPath("devices"))
        let r = try s.ingest(lines: Self.lines)
        #expect(r.dhcp == 2 && r.malformed == 0 && r.access == 2 && r.alerts == 1)
        let devices = try s.devices()
        #expect(devices.map(\.mac) == [Self.sato, Self.printer], "no gateway (public side), no broadcast")
        let sato = devices[0]
        #expect(sato.ip == "192.168.10.23" && sato.hostname == "pc-sato")
        #expect(sato.firstSeen == EventTime.parse("2026-01-10T08:59:00Z") && sato.lastSeen == EventTime.parse("2026-01-10T09:30:00Z"))
        #expect(sato.label == "pc-sato (192.168.10.23, 02:00:5e:10:20:30)")
        #expect(devices[1].ip == "192.168.10.40" && devices[1].hostname == nil && devices[1].label == "192.168.10.40 (02:00:5e:10:20:40)")

        // Access and alert rows carry the MACs: `utmctl logs --mac` finds them.
        let bySato = try s.search(LogQuery(mac: "02-00-5E-10-20-30"))
        #expect(Set(bySato.map(\.eventType)) == ["http", "alert", "flow"])
        #expect(try s.devicesByIP()["192.168.10.23"]?.hostname == "pc-sato")

        // A later batch: DHCP gives the laptop a new address; the name stays, the time moves.
        try s.ingest(lines: [#"{"timestamp":"2026-01-11T08:00:00.000000+0000","event_type":"dhcp","src_ip":"192.168.10.1","src_port":67,"dest_ip":"192.168.10.57","dest_port":68,"proto":"UDP","dhcp":{"type":"reply","id":1,"client_mac":"02:00:5e:10:20:30","assigned_ip":"192.168.10.57","dhcp_type":"ack"}}"#])
        let moved = try #require(try s.devices().first)
        #expect(moved.ip == "192.168.10.57" && moved.hostname == "pc-sato" && moved.firstSeen == sato.firstSeen)
        // An older sighting arriving late does not take the address back.
        try s.ingest(lines: [Self.lines[2]])
        #expect(try s.devices().first?.ip == "192.168.10.57")
    }

    /// Spoofed MACs cannot grow the table past its cap: the least recently seen go.
    @Test func deviceCap() throws {
        var config = EventStoreConfig()
        config.maxDevices = 3
        let s = try EventStore(path: F.tempPath("cap"), config: config)
        let lines = (0 ..< 20).map { i in
            #"{"timestamp":"2026-01-10T09:00:\#(String(format: "%02d", i)).000000+0000","event_type":"dns","src_ip":"192.168.10.\#(i + 2)","src_port":40000,"dest_ip":"203.0.113.1","dest_port":53,"proto":"UDP","ether":{"src_mac":"02:00:00:00:01:\#(String(format: "%02x", i))","dest_mac":"02:00:00:00:00:fe"},"dns":{"type":"query","id":1,"rrname":"a.example","rrtype":"A"}}"#
        }
        try s.ingest(lines: lines)
        #expect(try s.devices().map(\.ip) == ["192.168.10.21", "192.168.10.20", "192.168.10.19"])
    }

    /// `utmctl logs --device NAME`: the support desk knows the PC by its name.
    @Test func logsByDeviceName() throws {
        let path = F.tempPath("cli-devices")
        let eve = path + ".eve"
        try (Self.lines.joined(separator: "\n") + "\n").write(toFile: eve, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["logs", "ingest", "--store", path, eve]).status == 0)
        let found = try CLI.run(["logs", "--store", path, "--device", "PC-SATO", "--format", "jsonl"])
        #expect(found.status == 0, "\(found.stderr)")
        #expect(found.stdout.split(separator: "\n").count == 3, "http, alert, flow: \(found.stdout)")
        let unknown = try CLI.run(["logs", "--store", path, "--device", "pc-tanaka"])
        #expect(unknown.status != 0 && unknown.stderr.contains("no device named 'pc-tanaka'") && unknown.stderr.contains("pc-sato"))
        #expect(!unknown.stderr.contains("Error:"), "one clear line, no stack: \(unknown.stderr)")
    }

    /// A version 2 store (before the device table) is migrated on open and keeps its rows.
    @Test func migratesFromVersion2() throws {
        let path = F.tempPath("v2")
        do {
            let s = try EventStore(path: path)
            try s.ingest(lines: [F.alert])
            try s.db.exec("DROP TABLE devices; PRAGMA user_version=2")
        }
        let ro = try EventStore(path: path, readOnly: true)
        #expect(try ro.devices().isEmpty, "a read-only open of an old store reads no devices, no error")
        let s = try EventStore(path: path)
        #expect(try s.db.scalar("PRAGMA user_version") == 3)
        #expect(try s.rowCount() == 1)
        try s.ingest(lines: Self.lines)
        #expect(try s.devices().count == 2)
    }
}
