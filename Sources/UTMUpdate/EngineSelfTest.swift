import UTMCore
import UTMDecode
import UTMEngine

/// Runs a small built-in packet set through an engine built from a candidate definition set,
/// before the set becomes current (issue 7: "roll back when the engine fails its self-test").
///
/// The packets, Ethernet/IPv4/TCP with valid checksums, built here (no capture file needed):
///  - a clean HTTP download (`selftest.mimamori.invalid`, "hello") must pass: every packet
///    accepted. A set that drops ordinary traffic (a rule gone wrong, a category database that
///    lists everything) fails here.
///  - when antivirus definitions are loaded, an HTTP download of the EICAR test file must be
///    alerted on (the scanner's built-in signature, so any usable AV set must catch it).
public enum EngineSelfTest {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// The EICAR anti-virus test file (the industry's harmless test string, 68 bytes).
    static let eicar = Array(#"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"#.utf8)

    public static func run(_ defs: LoadedDefinitions) throws(Failure) {
        let engine = defs.makeEngine()
        let clean = httpFlow(clientPort: 40001, body: Array("hello from the definition self-test\n".utf8))
        for (i, frame) in clean.enumerated() {
            let d = process(engine, frame, i)
            guard d.verdict == .accept else {
                throw Failure(description: "self-test: clean HTTP flow packet \(i + 1) of \(clean.count) was \(d.verdict) by \(d.source)")
            }
        }
        if defs.engineConfig.antivirus != nil {
            engine.eve.reset()
            let infected = httpFlow(clientPort: 40002, body: eicar)
            for (i, frame) in infected.enumerated() { _ = process(engine, frame, 100 + i) }
            let events = String(decoding: engine.eve.buffer, as: UTF8.self)
            guard events.contains("\"event_type\":\"alert\"") else {
                throw Failure(description: "self-test: EICAR over HTTP raised no alert")
            }
        }
        engine.finish()
    }

    static func process(_ engine: Engine, _ frame: [UInt8], _ i: Int) -> PacketDecision {
        frame.withByteView { view in
            engine.process(frame: view, linkType: .ethernet, timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i * 1000)),
                           wireLength: frame.count)
        }
    }

    /// One HTTP/1.1 GET and its 200 response carrying `body`, with handshake, ACKs and close.
    static func httpFlow(clientPort: UInt16, body: [UInt8]) -> [[UInt8]] {
        var c = TCPEnd(ip: [10, 71, 0, 2], port: clientPort, seq: 1000)
        var s = TCPEnd(ip: [10, 71, 0, 1], port: 80, seq: 5000)
        let request = Array("GET /selftest HTTP/1.1\r\nHost: selftest.mimamori.invalid\r\nUser-Agent: mimamori-selftest\r\n\r\n".utf8)
        let response = Array("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
        var frames: [[UInt8]] = []
        frames.append(segment(&c, &s, flags: 0x02, []))           // SYN
        frames.append(segment(&s, &c, flags: 0x12, []))           // SYN-ACK
        frames.append(segment(&c, &s, flags: 0x10, []))           // ACK
        frames.append(segment(&c, &s, flags: 0x18, request))      // request
        frames.append(segment(&s, &c, flags: 0x10, []))
        frames.append(segment(&s, &c, flags: 0x18, response))     // response
        frames.append(segment(&c, &s, flags: 0x10, []))
        frames.append(segment(&s, &c, flags: 0x11, []))           // FIN
        frames.append(segment(&c, &s, flags: 0x11, []))
        frames.append(segment(&s, &c, flags: 0x10, []))
        return frames
    }

    struct TCPEnd {
        var ip: [UInt8]
        var port: UInt16
        var seq: UInt32
        var ack: UInt32 = 0
    }

    /// One Ethernet/IPv4/TCP frame from `a` to `b`; advances `a`'s sequence number.
    static func segment(_ a: inout TCPEnd, _ b: inout TCPEnd, flags: UInt8, _ payload: [UInt8]) -> [UInt8] {
        let ackNo = flags & 0x02 != 0 && flags & 0x10 == 0 ? 0 : b.seq
        var tcp: [UInt8] = []
        put16(&tcp, a.port); put16(&tcp, b.port)
        put32(&tcp, a.seq); put32(&tcp, ackNo)
        tcp += [0x50, flags]
        put16(&tcp, 65535); put16(&tcp, 0); put16(&tcp, 0)
        tcp += payload
        var pseudo = a.ip + b.ip + [0, 6]
        put16(&pseudo, UInt16(tcp.count))
        let tsum = checksum(pseudo + tcp)
        tcp[16] = UInt8(tsum >> 8); tcp[17] = UInt8(tsum & 0xff)
        var ip: [UInt8] = [0x45, 0]
        put16(&ip, UInt16(20 + tcp.count))
        ip += [0, 1, 0x40, 0, 64, 6, 0, 0] + a.ip + b.ip
        let isum = checksum(ip)
        ip[10] = UInt8(isum >> 8); ip[11] = UInt8(isum & 0xff)
        var advance = UInt32(payload.count)
        if flags & 0x03 != 0 { advance += 1 }   // SYN and FIN take one sequence number
        a.seq &+= advance
        let eth: [UInt8] = [0x02, 0, 0, 0, 0, b.ip[3], 0x02, 0, 0, 0, 0, a.ip[3], 0x08, 0x00]
        return eth + ip + tcp
    }

    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count { sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1]); i += 2 }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    static func put16(_ out: inout [UInt8], _ v: UInt16) { out += [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func put32(_ out: inout [UInt8], _ v: UInt32) {
        out += [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
    }
}
