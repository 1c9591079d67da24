import UTMCore
import UTMDecode

/// The bidirectional key of a flow: protocol, VLANs and the two endpoints in a canonical order
/// (lower address/port first), so both directions of a connection find the same slot.
///
/// Why canonical order and not client/server: the first packet seen may come from either side,
/// and a reply must hash the same as the request without knowing which side is which.
struct FlowKey: Equatable {
    var lowIP: IPAddress
    var highIP: IPAddress
    var lowPort: UInt16
    var highPort: UInt16
    var ipProto: UInt8
    var vlan: (UInt16, UInt16)

    /// The key of a decoded packet. ICMP and other port-less protocols key on addresses only
    /// (ports are zero), so an echo and its reply share a flow.
    @inline(__always)
    init(_ p: DecodedPacket) {
        let ports = p.ipProto == IPProto.tcp || p.ipProto == IPProto.udp
        let sp = ports ? p.srcPort : 0, dp = ports ? p.dstPort : 0
        if FlowKey.endpointLess(p.src, sp, p.dst, dp) {
            lowIP = p.src; lowPort = sp; highIP = p.dst; highPort = dp
        } else {
            lowIP = p.dst; lowPort = dp; highIP = p.src; highPort = sp
        }
        ipProto = p.ipProto
        vlan = p.vlanCount > 0 ? (p.vlanIDs.0, p.vlanCount > 1 ? p.vlanIDs.1 : 0) : (0, 0)
    }

    /// Inlined so `find` reads the slot's endpoints in place instead of copying the flow.
    @inline(__always)
    init(_ f: Flow) {
        if FlowKey.endpointLess(f.clientIP, f.clientPort, f.serverIP, f.serverPort) {
            lowIP = f.clientIP; lowPort = f.clientPort; highIP = f.serverIP; highPort = f.serverPort
        } else {
            lowIP = f.serverIP; lowPort = f.serverPort; highIP = f.clientIP; highPort = f.clientPort
        }
        ipProto = f.ipProto
        vlan = f.vlan
    }

    @inline(__always)
    static func endpointLess(_ a: IPAddress, _ ap: UInt16, _ b: IPAddress, _ bp: UInt16) -> Bool {
        a != b ? a < b : ap <= bp
    }

    static func == (x: FlowKey, y: FlowKey) -> Bool {
        x.lowIP == y.lowIP && x.highIP == y.highIP && x.lowPort == y.lowPort
            && x.highPort == y.highPort && x.ipProto == y.ipProto
            && x.vlan.0 == y.vlan.0 && x.vlan.1 == y.vlan.1
    }

    /// Keyed hash of the key. SipHash-1-3 over six words: a keyed PRF, so an attacker who does
    /// not know the per-process key cannot build packets that share one chain.
    @inline(__always)
    func hash(seed: (UInt64, UInt64)) -> UInt64 {
        var h = SipHash13(k0: seed.0, k1: seed.1)
        h.word(lowIP.hi)
        h.word(lowIP.lo)
        h.word(highIP.hi)
        h.word(highIP.lo)
        h.word(UInt64(lowPort) << 48 | UInt64(highPort) << 32 | UInt64(ipProto) << 24
               | (lowIP.isV6 ? 1 << 16 : 0) | (highIP.isV6 ? 1 << 17 : 0))
        h.word(UInt64(vlan.0) << 16 | UInt64(vlan.1))
        return h.finish(length: 48)
    }
}

/// SipHash-1-3 on whole 64-bit words (the key is always a multiple of 8 bytes).
/// Written from the SipHash paper (Aumasson, Bernstein 2012); no allocation, no tables.
struct SipHash13 {
    var v0: UInt64, v1: UInt64, v2: UInt64, v3: UInt64

    @inline(__always)
    init(k0: UInt64, k1: UInt64) {
        v0 = k0 ^ 0x736f_6d65_7073_6575
        v1 = k1 ^ 0x646f_7261_6e64_6f6d
        v2 = k0 ^ 0x6c79_6765_6e65_7261
        v3 = k1 ^ 0x7465_6462_7974_6573
    }

    @inline(__always)
    mutating func round() {
        v0 &+= v1; v1 = v1.rotl(13); v1 ^= v0; v0 = v0.rotl(32)
        v2 &+= v3; v3 = v3.rotl(16); v3 ^= v2
        v0 &+= v3; v3 = v3.rotl(21); v3 ^= v0
        v2 &+= v1; v1 = v1.rotl(17); v1 ^= v2; v2 = v2.rotl(32)
    }

    @inline(__always)
    mutating func word(_ m: UInt64) {
        v3 ^= m
        round()
        v0 ^= m
    }

    @inline(__always)
    mutating func finish(length: UInt64) -> UInt64 {
        word(length << 56)
        v2 ^= 0xff
        round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }
}

extension UInt64 {
    @inline(__always)
    func rotl(_ n: UInt64) -> UInt64 { self << n | self >> (64 &- n) }
}
