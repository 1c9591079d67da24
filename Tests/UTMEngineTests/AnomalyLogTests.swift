import Foundation
import Testing
import AllocationCounter
import UTMCore
import UTMDecode
import UTMFlow
import UTMAppLayer
@testable import UTMEngine

/// EVE `anomaly` events (EngineAnomalyLog.swift, OutputEVEAnomaly.swift): each type logged when
/// on and absent when off, Suricata's fields and spellings, repeats per flow and direction, the
/// budget per event (`flowless:` sets it), the stats counters, the settings (replay flag, utmd.conf key).
@Suite struct AnomalyLogTests {
    typealias T = EngineTraffic
    typealias A = AppLayerEventRulesTests
    typealias R = ReplayCommandTests

    static func run(_ frames: [[UInt8]], types: AnomalyLogTypes?, flowless: Int? = nil,
                    second: (Int) -> Int64 = { _ in 1_700_000_000 }) -> (engine: Engine, events: [[String: Any]]) {
        var config = EngineConfig()
        if let types { config.anomalyLog.types = types }
        if let flowless { config.anomalyLog.perEventPerSecond = flowless }
        let engine = Engine(config: config)
        var out: [UInt8] = []
        for i in frames.indices {
            _ = frames[i].withByteView { v in
                engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: second(i), micros: Int32(i % 1_000_000)),
                               wireLength: v.count)
            }
            out += engine.eve.buffer
            engine.eve.reset()
        }
        let events = String(decoding: out, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        return (engine, events)
    }

    static func anomalies(_ events: [[String: Any]]) -> [[String: Any]] {
        events.filter { $0["event_type"] as? String == "anomaly" }
    }

    static func field(_ e: [String: Any], _ key: String) -> String? {
        (e["anomaly"] as? [String: Any])?[key] as? String
    }

    static func named(_ events: [[String: Any]], _ name: String) -> [[String: Any]] {
        anomalies(events).filter { field($0, "event") == name }
    }

    // MARK: Traffic

    /// The IPv4 header promises three bytes more than the frame holds: the decoder gives up
    /// (decoder.ipv4.trunc_pkt), no flow.
    static var truncated: [UInt8] { Array(AnomalyEventRulesTests.truncated) }

    /// A TLS client whose second record has type 0x99 (tls.invalid_record_type).
    static func badTLSRecord(sport: UInt16) -> [[UInt8]] {
        T.tcpSession(v6: false, sport: sport, dport: 443, exchanges: [
            (T.clientHello(sni: "bad.example.com") + [0x99, 0x03, 0x03, 0x00, 0x02, 0x01, 0x02], T.serverHello()),
        ])
    }

    /// A DNS query cut inside its question (dns.malformed_data).
    static func malformedDNS(sport: UInt16) -> [[UInt8]] {
        let query = T.dns(sport: sport, name: "cut.example.net")[0]
        // Ethernet 14 + IPv4 20 + UDP 8 + header 12, then the question: keep 5 bytes of it and
        // fix the IPv4 and UDP lengths (IPv4 checksum recomputed).
        var f = Array(query[0 ..< 14 + 20 + 8 + 12 + 5])
        let ipLen = f.count - 14, udpLen = ipLen - 20
        f[16] = UInt8(ipLen >> 8); f[17] = UInt8(ipLen & 0xff)
        f[14 + 20 + 4] = UInt8(udpLen >> 8); f[14 + 20 + 5] = UInt8(udpLen & 0xff)
        f[24] = 0; f[25] = 0
        var sum: UInt32 = 0
        for i in stride(from: 14, to: 34, by: 2) { sum += UInt32(f[i]) << 8 | UInt32(f[i + 1]) }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        let c = ~UInt16(sum)
        f[24] = UInt8(c >> 8); f[25] = UInt8(c & 0xff)
        return [f]
    }

    /// One of each layer: a truncated packet (no flow), a UDP packet with a bad IPv4 option
    /// (decoded, with a flow), the stream anomalies of StreamEventAllocationTests (broken ACK,
    /// retransmission, overlap with other bytes, out of window) and the HTTP session with a
    /// header line without colon, a request without Host and a bad chunk length.
    static var everyLayer: [[UInt8]] {
        [truncated, AnomalyEventRulesTests.badOption] + StreamEventAllocationTests.anomalies(sport: 42100)
            + A.badHTTP(sport: 41300)
    }

    // MARK: On and off

    @Test func eachTypeLoggedWhenOnAndAbsentWhenOff() {
        let all = Self.anomalies(Self.run(Self.everyLayer, types: .all).events)
        let types = Set(all.compactMap { Self.field($0, "type") })
        #expect(types == ["decode", "stream", "applayer"], "\(all)")

        #expect(Self.anomalies(Self.run(Self.everyLayer, types: AnomalyLogTypes.none).events).isEmpty)

        // The default is Suricata's: app-layer anomalies only.
        #expect(EngineConfig().anomalyLog.types == .applayer)
        let byDefault = Self.anomalies(Self.run(Self.everyLayer, types: nil).events)
        #expect(!byDefault.isEmpty && byDefault.allSatisfy { Self.field($0, "type") == "applayer" }, "\(byDefault)")

        let decodeOnly = Self.anomalies(Self.run(Self.everyLayer, types: .decode).events)
        #expect(!decodeOnly.isEmpty && decodeOnly.allSatisfy { Self.field($0, "type") == "decode" })
        let streamOnly = Self.anomalies(Self.run(Self.everyLayer, types: .stream).events)
        #expect(!streamOnly.isEmpty && streamOnly.allSatisfy { Self.field($0, "type") == "stream" })
    }

    // MARK: Format

    @Test func decoderRecords() {
        let events = Self.run(Self.everyLayer, types: .decode).events
        // A packet without a flow: Suricata's name with its prefix, addresses, no flow id.
        let trunc = Self.named(events, "decoder.ipv4.trunc_pkt")
        #expect(trunc.count == 1, "\(Self.anomalies(events))")
        if let t = trunc.first {
            #expect(t["flow_id"] == nil && t["src_ip"] as? String == "192.168.1.10" && t["timestamp"] is String)
        }
        // A decoded packet with a flow carries the flow id and its ports.
        let option = Self.named(events, "decoder.ipv4.opt_invalid_len")
        #expect(option.count == 1)
        if let o = option.first {
            #expect(o["flow_id"] is NSNumber && o["proto"] as? String == "UDP" && o["dest_port"] as? Int == 9999, "\(o)")
        }
        // A TCP header cut short: the decoder's own event (tcp.pkt_too_small), flowless.
        let short = Self.run([AnomalyEventRulesTests.shortTCP], types: .decode).events
        #expect(Self.named(short, "decoder.tcp.pkt_too_small").count == 1, "\(Self.anomalies(short))")
    }

    @Test func streamRecords() {
        let events = Self.run(Self.everyLayer, types: .stream).events
        for name in ["stream.pkt_broken_ack", "stream.reassembly_overlap_different_data", "stream.pkt_retransmission",
                     "stream.est_packet_out_of_window"] {
            let r = Self.named(events, name)
            #expect(r.count == 1, "\(name): \(Self.anomalies(events))")
            // Client to server, in the packet's direction, with the flow id.
            #expect(r.first?["src_port"] as? Int == 42100 && r.first?["dest_port"] as? Int == 80 && r.first?["flow_id"] is NSNumber)
        }
    }

    @Test func appLayerRecords() {
        let frames = A.badHTTP(sport: 41400) + A.serverFirst(sport: 41401) + A.heartbeat(sport: 41402)
            + A.zFlagDNS(sport: 41403) + Self.badTLSRecord(sport: 41404) + Self.malformedDNS(sport: 41405)
        let events = Self.run(frames, types: .applayer).events
        func one(_ name: String, _ proto: String, layer: String = "proto_parser") -> [String: Any]? {
            let r = Self.named(events, name)
            #expect(r.count == 1, "\(name): \(Self.anomalies(events))")
            guard let e = r.first else { return nil }
            #expect(Self.field(e, "type") == "applayer" && Self.field(e, "app_proto") == proto && Self.field(e, "layer") == layer,
                    "\(e)")
            #expect(e["flow_id"] is NSNumber && e["app_proto"] as? String == proto && e["proto"] as? String == "TCP" || proto == "dns")
            return e
        }
        // libhtp's events in Suricata's upper case; the request's from the client.
        let colon = one("REQUEST_FIELD_MISSING_COLON", "http")
        #expect(colon?["src_port"] as? Int == 41400 && colon?["dest_port"] as? Int == 80)
        // Session 12: HTTP records carry their transaction (the first request's 0).
        #expect(colon?["tx_id"] as? Int == 0)
        #expect(one("MISSING_HOST_HEADER", "http")?["tx_id"] as? Int == 1)
        // The response's from the server: the packet's direction; the second transaction's.
        let chunk = one("INVALID_RESPONSE_CHUNK_LEN", "http")
        #expect(chunk?["src_port"] as? Int == 80 && chunk?["dest_port"] as? Int == 41400)
        #expect(chunk?["tx_id"] as? Int == 1)
        // Protocol detection's event.
        _ = one("APPLAYER_WRONG_DIRECTION_FIRST_DATA", "http", layer: "proto_detect")
        // TLS: one transaction per flow in Suricata (tx_id 0).
        let hb = one("HEARTBEAT_MESSAGE", "tls")
        #expect(hb?["tx_id"] as? Int == 0)
        _ = one("INVALID_RECORD_TYPE", "tls")
        // DNS is a Rust parser in Suricata: lower case.
        let z = one("z_flag_set", "dns")
        #expect(z?["proto"] as? String == "UDP" && z?["dest_port"] as? Int == 53)
        _ = one("malformed_data", "dns")
        // Nothing else: the clean exchanges in those sessions raised nothing.
        #expect(Self.anomalies(events).count == 8, "\(Self.anomalies(events))")
    }

    // MARK: Flood control

    /// The same event again on a flow and direction is a repeat (session 12: logged, as
    /// Suricata logs every instance, but at most `repeatsPerFlowPerSecond` a second per flow);
    /// the other direction's first and another flow's first are firsts.
    @Test func repeatsPerFlowAndDirection() {
        let t = T.self
        // Three queries with the Z bit on one flow (same ports), each answered with it too.
        var frames: [[UInt8]] = []
        for _ in 0 ..< 3 {
            var pair = t.dns(sport: 41500, name: "z.example.net")
            pair[0][14 + 20 + 8 + 3] |= 0x40
            pair[1][14 + 20 + 8 + 3] |= 0x40
            frames += pair
        }
        frames += A.zFlagDNS(sport: 41501)
        let (engine, events) = Self.run(frames, types: .applayer)
        let z = Self.named(events, "z_flag_set")
        let first = z.filter { ($0["src_port"] as? Int == 41500) || ($0["dest_port"] as? Int == 41500) }
        // Query 1 and response 1 are firsts, query 2 and response 2 the flow's two repeats of
        // the second; query 3 and response 3 are over the flow's bound.
        #expect(first.count == 4, "\(z)")
        #expect(first.compactMap { $0["src_port"] as? Int } == [41500, 53, 41500, 53])
        #expect(z.count == 5, "the second flow logs its own: \(z)")
        #expect(engine.anomalyLog.suppressed == 2 && engine.anomalyLog.written == 5)
        // Every event is still counted by its layer.
        #expect(engine.stats.appEvents.count(.dns, bit: AppLayerEvents.lookup("dns.z_flag_set")!.bit) == 7)
        engine.eve.reset()
        engine.writeStats()
        let stats = String(decoding: engine.eve.buffer, as: UTF8.self)
        #expect(stats.contains(#""anomaly":{"logged":5,"suppressed":2}"#), "\(stats)")
    }

    /// A reused flow slot starts clean: the same event of a new flow on the same slot logs.
    @Test func newFlowOnTheSameSlotLogsAgain() {
        // Same ports one after the other: the first session ends (FIN exchange), the second is
        // a new flow (a new ISN: the same one would be the old SYN resent, as Suricata reads it).
        let frames = A.badHTTP(sport: 41600) + A.badHTTP(sport: 41600, isn: 5_000_000)
        let events = Self.run(frames, types: .applayer).events
        let ids = Set(Self.named(events, "MISSING_HOST_HEADER").compactMap { ($0["flow_id"] as? NSNumber)?.uint64Value })
        #expect(Self.named(events, "MISSING_HOST_HEADER").count == 2 && ids.count == 2, "\(Self.anomalies(events))")
    }

    /// The per-slot words directly: another flow id on a slot clears what the last one logged
    /// (and its repeat count); only the enabled types get words.
    @Test func slotWordsFollowTheFlowID() {
        var c = AnomalyLogConfig()
        c.types = [.stream, .applayer]
        var st = AnomalyLogState(c, flowSlots: 4)
        #expect(st.stride == 4 && st.decodeWord == -1 && st.streamWord == 0 && st.appWord == 2)
        let base = st.words(3, flowID: 77)!
        st.logged[base + st.appWord + 1] = 0b101
        let two = [st.allowed(0, 5, repeatOf: 3), st.allowed(0, 5, repeatOf: 3), st.allowed(0, 5, repeatOf: 3)]
        #expect(two == [true, true, false], "the flow's repeat bound")
        #expect(st.words(3, flowID: 77) == base && st.logged[base + st.appWord + 1] == 0b101)
        #expect(st.words(3, flowID: 78) == base)
        #expect(st.logged[base + st.appWord + 1] == 0, "a new flow on the slot starts clean")
        let again = st.allowed(1, 5, repeatOf: 3)
        #expect(again, "and with its own repeat bound")
        #expect(st.words(4, flowID: 1) == nil && st.words(-1, flowID: 1) == nil)
        #expect(AnomalyLogState(AnomalyLogConfig(), flowSlots: 4).logged.count == 8, "default: app-layer words only")
        var off = AnomalyLogConfig()
        off.types = AnomalyLogTypes.none
        #expect(AnomalyLogState(off, flowSlots: 4).logged.isEmpty)
    }

    @Test func flowlessBudgetPerSecond() {
        // 250 undecodable packets in one second, then 3 in the next.
        let frames = [[UInt8]](repeating: Self.truncated, count: 253)
        let (engine, events) = Self.run(frames, types: .decode, flowless: 100) { i in i < 250 ? 1_700_000_000 : 1_700_000_001 }
        #expect(Self.named(events, "decoder.ipv4.trunc_pkt").count == 103)
        #expect(engine.anomalyLog.suppressed == 150)
        engine.eve.reset()
        engine.writeStats()
        let stats = String(decoding: engine.eve.buffer, as: UTF8.self)
        #expect(stats.contains(#""anomaly":{"logged":103,"suppressed":150}"#), "\(stats)")
    }

    /// With the log off there is no `anomaly` object in the stats event, as before.
    @Test func statsUnchangedWhenNothingLogged() {
        let (engine, _) = Self.run(Self.everyLayer, types: AnomalyLogTypes.none)
        engine.eve.reset()
        engine.writeStats()
        #expect(!String(decoding: engine.eve.buffer, as: UTF8.self).contains(#""anomaly""#))
    }

    // MARK: Settings

    @Test func typesParse() throws {
        #expect(try AnomalyLogTypes.parse("none") == AnomalyLogTypes.none)
        #expect(try AnomalyLogTypes.parse("all") == .all)
        #expect(try AnomalyLogTypes.parse("decode, Stream") == [.decode, .stream])
        #expect(try AnomalyLogTypes.parse("applayer") == .applayer)
        for bad in ["", "decoder", "all,decode", "none,applayer", "decode,,stream", "app-layer"] {
            #expect(throws: AnomalyLogTypes.Failure.self, "\(bad)") { try AnomalyLogTypes.parse(bad) }
        }
        var c = EngineConfig()
        var explicit = false
        #expect(try ReplaySettings.apply("anomaly-log=decode,applayer", to: &c, explicitMidstreamPolicy: &explicit) == nil)
        #expect(c.anomalyLog.types == [.decode, .applayer])
        #expect(throws: ReplaySettings.Failure.self) {
            try ReplaySettings.apply("anomaly-log=loud", to: &c, explicitMidstreamPolicy: &explicit)
        }
    }

    /// `utmctl replay --anomaly-log`: on the fixture capture, none and all; a bad value is one line.
    @Test func replayFlag() throws {
        func events(_ args: [String]) throws -> [[String: Any]] {
            let r = try R.run(["replay", R.sample, "--eve", "-"] + args)
            #expect(r.status == 0 && r.reason == .exit, "stderr: \(r.stderr)")
            return r.stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
        let none = try events(["--anomaly-log", "none"])
        let all = try events(["--anomaly-log", "all"])
        #expect(Self.anomalies(none).isEmpty)
        // The other events are the same with the log on.
        #expect(none.count == all.count - Self.anomalies(all).count)
        let r = try R.run(["replay", R.sample, "--anomaly-log", "loud"])
        let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("utmctl: ") }
        #expect(r.status == 1 && lines.count == 1 && lines[0].contains("--anomaly-log"), "\(r.stderr)")
    }

    /// `utmctl logs ingest` reads anomaly lines as well-formed events it does not keep (no
    /// record type of its own yet): counted as ignored, never malformed, the rest stored.
    @Test func storeIngestAcceptsAnomalyLines() throws {
        var config = EngineConfig()
        config.anomalyLog.types = .all
        let engine = Engine(config: config)
        var out: [UInt8] = []
        let frames = Self.everyLayer
        for i in frames.indices {
            _ = frames[i].withByteView { v in
                engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i)),
                               wireLength: v.count)
            }
        }
        engine.finish()
        out += engine.eve.buffer
        let lines = String(decoding: out, as: UTF8.self).split(separator: "\n")
        let anomalies = lines.filter { $0.contains(#""event_type":"anomaly""#) }.count
        #expect(anomalies > 5)
        let eve = try R.temp("anomaly.eve.json", Data(out))
        let store = try R.temp("anomaly.db", Data())
        try? FileManager.default.removeItem(atPath: store)
        let r = try R.run(["logs", "ingest", "--store", store, eve])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("malformed") && r.stderr.contains("\(lines.count) lines"), "\(r.stderr)")
        // Anomalies and the stats event are the ignored lines.
        #expect(r.stderr.contains("\(anomalies + 1) ignored"), "\(r.stderr)")
    }

    /// utmd.conf's `anomaly_log`: a bad value fails the configuration on its line, naming the key.
    @Test func utmdKey() throws {
        let check = { (text: String) in try Session12AnomalyRateTests.utmdCheck(text, name: "utmd-anomaly.conf") }
        guard let (status, err) = try check("eve = -\nanomaly_log = decode,loud\n"),
              let (_, err2) = try check("eve = -\nanomaly_log = all\n") else { return }
        let lines = err.split(separator: "\n").filter { $0.contains("utmd-anomaly.conf:2") }
        #expect(status != 0 && lines.count == 1 && lines[0].contains("anomaly_log"), "\(err)")
        #expect(!err2.contains("anomaly_log") && !err2.contains("anomaly-log"), "\(err2)")
    }
}

/// DESIGN: logging anomalies allocates nothing per packet (records go into the EVE buffer).
@Suite(.serialized) struct AnomalyLogAllocationTests {
    @Test func loggingAnomaliesDoesNotAllocate() {
        guard allocationCounterWorks() else { return }
        var config = EngineConfig()
        config.anomalyLog.types = .all
        let engine = Engine(config: config)
        var frames = EngineTraffic.round()
        for c in 0 ..< 4 {
            frames += AppLayerEventRulesTests.badHTTP(sport: UInt16(41700 + c))
            frames += AppLayerEventRulesTests.heartbeat(sport: UInt16(41710 + c))
            frames += StreamEventAllocationTests.anomalies(sport: UInt16(41720 + c))
            frames.append(AnomalyEventRulesTests.truncated)
            frames.append(AnomalyEventRulesTests.badOption)
        }
        var writtenBefore: UInt64 = 0
        let n = steadyStateAllocations(engine, frames, rounds: 10) { writtenBefore = engine.anomalyLog.written }
        #expect(n == 0, "the anomaly log allocated \(n) times")
        #expect(engine.anomalyLog.written > writtenBefore)
    }
}
