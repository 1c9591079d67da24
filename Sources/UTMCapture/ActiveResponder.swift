import UTMCore
import UTMSystem

#if canImport(Glibc)
import Glibc
#endif

/// The answers an inline box sends when it refuses a packet (`ActiveResponse`): TCP resets to
/// both ends, an HTTP block page to the client, ICMP / ICMPv6 unreachable for UDP, an NXDOMAIN
/// answer to a DNS query. Built from the refused packet itself (addresses, ports, sequence
/// numbers, the DNS question) and sent through raw IPv4 and IPv6 sockets with the IP header
/// included, spoofing the peer's address so each end accepts it.
///
/// The packets are routed by the box's own stack (OUTPUT, never FORWARD, so never queued).
/// Router mode: out of the interface towards the host. Bridge mode: out of the bridge, which
/// needs the box's management address (or a route) on it for the peers' subnets — the bridge
/// then delivers to the port where the peer's MAC address was learned.
/// One per worker thread; the packet buffer is allocated once.
public final class ActiveResponder {
    private let fd4: Int32
    /// -1 when the kernel has no IPv6 (IPv6 refusals are then silent drops).
    private let fd6: Int32
    private let out: UnsafeMutableRawPointer
    private let capacity = 2048
    /// Payload bytes per block-page segment: below any MTU on the path we answer on.
    public var segmentSize = 1220
    public private(set) var sent: UInt64 = 0
    public private(set) var failures: UInt64 = 0

    /// Opens the raw sockets (needs CAP_NET_RAW).
    public init() throws {
        let s = socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_RAW))
        guard s >= 0 else {
            let e = SystemError(call: "socket(AF_INET, SOCK_RAW)", subject: "active responses")
            throw CaptureError(.openFailed, path: "active responses", detail: "\(e.call) failed: \(e.errnoText) (needs CAP_NET_RAW)")
        }
        fd4 = s
        // IPPROTO_RAW on an IPv6 raw socket means the IPv6 header is ours (Linux).
        fd6 = socket(AF_INET6, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_RAW))
        out = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        _ = Glibc.close(fd4)
        if fd6 >= 0 { _ = Glibc.close(fd6) }
        out.deallocate()
    }

    /// An IPv4 or IPv6 address; IPv4 lives in the low 32 bits of `lo`.
    struct Address: Equatable {
        var hi: UInt64 = 0
        var lo: UInt64 = 0
    }

    /// The fields of a refused TCP/UDP packet that an answer needs.
    struct Refused {
        var v6: Bool
        var src: Address, dst: Address
        var proto: UInt8
        /// Where the transport header starts.
        var headerLength: Int
        var sport: UInt16, dport: UInt16
        var seq: UInt32 = 0, ack: UInt32 = 0
        var tcpFlags: UInt8 = 0
        /// TCP: payload bytes; UDP: the datagram's payload (DNS message) offset and length.
        var payloadLength: Int = 0
        var payloadOffset: Int = 0
    }

    static func parse(_ p: ByteView) -> Refused? {
        guard let v = p.u8(0) else { return nil }
        var r: Refused
        var ipLength: Int
        switch v >> 4 {
        case 4:
            let ihl = Int(v & 0x0f) * 4
            guard ihl >= 20, let total = p.u16(2), let proto = p.u8(9), let src = p.u32(12), let dst = p.u32(16),
                  let fragment = p.u16(6), fragment & 0x1fff == 0 else { return nil }
            r = Refused(v6: false, src: Address(lo: UInt64(src)), dst: Address(lo: UInt64(dst)), proto: proto,
                        headerLength: ihl, sport: 0, dport: 0)
            // GSO packets may carry 0 as total length; the captured length is then the truth.
            ipLength = total == 0 ? p.count : min(Int(total), p.count)
        case 6:
            // Extension headers are not walked: a refused packet with one gets no answer.
            guard let plen = p.u16(4), let next = p.u8(6), let s1 = p.u64(8), let s2 = p.u64(16),
                  let d1 = p.u64(24), let d2 = p.u64(32) else { return nil }
            r = Refused(v6: true, src: Address(hi: s1, lo: s2), dst: Address(hi: d1, lo: d2), proto: next,
                        headerLength: 40, sport: 0, dport: 0)
            ipLength = plen == 0 ? p.count : min(40 + Int(plen), p.count)
        default:
            return nil
        }
        let t = r.headerLength
        guard r.proto == 6 || r.proto == 17, let sport = p.u16(t), let dport = p.u16(t + 2) else { return nil }
        r.sport = sport
        r.dport = dport
        if r.proto == 6 {
            guard let seq = p.u32(t + 4), let ack = p.u32(t + 8), let off = p.u8(t + 12),
                  let flags = p.u8(t + 13) else { return nil }
            r.seq = seq
            r.ack = ack
            r.tcpFlags = flags
            r.payloadOffset = t + Int(off >> 4) * 4
            r.payloadLength = max(0, ipLength - r.payloadOffset)
        } else {
            r.payloadOffset = t + 8
            r.payloadLength = max(0, ipLength - r.payloadOffset)
        }
        return r
    }

    // TCP flag bits.
    static let fin: UInt8 = 0x01, syn: UInt8 = 0x02, rst: UInt8 = 0x04, psh: UInt8 = 0x08, ackFlag: UInt8 = 0x10

    /// RST to both ends of the refused TCP packet's connection. The packet itself is dropped,
    /// so its receiver still expects its sequence number; its sender gets a reset that
    /// acknowledges what it sent. False when the packet is not TCP or a send failed.
    @discardableResult
    public func resetBoth(_ packet: ByteView) -> Bool {
        guard let r = Self.parse(packet), r.proto == 6, r.tcpFlags & Self.rst == 0 else { return false }
        let consumed = UInt32(r.payloadLength) &+ (r.tcpFlags & Self.syn != 0 ? 1 : 0) &+ (r.tcpFlags & Self.fin != 0 ? 1 : 0)
        // To the receiver, as if from the sender.
        let a = sendTCP(r.v6, src: r.src, dst: r.dst, sport: r.sport, dport: r.dport, seq: r.seq, ack: r.ack,
                        flags: Self.rst | Self.ackFlag, payload: .empty)
        // To the sender, as if from the receiver.
        let ackSeen = r.tcpFlags & Self.ackFlag != 0
        let b = sendTCP(r.v6, src: r.dst, dst: r.src, sport: r.dport, dport: r.sport, seq: ackSeen ? r.ack : 0,
                        ack: r.seq &+ consumed, flags: Self.rst | Self.ackFlag, payload: .empty)
        return a && b
    }

    /// The block page to the client that sent the refused request (in order after its request,
    /// ending with FIN), and a reset to the server, which never saw the request.
    @discardableResult
    public func blockPage(_ packet: ByteView, page: ByteView) -> Bool {
        guard let r = Self.parse(packet), r.proto == 6, r.tcpFlags & Self.ackFlag != 0 else { return resetBoth(packet) }
        var ok = sendTCP(r.v6, src: r.src, dst: r.dst, sport: r.sport, dport: r.dport, seq: r.seq, ack: r.ack,
                         flags: Self.rst | Self.ackFlag, payload: .empty)
        let clientNext = r.seq &+ UInt32(r.payloadLength)
        var offset = 0
        var seq = r.ack
        repeat {
            let n = min(segmentSize, page.count - offset)
            let last = offset + n >= page.count
            let flags = Self.ackFlag | Self.psh | (last ? Self.fin : 0)
            ok = sendTCP(r.v6, src: r.dst, dst: r.src, sport: r.dport, dport: r.sport, seq: seq, ack: clientNext,
                         flags: flags, payload: page.slice(offset, n) ?? .empty) && ok
            offset += n
            seq &+= UInt32(n)
        } while offset < page.count
        return ok
    }

    /// ICMP port unreachable (ICMPv6 type 1 code 4) to the sender of a refused UDP datagram, as
    /// if from its destination, quoting the packet as RFC 792 / RFC 4443 ask.
    @discardableResult
    public func icmpUnreachable(_ packet: ByteView) -> Bool {
        guard let r = Self.parse(packet), r.proto == 17 else { return false }
        let ipHeader = r.v6 ? 40 : 20
        // IPv4: the header and 8 bytes; IPv6: as much as fits in the minimum MTU.
        let quoted = r.v6 ? min(packet.count, 1280 - 48) : min(packet.count, r.headerLength + 8)
        let length = ipHeader + 8 + quoted
        guard length <= capacity, let quote = packet.slice(0, quoted) else { return false }
        writeIP(r.v6, payloadLength: 8 + quoted, proto: r.v6 ? 58 : 1, src: r.dst, dst: r.src)
        let icmp = out + ipHeader
        icmp.storeBytes(of: UInt8(r.v6 ? 1 : 3), toByteOffset: 0, as: UInt8.self)   // destination unreachable
        icmp.storeBytes(of: UInt8(r.v6 ? 4 : 3), toByteOffset: 1, as: UInt8.self)   // port unreachable
        icmp.storeBytes(of: UInt16(0), toByteOffset: 2, as: UInt16.self)
        icmp.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self)
        quote.withUnsafeBytes { raw in (icmp + 8).copyMemory(from: raw.baseAddress!, byteCount: raw.count) }
        let initial = r.v6 ? Self.pseudoHeader(true, src: r.dst, dst: r.src, proto: 58, length: 8 + quoted) : 0
        let sum = Self.checksum(UnsafeRawBufferPointer(start: icmp, count: 8 + quoted), initial: initial)
        icmp.storeBytes(of: sum.bigEndian, toByteOffset: 2, as: UInt16.self)
        return send(r.v6, length: length, to: r.src)
    }

    /// An NXDOMAIN answer to a refused DNS query over UDP, as if from the resolver it was sent
    /// to: the query's id and question, QR and RA set, RCODE 3, no records (EDNS dropped).
    /// False when the packet is not a well-formed single-question query.
    @discardableResult
    public func dnsNXDOMAIN(_ packet: ByteView) -> Bool {
        guard let r = Self.parse(packet), r.proto == 17,
              let dns = packet.slice(r.payloadOffset, r.payloadLength),
              let flags = dns.u16(2), flags & 0x8000 == 0, let qd = dns.u16(4), qd == 1 else { return false }
        // The question: labels (bounded, no compression in a query's first name), QTYPE, QCLASS.
        var at = 12
        var labels = 0
        while true {
            guard let len = dns.u8(at), len & 0xc0 == 0, labels < 128 else { return false }
            at += 1 + Int(len)
            labels += 1
            if len == 0 { break }
        }
        let questionEnd = at + 4
        guard questionEnd <= dns.count, let message = dns.slice(0, questionEnd) else { return false }
        let ipHeader = r.v6 ? 40 : 20
        let udpLength = 8 + questionEnd
        guard ipHeader + udpLength <= capacity else { return false }
        writeIP(r.v6, payloadLength: udpLength, proto: 17, src: r.dst, dst: r.src)
        let u = out + ipHeader
        u.storeBytes(of: r.dport.bigEndian, toByteOffset: 0, as: UInt16.self)
        u.storeBytes(of: r.sport.bigEndian, toByteOffset: 2, as: UInt16.self)
        u.storeBytes(of: UInt16(udpLength).bigEndian, toByteOffset: 4, as: UInt16.self)
        u.storeBytes(of: UInt16(0), toByteOffset: 6, as: UInt16.self)
        message.withUnsafeBytes { raw in (u + 8).copyMemory(from: raw.baseAddress!, byteCount: raw.count) }
        // Header: same id and opcode/RD; QR=1, RA=1, RCODE=3; one question, no records.
        let answerFlags = (flags & 0x7900) | 0x8000 | 0x0080 | 0x0003
        u.storeBytes(of: answerFlags.bigEndian, toByteOffset: 8 + 2, as: UInt16.self)
        for field in [6, 8, 10] { u.storeBytes(of: UInt16(0), toByteOffset: 8 + field, as: UInt16.self) }
        let initial = Self.pseudoHeader(r.v6, src: r.dst, dst: r.src, proto: 17, length: udpLength)
        var sum = Self.checksum(UnsafeRawBufferPointer(start: u, count: udpLength), initial: initial)
        if sum == 0 { sum = 0xffff }
        u.storeBytes(of: sum.bigEndian, toByteOffset: 6, as: UInt16.self)
        return send(r.v6, length: ipHeader + udpLength, to: r.src)
    }

    // MARK: Packet building

    private func sendTCP(_ v6: Bool, src: Address, dst: Address, sport: UInt16, dport: UInt16, seq: UInt32, ack: UInt32,
                         flags: UInt8, payload: ByteView) -> Bool {
        let ipHeader = v6 ? 40 : 20
        let tcpLength = 20 + payload.count
        guard ipHeader + tcpLength <= capacity else { return false }
        writeIP(v6, payloadLength: tcpLength, proto: 6, src: src, dst: dst)
        let t = out + ipHeader
        t.storeBytes(of: sport.bigEndian, toByteOffset: 0, as: UInt16.self)
        t.storeBytes(of: dport.bigEndian, toByteOffset: 2, as: UInt16.self)
        t.storeBytes(of: seq.bigEndian, toByteOffset: 4, as: UInt32.self)
        t.storeBytes(of: ack.bigEndian, toByteOffset: 8, as: UInt32.self)
        t.storeBytes(of: UInt8(5 << 4), toByteOffset: 12, as: UInt8.self)
        t.storeBytes(of: flags, toByteOffset: 13, as: UInt8.self)
        t.storeBytes(of: UInt16(flags & Self.rst != 0 ? 0 : 8192).bigEndian, toByteOffset: 14, as: UInt16.self)
        t.storeBytes(of: UInt16(0), toByteOffset: 16, as: UInt16.self)
        t.storeBytes(of: UInt16(0), toByteOffset: 18, as: UInt16.self)
        if payload.count > 0 {
            payload.withUnsafeBytes { raw in (t + 20).copyMemory(from: raw.baseAddress!, byteCount: raw.count) }
        }
        let initial = Self.pseudoHeader(v6, src: src, dst: dst, proto: 6, length: tcpLength)
        let sum = Self.checksum(UnsafeRawBufferPointer(start: t, count: tcpLength), initial: initial)
        t.storeBytes(of: sum.bigEndian, toByteOffset: 16, as: UInt16.self)
        return send(v6, length: ipHeader + tcpLength, to: dst)
    }

    /// The IP header at the start of `out`, for `payloadLength` bytes of `proto` after it.
    private func writeIP(_ v6: Bool, payloadLength: Int, proto: UInt8, src: Address, dst: Address) {
        if v6 {
            out.storeBytes(of: UInt32(6 << 28).bigEndian, toByteOffset: 0, as: UInt32.self)
            out.storeBytes(of: UInt16(payloadLength).bigEndian, toByteOffset: 4, as: UInt16.self)
            out.storeBytes(of: proto, toByteOffset: 6, as: UInt8.self)
            out.storeBytes(of: UInt8(64), toByteOffset: 7, as: UInt8.self)
            out.storeBytes(of: src.hi.bigEndian, toByteOffset: 8, as: UInt64.self)
            out.storeBytes(of: src.lo.bigEndian, toByteOffset: 16, as: UInt64.self)
            out.storeBytes(of: dst.hi.bigEndian, toByteOffset: 24, as: UInt64.self)
            out.storeBytes(of: dst.lo.bigEndian, toByteOffset: 32, as: UInt64.self)
            return
        }
        out.storeBytes(of: UInt8(0x45), toByteOffset: 0, as: UInt8.self)
        out.storeBytes(of: UInt8(0), toByteOffset: 1, as: UInt8.self)
        out.storeBytes(of: UInt16(20 + payloadLength).bigEndian, toByteOffset: 2, as: UInt16.self)
        out.storeBytes(of: UInt16(0), toByteOffset: 4, as: UInt16.self)
        out.storeBytes(of: UInt16(0x4000).bigEndian, toByteOffset: 6, as: UInt16.self) // DF
        out.storeBytes(of: UInt8(64), toByteOffset: 8, as: UInt8.self)
        out.storeBytes(of: proto, toByteOffset: 9, as: UInt8.self)
        out.storeBytes(of: UInt16(0), toByteOffset: 10, as: UInt16.self)
        out.storeBytes(of: UInt32(truncatingIfNeeded: src.lo).bigEndian, toByteOffset: 12, as: UInt32.self)
        out.storeBytes(of: UInt32(truncatingIfNeeded: dst.lo).bigEndian, toByteOffset: 16, as: UInt32.self)
        let sum = Self.checksum(UnsafeRawBufferPointer(start: out, count: 20), initial: 0)
        out.storeBytes(of: sum.bigEndian, toByteOffset: 10, as: UInt16.self)
    }

    /// The folded sum of the TCP/UDP/ICMPv6 pseudo-header (RFC 793, RFC 8200 8.1).
    static func pseudoHeader(_ v6: Bool, src: Address, dst: Address, proto: UInt8, length: Int) -> UInt32 {
        @inline(__always) func words(_ w: UInt64) -> UInt64 {
            ((w >> 48) & 0xffff) &+ ((w >> 32) & 0xffff) &+ ((w >> 16) & 0xffff) &+ (w & 0xffff)
        }
        // IPv4 addresses have zero high words, so one sum serves both families.
        var sum: UInt64 = UInt64(proto) &+ UInt64(length) &+ words(src.lo) &+ words(dst.lo)
        if v6 { sum &+= words(src.hi) &+ words(dst.hi) }
        while sum >> 16 != 0 { sum = (sum & 0xffff) &+ (sum >> 16) }
        return UInt32(sum)
    }

    private func send(_ v6: Bool, length: Int, to dst: Address) -> Bool {
        let n: Int
        if v6 {
            guard fd6 >= 0 else {
                failures &+= 1
                return false
            }
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            withUnsafeMutableBytes(of: &address.sin6_addr) { raw in
                raw.storeBytes(of: dst.hi.bigEndian, toByteOffset: 0, as: UInt64.self)
                raw.storeBytes(of: dst.lo.bigEndian, toByteOffset: 8, as: UInt64.self)
            }
            n = withUnsafePointer(to: &address) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    sendto(fd6, out, length, 0, sa, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = UInt32(truncatingIfNeeded: dst.lo).bigEndian
            n = withUnsafePointer(to: &address) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    sendto(fd4, out, length, 0, sa, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        if n == length {
            sent &+= 1
            return true
        }
        failures &+= 1
        return false
    }

    /// The Internet checksum (RFC 1071) of big-endian 16-bit words, plus `initial`.
    static func checksum(_ bytes: UnsafeRawBufferPointer, initial: UInt32) -> UInt16 {
        var sum = UInt64(initial)
        var i = 0
        while i + 1 < bytes.count {
            sum &+= UInt64(bytes[i]) << 8 | UInt64(bytes[i + 1])
            i += 2
        }
        if i < bytes.count { sum &+= UInt64(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) &+ (sum >> 16) }
        return ~UInt16(truncatingIfNeeded: sum)
    }
}
