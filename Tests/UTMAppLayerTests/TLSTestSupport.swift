import Foundation
import Testing
import UTMCore
@testable import UTMAppLayer

// Helpers shared by the TLS and DNS tests: feeding in splits, and a minimal classic-pcap reader
// (Ethernet/SLL/raw IP, IPv4/IPv6, TCP/UDP) for the nDPI corpus.

/// Deterministic split generator (SplitMix64) so a failing split can be reproduced by seed.
struct SplitRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func next(upTo n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
}

/// Splits `bytes` into chunks: whole, byte-by-byte, and random seeded splits.
enum Splits {
    static func all(_ count: Int, seeds: ClosedRange<UInt64> = 1...8) -> [[Int]] {
        var out: [[Int]] = [[count], Array(repeating: 1, count: count)]
        for seed in seeds {
            var rng = SplitRNG(seed: seed)
            var sizes: [Int] = []
            var left = count
            while left > 0 {
                let n = min(left, 1 + rng.next(upTo: 40))
                sizes.append(n)
                left -= n
            }
            out.append(sizes)
        }
        return out
    }
}

/// The environment rule for tests that read ../shared: skip when absent, fail on CI.
func sharedCorpus(_ path: String) -> String? {
    if FileManager.default.fileExists(atPath: path) { return path }
    if ProcessInfo.processInfo.environment["CI"] == "true" {
        Issue.record("test corpus missing on CI: \(path)")
    } else {
        print("SKIP: \(path) is absent (set CI=true to make this a failure)")
    }
    return nil
}

struct PcapPacket {
    var srcIP: [UInt8]
    var dstIP: [UInt8]
    var srcPort: UInt16
    var dstPort: UInt16
    var isTCP: Bool
    var seq: UInt32
    var syn: Bool
    var payload: [UInt8]
}

/// Reads a classic pcap file (not pcapng) and decodes IP/TCP/UDP by hand. Nil when the file is
/// not a classic pcap with a link type handled here.
func readPcap(_ path: String) -> [PcapPacket]? {
    guard let data = FileManager.default.contents(atPath: path), data.count >= 24 else { return nil }
    let b = [UInt8](data)
    func le32(_ o: Int) -> UInt32 { UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24 }
    func be32(_ o: Int) -> UInt32 { UInt32(b[o]) << 24 | UInt32(b[o + 1]) << 16 | UInt32(b[o + 2]) << 8 | UInt32(b[o + 3]) }
    let magicLE = le32(0)
    let little: Bool
    switch magicLE {
    case 0xa1b2_c3d4, 0xa1b2_3c4d: little = true
    case 0xd4c3_b2a1, 0x4d3c_b2a1: little = false
    default: return nil
    }
    let rd32: (Int) -> UInt32 = little ? le32 : be32
    let linkType = rd32(20)
    var out: [PcapPacket] = []
    var off = 24
    while off + 16 <= b.count {
        let capLen = Int(rd32(off + 8))
        off += 16
        guard off + capLen <= b.count else { break }
        let frame = Array(b[off..<off + capLen])
        off += capLen
        var l3 = 0
        var etherType: UInt16 = 0
        switch linkType {
        case 1:
            guard frame.count >= 14 else { continue }
            etherType = UInt16(frame[12]) << 8 | UInt16(frame[13])
            l3 = 14
            while etherType == 0x8100 || etherType == 0x88a8, frame.count >= l3 + 4 {
                etherType = UInt16(frame[l3 + 2]) << 8 | UInt16(frame[l3 + 3])
                l3 += 4
            }
        case 113:
            guard frame.count >= 16 else { continue }
            etherType = UInt16(frame[14]) << 8 | UInt16(frame[15])
            l3 = 16
        case 101, 12, 228, 229:
            guard let v = frame.first else { continue }
            etherType = v >> 4 == 6 ? 0x86dd : 0x0800
        case 0:
            l3 = 4
            guard frame.count > 4 else { continue }
            etherType = frame[4] >> 4 == 6 ? 0x86dd : 0x0800
        default:
            return nil
        }
        var proto: UInt8 = 0
        var l4 = 0
        var src: [UInt8] = [], dst: [UInt8] = []
        var l3End = frame.count
        if etherType == 0x0800 {
            guard frame.count >= l3 + 20 else { continue }
            let ihl = Int(frame[l3] & 0x0f) * 4
            let total = Int(frame[l3 + 2]) << 8 | Int(frame[l3 + 3])
            let fragOff = (Int(frame[l3 + 6]) << 8 | Int(frame[l3 + 7])) & 0x1fff
            if fragOff != 0 { continue }
            proto = frame[l3 + 9]
            src = Array(frame[l3 + 12..<l3 + 16]); dst = Array(frame[l3 + 16..<l3 + 20])
            l4 = l3 + ihl
            l3End = min(frame.count, l3 + total)
        } else if etherType == 0x86dd {
            guard frame.count >= l3 + 40 else { continue }
            proto = frame[l3 + 6]
            let plen = Int(frame[l3 + 4]) << 8 | Int(frame[l3 + 5])
            src = Array(frame[l3 + 8..<l3 + 24]); dst = Array(frame[l3 + 24..<l3 + 40])
            l4 = l3 + 40
            l3End = min(frame.count, l4 + plen)
        } else { continue }
        if proto == 6 {
            guard l3End >= l4 + 20 else { continue }
            let dataOff = Int(frame[l4 + 12] >> 4) * 4
            guard l3End >= l4 + dataOff else { continue }
            let seq = UInt32(frame[l4 + 4]) << 24 | UInt32(frame[l4 + 5]) << 16 | UInt32(frame[l4 + 6]) << 8 | UInt32(frame[l4 + 7])
            out.append(PcapPacket(srcIP: src, dstIP: dst,
                                  srcPort: UInt16(frame[l4]) << 8 | UInt16(frame[l4 + 1]),
                                  dstPort: UInt16(frame[l4 + 2]) << 8 | UInt16(frame[l4 + 3]),
                                  isTCP: true, seq: seq, syn: frame[l4 + 13] & 0x02 != 0,
                                  payload: Array(frame[(l4 + dataOff)..<l3End])))
        } else if proto == 17 {
            guard l3End >= l4 + 8 else { continue }
            out.append(PcapPacket(srcIP: src, dstIP: dst,
                                  srcPort: UInt16(frame[l4]) << 8 | UInt16(frame[l4 + 1]),
                                  dstPort: UInt16(frame[l4 + 2]) << 8 | UInt16(frame[l4 + 3]),
                                  isTCP: false, seq: 0, syn: false,
                                  payload: Array(frame[(l4 + 8)..<l3End])))
        }
    }
    return out
}

/// The in-order TCP payload of one direction (src port → dst port), for simple captures:
/// segments are placed by sequence number relative to the first one seen, retransmissions
/// overwrite, and the stream stops at the first hole.
func tcpStream(_ packets: [PcapPacket], srcPort: UInt16, dstPort: UInt16) -> [UInt8] {
    let segs = packets.filter { $0.isTCP && $0.srcPort == srcPort && $0.dstPort == dstPort }
    guard let first = segs.first(where: { !$0.payload.isEmpty || $0.syn }) else { return [] }
    let isn = first.syn ? first.seq &+ 1 : first.seq
    var pieces: [(Int, [UInt8])] = []
    for s in segs where !s.payload.isEmpty {
        let rel = Int(Int32(bitPattern: s.seq &- isn))
        if rel >= 0 && rel < 1 << 24 { pieces.append((rel, s.payload)) }
    }
    pieces.sort { $0.0 < $1.0 }
    var out: [UInt8] = []
    for (rel, p) in pieces {
        if rel > out.count { break }
        let skip = out.count - rel
        if skip < p.count { out.append(contentsOf: p[skip...]) }
    }
    return out
}

/// Feeds `stream` to a fresh parser in the given chunk sizes and describes the outcome.
struct TLSOutcome: Equatable, CustomStringConvertible {
    var sni: String?
    var alpns: String?
    var ja3: String?
    var ja3Hash: String?
    var ja4: String?
    var ja3s: String?
    var ja3sHash: String?
    var serverVersion: UInt16?
    var events: UInt32
    var encrypted: Bool
    var description: String {
        "sni=\(sni ?? "-") alpns=\(alpns ?? "-") ja3=\(ja3Hash ?? "-") ja4=\(ja4 ?? "-") ja3s=\(ja3sHash ?? "-") ev=\(events)"
    }
}

func runTLS(client: [UInt8], server: [UInt8] = [], clientSplits: [Int]? = nil, serverSplits: [Int]? = nil,
            config: TLSConfig = .init()) -> TLSOutcome {
    var p = TLSParser(config: config)
    func feed(_ bytes: [UInt8], _ sizes: [Int]?, _ d: Direction) {
        let sizes = sizes ?? [bytes.count]
        var off = 0
        for n in sizes where off < bytes.count {
            let end = min(bytes.count, off + n)
            bytes[off..<end].withByteView { p.feed($0, direction: d, gap: false) }
            off = end
        }
    }
    feed(client, clientSplits, .toServer)
    feed(server, serverSplits, .toClient)
    let ch = p.clientHello
    let sh = p.serverHello
    return TLSOutcome(sni: ch.flatMap { p.string($0.sni) }, alpns: ch.flatMap { p.string($0.alpns) },
                      ja3: ch.flatMap { p.string($0.ja3) }, ja3Hash: ch.flatMap { p.string($0.ja3Hash) },
                      ja4: ch.flatMap { p.string($0.ja4) }, ja3s: sh.flatMap { p.string($0.ja3s) },
                      ja3sHash: sh.flatMap { p.string($0.ja3sHash) }, serverVersion: sh?.version,
                      events: p.events.rawValue, encrypted: p.encrypted)
}
