import UTMCore
import UTMSystem

#if canImport(Glibc)
import Glibc
#endif

/// The answers an inline box sends when it refuses a packet (`ActiveResponse`): TCP resets to
/// both ends, an HTTP block page to the client, ICMP unreachable for UDP. Built from the refused
/// packet itself (addresses, ports, sequence numbers) and sent through a raw IPv4 socket
/// (IP_HDRINCL), spoofing the peer's address so each end accepts it.
///
/// Router mode only for now: the packets are routed by the box's own stack (OUTPUT, never
/// queued). Bridge mode needs them written on the bridge port (AF_PACKET) — later, like IPv6.
/// One per worker thread; the packet buffer is allocated once.
public final class ActiveResponder {
    private let fd: Int32
    private let out: UnsafeMutableRawPointer
    private let capacity = 2048
    /// Payload bytes per block-page segment: below any MTU on the path we answer on.
    public var segmentSize = 1360
    public private(set) var sent: UInt64 = 0
    public private(set) var failures: UInt64 = 0

    /// Opens the raw socket (needs CAP_NET_RAW).
    public init() throws {
        let s = socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_RAW))
        guard s >= 0 else {
            let e = SystemError(call: "socket(AF_INET, SOCK_RAW)", subject: "active responses")
            throw CaptureError(.openFailed, path: "active responses", detail: "\(e.call) failed: \(e.errnoText) (needs CAP_NET_RAW)")
        }
        fd = s
        out = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        _ = Glibc.close(fd)
        out.deallocate()
    }

    /// The fields of a refused IPv4 TCP/UDP packet that an answer needs.
    struct Refused {
        var src: UInt32, dst: UInt32
        var proto: UInt8
        var headerLength: Int
        var sport: UInt16, dport: UInt16
        var seq: UInt32 = 0, ack: UInt32 = 0
        var tcpFlags: UInt8 = 0
        var payloadLength: Int = 0
    }

    static func parse(_ p: ByteView) -> Refused? {
        guard let v = p.u8(0), v >> 4 == 4 else { return nil }
        let ihl = Int(v & 0x0f) * 4
        guard ihl >= 20, let total = p.u16(2), let proto = p.u8(9), let src = p.u32(12), let dst = p.u32(16),
              let fragment = p.u16(6), fragment & 0x1fff == 0,
              let sport = p.u16(ihl), let dport = p.u16(ihl + 2) else { return nil }
        var r = Refused(src: src, dst: dst, proto: proto, headerLength: ihl, sport: sport, dport: dport)
        if proto == 6 {
            guard let seq = p.u32(ihl + 4), let ack = p.u32(ihl + 8), let off = p.u8(ihl + 12),
                  let flags = p.u8(ihl + 13) else { return nil }
            r.seq = seq
            r.ack = ack
            r.tcpFlags = flags
            // GSO packets may carry 0 as total length; the captured length is then the truth.
            let ipLength = total == 0 ? p.count : min(Int(total), p.count)
            r.payloadLength = max(0, ipLength - ihl - Int(off >> 4) * 4)
        }
        return r
    }

    // TCP flag bits.
    static let fin: UInt8 = 0x01, syn: UInt8 = 0x02, rst: UInt8 = 0x04, psh: UInt8 = 0x08, ackFlag: UInt8 = 0x10

    /// RST to both ends of the refused TCP packet's connection. The packet itself is dropped,
    /// so its receiver still expects its sequence number; its sender gets a reset that
    /// acknowledges what it sent. False when the packet is not IPv4 TCP or a send failed.
    @discardableResult
    public func resetBoth(_ packet: ByteView) -> Bool {
        guard let r = Self.parse(packet), r.proto == 6, r.tcpFlags & Self.rst == 0 else { return false }
        let consumed = UInt32(r.payloadLength) &+ (r.tcpFlags & Self.syn != 0 ? 1 : 0) &+ (r.tcpFlags & Self.fin != 0 ? 1 : 0)
        // To the receiver, as if from the sender.
        let a = sendTCP(src: r.src, dst: r.dst, sport: r.sport, dport: r.dport, seq: r.seq, ack: r.ack,
                        flags: Self.rst | Self.ackFlag, payload: .empty)
        // To the sender, as if from the receiver.
        let ackSeen = r.tcpFlags & Self.ackFlag != 0
        let b = sendTCP(src: r.dst, dst: r.src, sport: r.dport, dport: r.sport, seq: ackSeen ? r.ack : 0,
                        ack: r.seq &+ consumed, flags: Self.rst | Self.ackFlag, payload: .empty)
        return a && b
    }

    /// The block page to the client that sent the refused request (in order after its request,
    /// ending with FIN), and a reset to the server, which never saw the request.
    @discardableResult
    public func blockPage(_ packet: ByteView, page: ByteView) -> Bool {
        guard let r = Self.parse(packet), r.proto == 6, r.tcpFlags & Self.ackFlag != 0 else { return resetBoth(packet) }
        var ok = sendTCP(src: r.src, dst: r.dst, sport: r.sport, dport: r.dport, seq: r.seq, ack: r.ack,
                         flags: Self.rst | Self.ackFlag, payload: .empty)
        let clientNext = r.seq &+ UInt32(r.payloadLength)
        var offset = 0
        var seq = r.ack
        repeat {
            let n = min(segmentSize, page.count - offset)
            let last = offset + n >= page.count
            let flags = Self.ackFlag | Self.psh | (last ? Self.fin : 0)
            ok = sendTCP(src: r.dst, dst: r.src, sport: r.dport, dport: r.sport, seq: seq, ack: clientNext,
                         flags: flags, payload: page.slice(offset, n) ?? .empty) && ok
            offset += n
            seq &+= UInt32(n)
        } while offset < page.count
        return ok
    }

    /// ICMP port unreachable to the sender of a refused UDP datagram, as if from its
    /// destination, quoting the IP header and 8 bytes as RFC 792 asks.
    @discardableResult
    public func icmpUnreachable(_ packet: ByteView) -> Bool {
        guard let r = Self.parse(packet), r.proto == 17 else { return false }
        let quoted = min(packet.count, r.headerLength + 8)
        let length = 20 + 8 + quoted
        guard length <= capacity, let quote = packet.slice(0, quoted) else { return false }
        writeIPv4(length: length, proto: 1, src: r.dst, dst: r.src)
        let icmp = out + 20
        icmp.storeBytes(of: UInt8(3), toByteOffset: 0, as: UInt8.self)   // destination unreachable
        icmp.storeBytes(of: UInt8(3), toByteOffset: 1, as: UInt8.self)   // port unreachable
        icmp.storeBytes(of: UInt16(0), toByteOffset: 2, as: UInt16.self)
        icmp.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self)
        quote.withUnsafeBytes { raw in (icmp + 8).copyMemory(from: raw.baseAddress!, byteCount: raw.count) }
        let sum = Self.checksum(UnsafeRawBufferPointer(start: icmp, count: 8 + quoted), initial: 0)
        icmp.storeBytes(of: sum.bigEndian, toByteOffset: 2, as: UInt16.self)
        return send(length: length, to: r.src)
    }

    // MARK: Packet building

    private func sendTCP(src: UInt32, dst: UInt32, sport: UInt16, dport: UInt16, seq: UInt32, ack: UInt32,
                         flags: UInt8, payload: ByteView) -> Bool {
        let length = 40 + payload.count
        guard length <= capacity else { return false }
        writeIPv4(length: length, proto: 6, src: src, dst: dst)
        let t = out + 20
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
        // Pseudo-header: addresses, protocol, TCP length.
        let tcpLength = UInt32(20 + payload.count)
        var pseudo: UInt32 = (src >> 16) &+ (src & 0xffff) &+ (dst >> 16) &+ (dst & 0xffff) &+ 6 &+ tcpLength
        pseudo = (pseudo & 0xffff) &+ (pseudo >> 16)
        let sum = Self.checksum(UnsafeRawBufferPointer(start: t, count: Int(tcpLength)), initial: pseudo)
        t.storeBytes(of: sum.bigEndian, toByteOffset: 16, as: UInt16.self)
        return send(length: length, to: dst)
    }

    private func writeIPv4(length: Int, proto: UInt8, src: UInt32, dst: UInt32) {
        out.storeBytes(of: UInt8(0x45), toByteOffset: 0, as: UInt8.self)
        out.storeBytes(of: UInt8(0), toByteOffset: 1, as: UInt8.self)
        out.storeBytes(of: UInt16(length).bigEndian, toByteOffset: 2, as: UInt16.self)
        out.storeBytes(of: UInt16(0), toByteOffset: 4, as: UInt16.self)
        out.storeBytes(of: UInt16(0x4000).bigEndian, toByteOffset: 6, as: UInt16.self) // DF
        out.storeBytes(of: UInt8(64), toByteOffset: 8, as: UInt8.self)
        out.storeBytes(of: proto, toByteOffset: 9, as: UInt8.self)
        out.storeBytes(of: UInt16(0), toByteOffset: 10, as: UInt16.self)
        out.storeBytes(of: src.bigEndian, toByteOffset: 12, as: UInt32.self)
        out.storeBytes(of: dst.bigEndian, toByteOffset: 16, as: UInt32.self)
        let sum = Self.checksum(UnsafeRawBufferPointer(start: out, count: 20), initial: 0)
        out.storeBytes(of: sum.bigEndian, toByteOffset: 10, as: UInt16.self)
    }

    private func send(length: Int, to dst: UInt32) -> Bool {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = dst.bigEndian
        let n = withUnsafePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                sendto(fd, out, length, 0, sa, socklen_t(MemoryLayout<sockaddr_in>.size))
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
