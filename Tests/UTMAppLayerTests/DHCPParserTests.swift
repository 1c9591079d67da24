import Testing
import UTMCore
@testable import UTMAppLayer

/// DHCPv4 messages built byte by byte (RFC 2131 section 2 layout, RFC 2132 options).
enum DHCPBuild {
    static let mac: [UInt8] = [0x02, 0x00, 0x5e, 0x10, 0x20, 0x30]
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }

    /// op, htype 1, hlen 6, hops 0, xid, secs, flags (broadcast), ciaddr, yiaddr, siaddr,
    /// giaddr, chaddr (16), sname (64), file (128), magic cookie, options, END.
    static func message(op: UInt8, type: UInt8, xid: UInt32 = 0x3903_f326, ciaddr: [UInt8] = [0, 0, 0, 0],
                        yiaddr: [UInt8] = [0, 0, 0, 0], options: [UInt8] = [], end: Bool = true) -> [UInt8] {
        var m: [UInt8] = [op, 1, 6, 0] + be32(xid) + [0, 0, 0x80, 0] + ciaddr + yiaddr + [0, 0, 0, 0] + [0, 0, 0, 0]
        m += mac + [UInt8](repeating: 0, count: 10)
        m += [UInt8](repeating: 0, count: 64 + 128)
        m += [0x63, 0x82, 0x53, 0x63]
        m += [53, 1, type] + options
        if end { m.append(255) }
        return m
    }

    static let discover = message(op: 1, type: 1, options:
        [61, 7, 1] + mac + [12, 7] + Array("pc-sato".utf8) + [55, 3, 1, 3, 6])
    static let request = message(op: 1, type: 3, options:
        [50, 4, 192, 168, 10, 23] + [54, 4, 192, 168, 10, 1] + [12, 7] + Array("pc-sato".utf8) + [0, 0])
    static let ack = message(op: 2, type: 5, yiaddr: [192, 168, 10, 23], options:
        [54, 4, 192, 168, 10, 1] + [51, 4] + be32(86400) + [1, 4, 255, 255, 255, 0])
}

@Suite struct DHCPParserTests {
    func parse(_ bytes: [UInt8]) -> DHCPMessage? { bytes.withByteView { DHCP.parse($0) } }
    func text(_ m: DHCPMessage, _ f: DHCPField, _ bytes: [UInt8]) -> String {
        bytes.withByteView { String(decoding: m.field(f, in: $0).bytes, as: UTF8.self) }
    }

    @Test func discover() throws {
        let m = try #require(parse(DHCPBuild.discover))
        #expect(m.op == 1 && m.messageType == 1 && m.xid == 0x3903_f326)
        #expect(m.clientMAC.description == "02:00:5e:10:20:30")
        #expect(text(m, m.hostname, DHCPBuild.discover) == "pc-sato")
        #expect(DHCPBuild.discover.withByteView { m.field(m.clientID, in: $0).bytes } == [1] + DHCPBuild.mac)
        #expect(m.assignedIP == .none && m.leaseTime == nil && !m.truncated)
        #expect(DHCPMessage.typeName(m.messageType).description == "discover")
    }

    @Test func request() throws {
        let m = try #require(parse(DHCPBuild.request))
        #expect(m.messageType == 3)
        #expect(m.requestedIP == IPAddress(v4: 0xC0A8_0A17))
        #expect(m.serverID == IPAddress(v4: 0xC0A8_0A01))
        #expect(m.assignedIP == IPAddress(v4: 0xC0A8_0A17), "a request names the address it asks for")
        #expect(text(m, m.hostname, DHCPBuild.request) == "pc-sato")
    }

    @Test func ack() throws {
        let m = try #require(parse(DHCPBuild.ack))
        #expect(m.op == 2 && m.messageType == 5)
        #expect(m.yiaddr == IPAddress(v4: 0xC0A8_0A17) && m.assignedIP == m.yiaddr)
        #expect(m.leaseTime == 86400)
        #expect(m.hostname.length == 0)
        #expect(DHCPMessage.typeName(m.messageType).description == "ack")
    }

    /// Every prefix: nil before the cookie is complete, never a trap, and options after the cut
    /// are simply not there (a field range never points past the bytes).
    @Test func truncatedAtEveryLength() {
        for full in [DHCPBuild.discover, DHCPBuild.request, DHCPBuild.ack] {
            for n in 0 ..< full.count {
                let cut = Array(full.prefix(n))
                let m = parse(cut)
                if n < 240 {
                    #expect(m == nil, "length \(n)")
                } else {
                    #expect(m != nil, "length \(n)")
                    #expect(m?.truncated == true, "length \(n): no END")
                    if let msg = m {
                        #expect(Int(msg.hostname.offset) + Int(msg.hostname.length) <= n)
                        #expect(Int(msg.clientID.offset) + Int(msg.clientID.length) <= n)
                    }
                }
            }
            #expect(parse(full)?.truncated == false)
        }
    }

    @Test func notDHCP() {
        var noCookie = DHCPBuild.ack
        noCookie[236] = 0
        #expect(parse(noCookie) == nil)
        var badOp = DHCPBuild.ack
        badOp[0] = 3
        #expect(parse(badOp) == nil)
        #expect(parse([]) == nil)
        #expect(parse([UInt8](repeating: 0xff, count: 300)) == nil)
    }

    /// Options with impossible lengths for their code are ignored, not trusted; an option whose
    /// length runs past the end stops the walk.
    @Test func badOptionLengths() throws {
        let m = try #require(parse(DHCPBuild.message(op: 2, type: 5, options: [51, 2, 0, 1] + [50, 3, 1, 2, 3] + [53, 2, 5, 5])))
        #expect(m.leaseTime == nil && m.requestedIP == .none && m.messageType == 5)
        let past = try #require(parse(DHCPBuild.message(op: 1, type: 1, options: [12, 200, 0x41], end: false)))
        #expect(past.truncated && past.hostname.length == 0)
        // chaddr of a non-Ethernet hardware type is not a MAC.
        var ib = DHCPBuild.discover
        ib[1] = 32
        #expect(try #require(parse(ib)).clientMAC == .none)
    }

    /// Pseudo-random garbage after a valid header and cookie, and whole random datagrams: the
    /// parser returns, and every range it hands out is inside the input.
    @Test func garbage() {
        var seed: UInt64 = 0x9e37_79b9_7f4a_7c15
        func next() -> UInt8 {
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
            return UInt8(truncatingIfNeeded: seed)
        }
        let head = Array(DHCPBuild.discover.prefix(240))
        for round in 0 ..< 2000 {
            let n = Int(next()) + Int(next() & 3) * 256
            var bytes = (0 ..< n).map { _ in next() }
            if round % 2 == 0 { bytes = head + bytes }
            if let m = parse(bytes) {
                #expect(Int(m.hostname.offset) + Int(m.hostname.length) <= bytes.count)
                #expect(Int(m.clientID.offset) + Int(m.clientID.length) <= bytes.count)
            }
        }
    }

    @Test func ports() {
        #expect(DHCP.isDHCPPorts(68, 67) && DHCP.isDHCPPorts(67, 68) && DHCP.isDHCPPorts(67, 67))
        #expect(!DHCP.isDHCPPorts(68, 68) && !DHCP.isDHCPPorts(53, 67 + 1000))
    }
}
