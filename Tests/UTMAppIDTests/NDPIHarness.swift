import Foundation
import Testing
import UTMAppID
import UTMAppLayer
import UTMCapture
import UTMCore
import UTMDecode
import UTMFlow

// Replays a capture through the engine's own pieces (decoder, flow table, reassembler, TLS /
// QUIC / DNS parsers) and runs the identifier on every flow, the way the engine will: payload
// of each in-order TCP chunk or UDP datagram, plus the names the parsers find.

let ndpiResults = "/work/shared/corpus/ndpi/tests/cfgs/default"

/// Skips (locally) or fails (CI) when the shared corpus is absent.
func ndpiCorpus() -> String? {
    if FileManager.default.fileExists(atPath: ndpiResults + "/result") { return ndpiResults }
    if ProcessInfo.processInfo.environment["CI"] == "true" {
        Issue.record("nDPI corpus missing on CI: \(ndpiResults)")
    } else {
        print("SKIP: \(ndpiResults) is absent (set CI=true to make this a failure)")
    }
    return nil
}

/// Unordered 5-tuple: how nDPI's result lines and our flows meet.
struct TupleKey: Hashable, CustomStringConvertible {
    var proto: UInt8
    var a: IPAddress, ap: UInt16
    var b: IPAddress, bp: UInt16
    init(_ proto: UInt8, _ x: IPAddress, _ xp: UInt16, _ y: IPAddress, _ yp: UInt16) {
        self.proto = proto
        if !((y, yp) < (x, xp)) {
            a = x; ap = xp; b = y; bp = yp
        } else {
            a = y; ap = yp; b = x; bp = xp
        }
    }
    var description: String { "\(proto == 6 ? "TCP" : "UDP") \(a):\(ap) <-> \(b):\(bp)" }
}

private func < (l: (IPAddress, UInt16), r: (IPAddress, UInt16)) -> Bool {
    l.0 < r.0 || (l.0 == r.0 && l.1 < r.1)
}

/// One flow line of an nDPI result file.
struct NDPIExpected {
    var key: TupleKey
    var master: String
    var app: String?
    var full: String { app.map { "\(master).\($0)" } ?? master }
}

func parseEndpoint(_ s: Substring) -> (IPAddress, UInt16)? {
    guard let colon = s.lastIndex(of: ":"), let port = UInt16(s[s.index(after: colon)...]) else { return nil }
    var host = s[..<colon]
    if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
    guard let ip = IPAddress(String(host)) else { return nil }
    return (ip, port)
}

func ndpiExpected(_ outFile: String) -> [NDPIExpected] {
    guard let data = FileManager.default.contents(atPath: outFile) else { return [] }
    let text = String(decoding: data, as: UTF8.self)
    var result: [NDPIExpected] = []
    for line in text.split(separator: "\n") {
        // "\t12\tTCP 1.2.3.4:5 <-> 6.7.8.9:443 [proto: 91.126/TLS.Google]..."
        let fields = line.split(separator: "\t", omittingEmptySubsequences: true)
        guard fields.count >= 2, Int(fields[0]) != nil else { continue }
        let parts = fields[1].split(separator: " ", maxSplits: 4)
        guard parts.count >= 5, parts[0] == "TCP" || parts[0] == "UDP",
              parts[2] == "<->" || parts[2] == "->",
              let x = parseEndpoint(parts[1]), let y = parseEndpoint(parts[3]),
              let r = fields[1].range(of: "[proto: ") else { continue }
        let rest = fields[1][r.upperBound...]
        guard let slash = rest.firstIndex(of: "/"), let end = rest.firstIndex(of: "]") , slash < end else { continue }
        let name = rest[rest.index(after: slash)..<end]
        let nm = name.split(separator: ".", maxSplits: 1)
        result.append(NDPIExpected(key: TupleKey(parts[0] == "TCP" ? 6 : 17, x.0, x.1, y.0, y.1),
                                   master: String(nm[0]), app: nm.count > 1 ? String(nm[1]) : nil))
    }
    return result
}

/// Per-flow context of the replay harness (test code: classes and dictionaries are fine here).
final class HarnessFlow {
    var state = AppIDState()
    var tls: TLSParser?
    var quic: QUICParser?
    var quicTLS: TLSParser?
    var sniDone = false
    var hostBuffer: [UInt8] = []
    var hostDone = false
    var dnsDone = false
    var name = ""
}

struct ObservedFlow {
    var key: TupleKey
    var state: AppIDState
    var name: String
}

/// Runs one capture; returns the App-ID result of every flow (nil when unreadable).
func replayForAppID(_ path: String, identifier: AppIdentifier) -> [ObservedFlow]? {
    guard let source = try? PcapFileSource(path: path) else { return nil }
    var decoder = Decoder()
    var flowConfig = FlowConfig()
    flowConfig.capacity = 8192
    flowConfig.segmentPoolBytes = 4 << 20
    var flows = FlowTable(config: flowConfig)
    var reasm = TCPReassembler(config: flowConfig)
    var packet = DecodedPacket()
    var contexts: [UInt64: HarnessFlow] = [:]
    var observed: [ObservedFlow] = []
    var dns = DNSParser()
    var quicTLSConfig = TLSConfig()
    quicTLSConfig.isQUIC = true

    func ended(_ ref: FlowRef, _ flow: inout Flow, _ reason: FlowEndReason) {
        reasm.release(ref, flow: &flow)
        guard flow.ipProto == 6 || flow.ipProto == 17 else { return }
        let ctx = contexts.removeValue(forKey: flow.id)
        var st = ctx?.state ?? AppIDState()
        identifier.onEnd(&st, transport: flow.ipProto, serverPort: flow.serverPort, clientPort: flow.clientPort)
        observed.append(ObservedFlow(key: TupleKey(flow.ipProto, flow.clientIP, flow.clientPort, flow.serverIP, flow.serverPort),
                                     state: st, name: ctx?.name ?? ""))
    }

    _ = try? source.forEachFrame { frame, ts, _ in
        guard decoder.decode(frame, rawLinkType: source.rawLinkType, timestamp: ts, into: &packet) == .decoded else { return }
        guard packet.ipProto == 6 || packet.ipProto == 17 else { return }
        guard let t = flows.track(packet, onEnd: ended) else { return }
        let f = flows[t.ref]
        let ctx: HarnessFlow
        if let c = contexts[f.id] { ctx = c } else { ctx = HarnessFlow(); contexts[f.id] = ctx }
        let sp = f.serverPort, cp = f.clientPort
        if packet.ipProto == 6 {
            reasm.process(packet, ref: t.ref, flows: &flows, direction: t.direction) { data, chunk in
                feedTCP(ctx, data, chunk.direction, sp, cp, identifier)
            }
        } else {
            feedUDP(ctx, packet.payload, t.direction, sp, cp, identifier, &dns, quicTLSConfig)
        }
    }
    flows.removeAll(onEnd: ended)
    return observed
}

private func feedTCP(_ ctx: HarnessFlow, _ data: ByteView, _ dir: Direction, _ sp: UInt16, _ cp: UInt16,
                     _ identifier: AppIdentifier) {
    if !ctx.state.done {
        identifier.onPayload(&ctx.state, payload: data, direction: dir, transport: 6, serverPort: sp, clientPort: cp)
    }
    // TLS: SNI from the ClientHello.
    if !ctx.sniDone {
        if ctx.tls == nil, dir == .toServer, data.u8(0) == 0x16 { ctx.tls = TLSParser() }
        if ctx.tls != nil {
            ctx.tls!.feed(data, direction: dir, gap: false)
            if let ch = ctx.tls!.clientHello {
                ctx.sniDone = true
                ctx.tls!.withField(ch.sni) { v in
                    if !v.isEmpty { identifier.onName(&ctx.state, name: v, kind: .sni); ctx.name = String(decoding: v.bytes, as: UTF8.self) }
                }
                ctx.tls = nil
            } else if ctx.tls!.encrypted {
                ctx.sniDone = true
                ctx.tls = nil
            }
        }
    }
    // HTTP: the Host header of the first request.
    if !ctx.hostDone && dir == .toServer {
        data.prefix(4096 - ctx.hostBuffer.count).append(to: &ctx.hostBuffer)
        if let host = httpHost(ctx.hostBuffer) {
            ctx.hostDone = true
            ctx.name = String(decoding: host, as: UTF8.self)
            if !host.isEmpty { host.withByteView { identifier.onName(&ctx.state, name: $0, kind: .httpHost) } }
        } else if ctx.hostBuffer.count >= 4096 || !(ctx.hostBuffer.first.map { $0 >= 0x41 && $0 <= 0x5a } ?? false) {
            ctx.hostDone = true
        }
        if ctx.hostDone { ctx.hostBuffer = [] }
    }
    // DNS over TCP.
    if !ctx.dnsDone && (sp == 53) && dir == .toServer, data.count > 2 {
        ctx.dnsDone = true
        var p = DNSParser()
        if p.parse(data.dropFirst(2)), let q = p.message.question(0) {
            p.withField(q.name) { if !$0.isEmpty { identifier.onName(&ctx.state, name: $0, kind: .dnsQuery) } }
        }
    }
}

private func feedUDP(_ ctx: HarnessFlow, _ payload: ByteView, _ dir: Direction, _ sp: UInt16, _ cp: UInt16,
                     _ identifier: AppIdentifier, _ dns: inout DNSParser, _ quicTLSConfig: TLSConfig) {
    if !ctx.state.done {
        identifier.onPayload(&ctx.state, payload: payload, direction: dir, transport: 17, serverPort: sp, clientPort: cp)
    }
    if !ctx.dnsDone && (sp == 53 || sp == 5353 || sp == 5355 || cp == 53) {
        ctx.dnsDone = true
        if dns.parse(payload), let q = dns.message.question(0) {
            dns.withField(q.name) { if !$0.isEmpty { identifier.onName(&ctx.state, name: $0, kind: .dnsQuery); ctx.name = String(decoding: $0.bytes, as: UTF8.self) } }
        }
        return
    }
    if !ctx.sniDone {
        if ctx.quic == nil, QUICParser.probe(payload) {
            ctx.quic = QUICParser()
            ctx.quicTLS = TLSParser(config: quicTLSConfig)
        }
        guard ctx.quic != nil else { return }
        var tls = ctx.quicTLS!
        ctx.quic!.feed(payload, direction: dir) { crypto, d in tls.feedHandshake(crypto, direction: d) }
        ctx.quicTLS = tls
        if let ch = tls.clientHello {
            ctx.sniDone = true
            tls.withField(ch.sni) { v in
                if !v.isEmpty { identifier.onName(&ctx.state, name: v, kind: .quicSNI); ctx.name = String(decoding: v.bytes, as: UTF8.self) }
            }
            ctx.quic = nil
            ctx.quicTLS = nil
        } else if ctx.quic!.done {
            ctx.sniDone = true
            ctx.quic = nil
            ctx.quicTLS = nil
        }
    }
}

/// The Host header of the first request in `buf`, once its header block is complete.
func httpHost(_ buf: [UInt8]) -> [UInt8]? {
    let s = String(decoding: buf, as: UTF8.self)
    guard let end = s.range(of: "\r\n\r\n") else { return nil }
    for line in s[..<end.lowerBound].split(separator: "\r\n").dropFirst() {
        if line.lowercased().hasPrefix("host:") {
            return Array(line.dropFirst(5).trimmingCharacters(in: .whitespaces).utf8)
        }
    }
    return []
}
