import Foundation
import Testing
import UTMCore
import UTMCrypto
@testable @_spi(Testing) import UTMAppLayer

// Helpers for the QUIC tests: hex, a packet builder that protects Initial packets the way a
// client does (so reassembly can be tested on shuffled frames), a hand-written SNI reader (the
// TLS parser lives elsewhere), and a minimal pcap / pcapng reader for the nDPI captures.

func hex(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var high: UInt8? = nil
    for c in s.utf8 {
        let v: UInt8
        switch c {
        case UInt8(ascii: "0") ... UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
        case UInt8(ascii: "a") ... UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A") ... UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10
        default: continue
        }
        if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
    }
    return out
}

func hexString(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }

func encodeVarint(_ v: UInt64, into out: inout [UInt8]) {
    if v < 0x40 { out.append(UInt8(v)) }
    else if v < 0x4000 { out += [UInt8(0x40 | (v >> 8)), UInt8(v & 0xff)] }
    else if v < 0x4000_0000 { out += [UInt8(0x80 | (v >> 24)), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }
    else { for i in (0 ..< 8).reversed() { out.append(UInt8((v >> UInt64(8 * i)) & 0xff) | (i == 7 ? 0xc0 : 0)) } }
}

/// A CRYPTO frame.
func cryptoFrame(offset: Int, _ data: ArraySlice<UInt8>) -> [UInt8] {
    var f: [UInt8] = [0x06]
    encodeVarint(UInt64(offset), into: &f)
    encodeVarint(UInt64(data.count), into: &f)
    f += data
    return f
}

/// Protects an Initial packet carrying `payload` (frames) as a client (or server) would:
/// AES-128-GCM with the nonce from the packet number, then header protection.
func protectInitial(version: UInt32 = 1, dcid: [UInt8], scid: [UInt8] = [0xaa, 0xbb], token: [UInt8] = [],
                    packetNumber: UInt64, pnLength: Int = 4, payload: [UInt8], server: Bool = false,
                    padTo: Int = 0) -> [UInt8] {
    let crypto = QUICInitialCrypto()!
    let qv = QUICVersion(wire: version)!
    var payload = payload
    let keysAll = dcid.withByteView { QUICInitialKeys.derive(version: qv, dcid: $0, crypto: crypto) }!
    let keys = server ? keysAll.server : keysAll.client
    var header: [UInt8] = [0xc0 | (qv.initialTypeBits << 4) | UInt8(pnLength - 1)]
    header += [UInt8(version >> 24), UInt8((version >> 16) & 0xff), UInt8((version >> 8) & 0xff), UInt8(version & 0xff)]
    header.append(UInt8(dcid.count)); header += dcid
    header.append(UInt8(scid.count)); header += scid
    encodeVarint(UInt64(token.count), into: &header); header += token
    // Pad so the datagram reaches padTo and the sample exists.
    let fixed = header.count + 2 + pnLength + 16
    if fixed + payload.count < padTo { payload += [UInt8](repeating: 0, count: padTo - fixed - payload.count) }
    if payload.count + pnLength < 20 { payload += [UInt8](repeating: 0, count: 20 - payload.count - pnLength) }
    let length = pnLength + payload.count + 16
    header += [UInt8(0x40 | (length >> 8)), UInt8(length & 0xff)]
    let pnOffset = header.count
    for i in (0 ..< pnLength).reversed() { header.append(UInt8((packetNumber >> UInt64(8 * i)) & 0xff)) }
    var sealed = [UInt8](repeating: 0, count: payload.count + 16)
    let nonce = keys.iv.xoringCounter(packetNumber)
    let n = header.withByteView { aad in
        payload.withByteView { p in
            sealed.withUnsafeMutableBytes { crypto.aes128GCMSeal(key: keys.key, nonce: nonce, aad: aad, plaintext: p, into: $0) }
        }
    }
    #expect(n == sealed.count)
    var packet = header + sealed
    let sample = Bytes16(packet.withByteView { $0.slice(pnOffset + 4, 16)! })!
    let mask = crypto.aes128EncryptBlock(key: keys.hp, block: sample)!
    packet[0] ^= mask[0] & 0x0f
    for i in 0 ..< pnLength { packet[pnOffset + i] ^= mask[1 + i] }
    return packet
}

/// Feeds datagrams to a parser and collects each direction's CRYPTO bytes as delivered.
struct Collector {
    var parser: QUICParser
    var client: [UInt8] = []
    var server: [UInt8] = []
    var calls = 0

    init(config: QUICConfig = .init()) { parser = QUICParser(config: config) }

    mutating func feed(_ datagram: [UInt8], _ direction: Direction = .toServer) {
        var c: [UInt8] = []
        var s: [UInt8] = []
        var n = 0
        datagram.withByteView { d in
            parser.feed(d, direction: direction) { bytes, dir in
                n += 1
                if dir == .toServer { bytes.append(to: &c) } else { bytes.append(to: &s) }
            }
        }
        client += c
        server += s
        calls += n
    }
}

/// The server_name of a TLS ClientHello handshake message (type 1), by hand: skips version,
/// random, session id, cipher suites, compression methods, then walks the extensions.
func sniFromClientHello(_ m: [UInt8]) -> String? {
    guard m.count >= 4, m[0] == 1 else { return nil }
    var i = 4 + 2 + 32
    func u8() -> Int? { guard i < m.count else { return nil }; defer { i += 1 }; return Int(m[i]) }
    func u16() -> Int? { guard i + 1 < m.count else { return nil }; defer { i += 2 }; return Int(m[i]) << 8 | Int(m[i + 1]) }
    guard let sid = u8() else { return nil }; i += sid
    guard let suites = u16() else { return nil }; i += suites
    guard let comp = u8() else { return nil }; i += comp
    guard let extTotal = u16() else { return nil }
    let end = min(m.count, i + extTotal)
    while i + 4 <= end {
        let type = u16()!, len = u16()!
        if type == 0 {
            // server_name_list length(2), name_type(1), host_name length(2), name
            var j = i + 2
            guard j + 3 <= m.count, m[j] == 0 else { return nil }
            let n = Int(m[j + 1]) << 8 | Int(m[j + 2]); j += 3
            guard j + n <= m.count else { return nil }
            return String(decoding: m[j ..< j + n], as: UTF8.self)
        }
        i += len
    }
    return nil
}

/// The SNI of a Google QUIC-crypto CHLO (Q050): tag "SNI\0" in its tag/offset table.
func sniFromCHLO(_ m: [UInt8]) -> String? {
    guard m.count >= 8, Array(m[0 ..< 4]) == Array("CHLO".utf8) else { return nil }
    let n = Int(m[4]) | Int(m[5]) << 8
    let valuesStart = 8 + 8 * n
    guard m.count >= valuesStart else { return nil }
    var previousEnd = 0
    for e in 0 ..< n {
        let p = 8 + 8 * e
        let tag = Array(m[p ..< p + 4])
        let end = Int(m[p + 4]) | Int(m[p + 5]) << 8 | Int(m[p + 6]) << 16 | Int(m[p + 7]) << 24
        if tag == [0x53, 0x4e, 0x49, 0x00] {
            guard previousEnd <= end, valuesStart + end <= m.count else { return nil }
            return String(decoding: m[valuesStart + previousEnd ..< valuesStart + end], as: UTF8.self)
        }
        previousEnd = end
    }
    return nil
}

/// One UDP datagram from a capture.
struct UDPDatagram {
    var source: [UInt8]
    var sourcePort: UInt16
    var destination: [UInt8]
    var destinationPort: UInt16
    var payload: [UInt8]
}

/// Reads the UDP datagrams of a classic pcap (Ethernet, raw IP, Linux cooked) or a pcapng
/// file (Enhanced Packet Blocks). Minimal by design: IPv4 without fragments, IPv6 without
/// extension headers, which is what the nDPI QUIC captures hold.
func readUDPDatagrams(path: String) -> [UDPDatagram]? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    let b = [UInt8](data)
    guard b.count >= 24 else { return nil }
    func le32(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 | Int(b[o + 2]) << 16 | Int(b[o + 3]) << 24 }
    func be32(_ o: Int) -> Int { Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3]) }
    var frames: [(linkType: Int, bytes: ArraySlice<UInt8>)] = []
    let magic = le32(0)
    if magic == 0xa1b2_c3d4 || magic == 0xa1b2_3c4d || be32(0) == 0xa1b2_c3d4 || be32(0) == 0xa1b2_3c4d {
        let little = magic == 0xa1b2_c3d4 || magic == 0xa1b2_3c4d
        let r32 = little ? le32 : be32
        let linkType = r32(20)
        var o = 24
        while o + 16 <= b.count {
            let captured = r32(o + 8)
            o += 16
            guard captured >= 0, o + captured <= b.count else { break }
            frames.append((linkType, b[o ..< o + captured]))
            o += captured
        }
    } else if le32(0) == 0x0a0d_0d0a {
        // pcapng, little-endian only (the nDPI captures are).
        var linkTypes: [Int] = []
        var o = 0
        while o + 12 <= b.count {
            let type = le32(o), length = le32(o + 4)
            guard length >= 12, o + length <= b.count else { break }
            if type == 1 { linkTypes.append(Int(b[o + 8]) | Int(b[o + 9]) << 8) }
            if type == 6 {
                let iface = le32(o + 8), captured = le32(o + 20)
                let start = o + 28
                if iface < linkTypes.count, start + captured <= o + length {
                    frames.append((linkTypes[iface], b[start ..< start + captured]))
                }
            }
            o += length
        }
    } else {
        return nil
    }
    var out: [UDPDatagram] = []
    for (linkType, f) in frames {
        let base = f.startIndex
        var ip = base
        switch linkType {
        case 1: // Ethernet, with optional 802.1Q tags
            var o = base + 12
            guard o + 2 <= f.endIndex else { continue }
            var etherType = Int(b[o]) << 8 | Int(b[o + 1])
            while etherType == 0x8100 || etherType == 0x88a8 {
                o += 4
                guard o + 2 <= f.endIndex else { break }
                etherType = Int(b[o]) << 8 | Int(b[o + 1])
            }
            ip = o + 2
        case 101, 12, 14: ip = base // raw IP
        case 113: ip = base + 16 // Linux cooked v1
        case 276: ip = base + 20 // Linux cooked v2
        case 0: ip = base + 4 // BSD loopback
        default: continue
        }
        guard ip < f.endIndex else { continue }
        let v = b[ip] >> 4
        var udp = 0
        var src: [UInt8] = [], dst: [UInt8] = []
        if v == 4 {
            let ihl = Int(b[ip] & 0x0f) * 4
            guard ip + 20 <= f.endIndex, b[ip + 9] == 17 else { continue }
            let fragment = (Int(b[ip + 6]) << 8 | Int(b[ip + 7])) & 0x3fff
            guard fragment == 0 else { continue }
            src = Array(b[ip + 12 ..< ip + 16]); dst = Array(b[ip + 16 ..< ip + 20])
            udp = ip + ihl
        } else if v == 6 {
            guard ip + 40 <= f.endIndex, b[ip + 6] == 17 else { continue }
            src = Array(b[ip + 8 ..< ip + 24]); dst = Array(b[ip + 24 ..< ip + 40])
            udp = ip + 40
        } else { continue }
        guard udp + 8 <= f.endIndex else { continue }
        let udpLength = Int(b[udp + 4]) << 8 | Int(b[udp + 5])
        let end = min(f.endIndex, udp + max(8, udpLength))
        out.append(UDPDatagram(source: src, sourcePort: UInt16(b[udp]) << 8 | UInt16(b[udp + 1]),
                               destination: dst, destinationPort: UInt16(b[udp + 2]) << 8 | UInt16(b[udp + 3]),
                               payload: Array(b[udp + 8 ..< end])))
    }
    return out
}

/// The nDPI corpus folder, or nil with a recorded reason. Absent data skips the test unless
/// CI == "true", where it is a failure.
func ndpiCorpus(_ sourceLocation: SourceLocation = #_sourceLocation) -> String? {
    let candidates = ["/work/shared/corpus/ndpi/tests/cfgs/default",
                      URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                          .appendingPathComponent("../../../shared/corpus/ndpi/tests/cfgs/default").path]
    for c in candidates where FileManager.default.fileExists(atPath: c + "/pcap") { return c }
    if ProcessInfo.processInfo.environment["CI"] == "true" {
        Issue.record("nDPI corpus not found (looked in \(candidates)); required when CI=true", sourceLocation: sourceLocation)
    } else {
        print("SKIP: nDPI corpus not found in \(candidates); set it up or run with CI=true to fail")
    }
    return nil
}
