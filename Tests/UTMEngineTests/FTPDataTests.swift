import Foundation
import Testing
import AllocationCounter
import UTMAntivirus
import UTMCore
import UTMDetect
import UTMOutput
@testable import UTMEngine

/// FTP data connections: announced on the control channel (227/229, PORT/EPRT), recognised as
/// `ftp-data`, and their files scanned by the antivirus like HTTP downloads — an infected file
/// whose size the 150 reply announced is cut on its last packet.
@Suite(.serialized) struct FTPDataTests {
    typealias T = EngineTraffic

    /// One TCP connection between the test client and server, emitted step by step so the
    /// control and data connections can interleave as they do on the wire.
    struct Conn {
        let sport: UInt16, dport: UInt16
        var c: UInt32, s: UInt32
        init(sport: UInt16, dport: UInt16) {
            self.sport = sport; self.dport = dport
            c = 1_000_000 + UInt32(sport); s = 7_000_000 + UInt32(sport)
        }
        mutating func open() -> [[UInt8]] {
            defer { c &+= 1; s &+= 1 }
            return [T.ip(v6: false, proto: 6, toServer: true, T.tcp(sport, dport, seq: c, ack: 0, flags: T.syn)),
                    T.ip(v6: false, proto: 6, toServer: false, T.tcp(dport, sport, seq: s, ack: c &+ 1, flags: T.syn | T.ackFlag)),
                    T.ip(v6: false, proto: 6, toServer: true, T.tcp(sport, dport, seq: c &+ 1, ack: s &+ 1, flags: T.ackFlag))]
        }
        /// `data` in segments of `segment` bytes, each acknowledged.
        mutating func send(toServer: Bool, _ text: [UInt8], segment: Int = 1400) -> [[UInt8]] {
            var out: [[UInt8]] = []
            var at = 0
            while at < text.count {
                let piece = Array(text[at ..< min(text.count, at + segment)])
                at += piece.count
                if toServer {
                    out.append(T.ip(v6: false, proto: 6, toServer: true, T.tcp(sport, dport, seq: c, ack: s, flags: T.psh | T.ackFlag, piece)))
                    c &+= UInt32(piece.count)
                    out.append(T.ip(v6: false, proto: 6, toServer: false, T.tcp(dport, sport, seq: s, ack: c, flags: T.ackFlag)))
                } else {
                    out.append(T.ip(v6: false, proto: 6, toServer: false, T.tcp(dport, sport, seq: s, ack: c, flags: T.psh | T.ackFlag, piece)))
                    s &+= UInt32(piece.count)
                    out.append(T.ip(v6: false, proto: 6, toServer: true, T.tcp(sport, dport, seq: c, ack: s, flags: T.ackFlag)))
                }
            }
            return out
        }
        mutating func close() -> [[UInt8]] {
            defer { c &+= 1; s &+= 1 }
            return [T.ip(v6: false, proto: 6, toServer: false, T.tcp(dport, sport, seq: s, ack: c, flags: T.fin | T.ackFlag)),
                    T.ip(v6: false, proto: 6, toServer: true, T.tcp(sport, dport, seq: c, ack: s &+ 1, flags: T.fin | T.ackFlag)),
                    T.ip(v6: false, proto: 6, toServer: false, T.tcp(dport, sport, seq: s &+ 1, ack: c &+ 1, flags: T.ackFlag))]
        }
    }

    static let eicar = Array("X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*".utf8)

    /// A passive-mode download of `file` named `name`; the 150 reply announces the size when
    /// `announce`. Returns the frames and the index of the data connection's last data packet.
    static func download(_ file: [UInt8], name: String, announce: Bool, sport: UInt16 = 50100) -> (frames: [[UInt8]], last: Int) {
        var ctl = Conn(sport: sport, dport: 21)
        let dataPort: UInt16 = 40000 + sport % 1000
        var data = Conn(sport: sport + 1, dport: dataPort)
        var f: [[UInt8]] = ctl.open()
        f += ctl.send(toServer: false, Array("220 FTP server ready\r\n".utf8))
        f += ctl.send(toServer: true, Array("USER anonymous\r\n".utf8))
        f += ctl.send(toServer: false, Array("331 Password\r\n".utf8))
        f += ctl.send(toServer: true, Array("PASS a@b\r\n".utf8))
        f += ctl.send(toServer: false, Array("230 OK\r\n".utf8))
        f += ctl.send(toServer: true, Array("PASV\r\n".utf8))
        f += ctl.send(toServer: false, Array("227 Entering Passive Mode (93,184,216,34,\(dataPort >> 8),\(dataPort & 0xff)).\r\n".utf8))
        f += data.open()
        f += ctl.send(toServer: true, Array("RETR \(name)\r\n".utf8))
        let size = announce ? " (\(file.count) bytes)" : ""
        f += ctl.send(toServer: false, Array("150 Opening BINARY mode data connection for \(name)\(size).\r\n".utf8))
        let body = data.send(toServer: false, file, segment: 1000)
        f += body
        let last = f.count - 2   // the last data segment (its ACK follows)
        f += data.close()
        f += ctl.send(toServer: false, Array("226 Transfer complete.\r\n".utf8))
        f += ctl.send(toServer: true, Array("QUIT\r\n".utf8))
        f += ctl.send(toServer: false, Array("221 Goodbye.\r\n".utf8))
        f += ctl.close()
        return (f, last)
    }

    static func engine(av: Bool, digests: Bool = true) -> Engine {
        var config = EngineConfig()
        var scan = AVScanConfig()
        if !digests { scan.fileinfoDigests = [] }
        if av { config.applyAntivirus(EngineAntivirusConfig(database: AVDatabase.builtinOnly(), scan: scan)) }
        return Engine(config: config)
    }

    static func run(_ engine: Engine, _ frames: [[UInt8]]) -> (events: [[String: Any]], decisions: [PacketDecision]) {
        var decisions: [PacketDecision] = []
        for (i, f) in frames.enumerated() {
            f.withByteView { v in
                decisions.append(engine.process(frame: v, linkType: .ethernet,
                                                timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i)), wireLength: v.count))
            }
        }
        engine.finish()
        let events = String(decoding: engine.eve.buffer, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        return (events, decisions)
    }

    @Test func infectedDownloadIsCutOnItsLastPacket() throws {
        // EICAR padded with trailing spaces (allowed by its definition) to span three segments.
        let file = Self.eicar + [UInt8](repeating: 0x20, count: 0)
        let (frames, last) = Self.download(file, name: "eicar.com", announce: true)
        let (events, decisions) = Self.run(Self.engine(av: true), frames)
        #expect(decisions[last].verdict == .reject && decisions[last].source == .antivirus)
        #expect(decisions[..<last].allSatisfy { $0.verdict == .accept })
        let info = try #require(FirewallEngineTests.of(events, "fileinfo").first)
        #expect(info["app_proto"] as? String == "ftp-data" && info["dest_port"] as? Int == 50101)
        let fi = try #require(info["fileinfo"] as? [String: Any])
        #expect(fi["filename"] as? String == "eicar.com" && fi["size"] as? Int == file.count && fi["state"] as? String == "CLOSED")
        let alert = try #require(FirewallEngineTests.of(events, "alert").first?["alert"] as? [String: Any])
        #expect(alert["action"] as? String == "blocked" && alert["category"] as? String == "antivirus")
        let flows = FirewallEngineTests.of(events, "flow")
        #expect(flows.compactMap { $0["app_proto"] as? String }.sorted() == ["ftp", "ftp-data"])
    }

    @Test func cleanAndUnannouncedDownloads() throws {
        // A clean 2500-byte file over three segments: logged, nothing blocked.
        let clean = [UInt8]((0 ..< 2500).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
        let (frames, _) = Self.download(clean, name: "data.bin", announce: true)
        let (events, decisions) = Self.run(Self.engine(av: true), frames)
        #expect(decisions.allSatisfy { $0.verdict == .accept })
        let fi = try #require(FirewallEngineTests.of(events, "fileinfo").first?["fileinfo"] as? [String: Any])
        #expect(fi["filename"] as? String == "data.bin" && fi["size"] as? Int == 2500)
        #expect(FirewallEngineTests.of(events, "alert").isEmpty)
        // No size in the 150 reply: the file ends with the connection, after delivery.
        let (frames2, _) = Self.download(Self.eicar, name: "e.com", announce: false, sport: 50200)
        let (events2, decisions2) = Self.run(Self.engine(av: true), frames2)
        #expect(decisions2.allSatisfy { $0.verdict == .accept })
        let alert = try #require(FirewallEngineTests.of(events2, "alert").first?["alert"] as? [String: Any])
        #expect(alert["action"] as? String == "allowed")
        // Without the antivirus the data connection is still `ftp-data`.
        let (events3, _) = Self.run(Self.engine(av: false), frames2)
        #expect(FirewallEngineTests.of(events3, "flow").compactMap { $0["app_proto"] as? String }.sorted() == ["ftp", "ftp-data"])
    }

    /// `ftpdata_command` on the data connection: RETR matches, STOR does not; a rule for
    /// another protocol cannot use it.
    @Test func ftpdataCommandRules() throws {
        var parser = RuleParser()
        parser.load(text: """
            alert ftp-data any any -> any any (msg:"retr"; ftpdata_command:retr; content:"EICAR"; sid:7;)
            alert ftp-data any any -> any any (msg:"stor"; ftpdata_command:stor; content:"EICAR"; sid:8;)
            alert tcp any any -> any any (msg:"retr, no content"; ftpdata_command:retr; flow:established; sid:9; threshold:type limit,track by_rule,count 1,seconds 60;)
            """, file: "ftpdata.rules")
        let set = parser.finish()
        #expect(set.report.loaded == 3)
        let engine = Self.engine(av: false)
        engine.loadDetection(DetectDefinitions(ruleSet: set))
        let (events, _) = Self.run(engine, Self.download(Self.eicar, name: "e.com", announce: true).frames)
        #expect(FirewallEngineTests.sids(events).sorted() == [7, 9])
        #expect(FirewallEngineTests.of(events, "alert").allSatisfy { $0["app_proto"] as? String == "ftp-data" })
        var bad = RuleParser()
        bad.load(text: #"alert http any any -> any any (msg:"x"; ftpdata_command:retr; sid:1;)"# + "\n"
                     + #"alert tcp any any -> any any (msg:"x"; ftpdata_command:list; sid:2;)"#, file: "bad.rules")
        #expect(bad.finish().report.loaded == 0)
    }

    /// nDPI's ftp.pcap: the two passive data connections (LIST on 25685, RETR on 24523) are
    /// ftp-data, as nDPI's FTP_DATA and tshark's conversations say.
    @Test(.enabled(if: CorpusGoldenTests.enabled, "shared corpus not found; skipped outside CI"))
    func ndpiDataConnections() throws {
        let flows = try CorpusGoldenTests.events(CorpusGoldenTests.ndpi + "/ftp.pcap", type: "flow")
        let byPort = Dictionary(flows.compactMap { f -> (Int, String)? in
            guard let p = f["dest_port"] as? Int, let a = f["app_proto"] as? String else { return nil }
            return (p, a)
        }, uniquingKeysWith: { a, _ in a })
        #expect(byPort[21] == "ftp" && byPort[25685] == "ftp-data" && byPort[24523] == "ftp-data")
    }

    @Test func steadyStateWithoutAntivirusDoesNotAllocate() {
        guard allocationCounterWorks() else { return }
        let engine = Self.engine(av: false)
        var traffic: [[UInt8]] = []
        for c in 0 ..< 3 { traffic += Self.download(Self.eicar, name: "f\(c)", announce: true, sport: UInt16(50400 + 10 * c)).frames }
        var clock: Int64 = 1_700_000_000
        func runRound() {
            clock += 3600
            for i in traffic.indices {
                _ = traffic[i].withByteView { view in
                    engine.process(frame: view, linkType: .ethernet, timestamp: Timestamp(seconds: clock, micros: Int32(i)),
                                   wireLength: view.count)
                }
            }
            engine.eve.reset()
        }
        for _ in 0 ..< 3 { runRound() }
        let n = countAllocations { for _ in 0 ..< 5 { runRound() } }
        #expect(n == 0, "FTP with data connections allocated \(n) times")
    }

    @Test func steadyStateDoesNotAllocate() {
        guard allocationCounterWorks() else { return }
        // Digests off: MD5/SHA-256 contexts are allocated per file (as for HTTP downloads,
        // EngineAllocationTests.antivirusDigestsAllocateOnlyPerFile).
        let engine = Self.engine(av: true, digests: false)
        var traffic: [[UInt8]] = []
        for c in 0 ..< 3 {
            traffic += Self.download(c == 0 ? Self.eicar : [UInt8](repeating: UInt8(65 + c), count: 3000), name: "f\(c)",
                                     announce: true, sport: UInt16(50300 + 10 * c)).frames
        }
        var clock: Int64 = 1_700_000_000
        func runRound() {
            clock += 3600
            for i in traffic.indices {
                _ = traffic[i].withByteView { view in
                    engine.process(frame: view, linkType: .ethernet, timestamp: Timestamp(seconds: clock, micros: Int32(i)),
                                   wireLength: view.count)
                }
            }
            engine.eve.reset()
        }
        for _ in 0 ..< 3 { runRound() }
        let before = engine.eve.counts[EVEEventType.fileinfo.rawValue]
        let n = countAllocations { for _ in 0 ..< 5 { runRound() } }
        print("FTP data connections with AV (no digests): \(n) allocations for 15 files")
        // The antivirus's first look at each control flow (is it mail?) costs up to 3 in debug
        // builds, as for every flow (EngineAllocationTests.antivirusPacketPathDoesNotAllocate
        // allows 3 per file); the data connections themselves add nothing.
        #expect(n <= 15 * 3, "FTP data allocated \(n) times")
        #expect(engine.eve.counts[EVEEventType.fileinfo.rawValue] - before == 5 * 3)
    }
}
