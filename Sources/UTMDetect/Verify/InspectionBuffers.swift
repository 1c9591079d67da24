import UTMCore

/// The buffers of the packet or transaction being inspected, indexed by `BufferID`. The engine
/// fills the ones it has (packet payload or stream chunk, HTTP fields, TLS SNI, DNS query...)
/// and lends the table to the verifier; absent buffers make rules that inspect them not match.
///
/// Fixed inline storage: filling and reading it never allocates. Views die with the call that
/// lent them, so a table must not outlive the packet it was filled for.
@frozen
public struct InspectionBuffers: @unchecked Sendable {
    /// 96: room for every BufferID (48 in session 6, 61 after session 7's keywords, 70 after
    /// session 9's `file.name`, `ip.src`/`ip.dst` and packet header buffers, 81 after session
    /// 12's smtp/email buffers) and 15 to come. Ids 0-63 live in
    /// `views` (bit in `present`), ids 64-95 in `high` (bit in `presentHigh`): session 9 grew
    /// the table past 64 this way because every inspection builds a table and initializes all
    /// its views; a flat 128 cost 11 M instructions (+2.7 %) on the 10 MB capture. Ids stay
    /// below 128 anyway: the bundle's list byte keeps bit 7 for a transform chain.
    public static let capacity = 96
    @usableFromInline var views: InlineArray<64, ByteView>
    @usableFromInline var high: InlineArray<32, ByteView>
    @usableFromInline var present: UInt64
    @usableFromInline var presentHigh: UInt32

    public init() {
        views = InlineArray(repeating: ByteView.empty)
        high = InlineArray(repeating: ByteView.empty)
        present = 0
        presentHigh = 0
    }

    @inlinable
    public subscript(id: BufferID) -> ByteView? {
        // Always inlined: outlined (as the two-word presence made the compiler choose) every
        // verifier and scan read paid a call (2.3 M instructions on the 10 MB capture).
        @inline(__always) get {
            let i = Int(id.rawValue)
            if i < 64 { return present & (1 << UInt64(i)) != 0 ? views[i] : nil }
            let j = i &- 64
            return j < 32 && presentHigh & (1 << UInt32(j)) != 0 ? high[j] : nil
        }
        set {
            let i = Int(id.rawValue)
            if i < 64 {
                if let newValue {
                    views[i] = newValue
                    present |= 1 << UInt64(i)
                } else {
                    present &= ~(1 << UInt64(i))
                }
                return
            }
            let j = i &- 64
            guard j < 32 else { return }
            if let newValue {
                high[j] = newValue
                presentHigh |= 1 << UInt32(j)
            } else {
                presentHigh &= ~(1 << UInt32(j))
            }
        }
    }

    @inlinable
    public mutating func removeAll() { present = 0; presentHigh = 0 }

    /// The present buffer ids in ascending order, one per call: `id` is the last one returned
    /// (start with -1); nil after the last. Scanning "every buffer that is there" visits the
    /// handful an inspection filled, not all 80 ids.
    @inlinable @inline(__always)
    public func nextPresent(after id: Int) -> Int? {
        let from = id &+ 1
        if from < 64 {
            let low = present & (from == 0 ? ~0 : ~((1 << UInt64(from)) &- 1))
            if low != 0 { return low.trailingZeroBitCount }
        }
        let j = Swift.max(0, from &- 64)
        guard j < 32 else { return nil }
        let high = presentHigh & ~((1 << UInt32(j)) &- 1)
        return high != 0 ? 64 &+ high.trailingZeroBitCount : nil
    }
}

/// What the verifier needs to know about the packet beyond its buffers.
@frozen
public struct PacketFacts: Sendable {
    public var ipProto: UInt8 = 0
    /// An ARP packet (not IP): only `arp` rules admit it; `source`/`destination` are the
    /// sender and target protocol addresses, ports 0, no flow.
    public var isARP = false
    public var source: IPAddress = .none
    public var destination: IPAddress = .none
    public var sourcePort: UInt16 = 0
    public var destinationPort: UInt16 = 0
    /// Packet payload length (`dsize` tests this, never the stream).
    public var payloadSize: Int = 0
    /// Direction within the flow; nil when the packet has no flow.
    public var direction: Direction?
    /// No transport header was read (a held fragment, or a TCP/UDP/ICMP header that failed to
    /// decode; session 11): the TCP and ICMP header keywords (`flags`, `seq`, `ack`, `window`,
    /// `tcp.mss`, `itype`, `icode`, `icmp_id`, `icmp_seq`) cannot match, as Suricata's need a
    /// decoded header. Without it a TCP fragment's zeros were a NULL scan (`flags:0; seq:0`).
    public var noTransport = false
    /// TCP three-way handshake completed (or, for UDP, both sides have sent).
    public var established = false
    /// The payload buffer is a reassembled stream chunk rather than this packet's payload.
    public var isStream = false
    public var isFragment = false
    public var appProto: AppProto = .unknown
    public var tcpFlags: UInt8 = 0
    public var icmpType: UInt8 = 0
    public var icmpCode: UInt8 = 0
    public var icmpID: UInt16 = 0
    public var ipID: UInt16 = 0
    public var ttl: UInt8 = 0
    /// TCP stream sizes so far (Suricata: sequence-number progress since the handshake) of the
    /// client's and the server's direction, for `stream_size`.
    public var clientStreamBytes: Int = 0
    public var serverStreamBytes: Int = 0
    /// The TLS/SSL protocol version seen on the flow (0x0002 SSLv2, 0x0300 SSLv3, 0x0301
    /// TLS 1.0 ... 0x0304 TLS 1.3), 0 when unknown, for `ssl_version`.
    public var tlsVersion: UInt16 = 0
    /// Handshake messages seen so far on the flow (`TLSStates` bits), for `ssl_state`.
    public var tlsStates: UInt8 = 0
    /// The flow's current FTP command is a PORT naming another host than the client, for
    /// `ftpbounce` (set by the engine's FTP hooks).
    public var ftpBounce = false
    /// On an ftp-data flow, the control channel's command that used it (1 RETR, 2 STOR; 0
    /// none or another), for `ftpdata_command`.
    public var ftpDataCommand: UInt8 = 0
    /// Packet time in seconds, for `xbits`/`hostbits` expiry.
    public var time: Int64 = 0
    /// IP version (4 or 6; 0 for ARP), and the header fields of the session 6 keywords:
    /// IPv4 flags (`IPFragBits`; 0 on a reassembled datagram, whose rebuilt header has none,
    /// as Suricata's) and fragment offset in 8-byte units, TOS, options (`IPOptionFlags`),
    /// TCP sequence, acknowledgement, window and MSS option (0 when absent), ICMP echo sequence.
    public var ipVersion: UInt8 = 0
    public var ipFragBits: UInt8 = 0
    public var ipFragOffset: UInt16 = 0
    public var tos: UInt8 = 0
    public var ipOptions: UInt16 = 0
    public var tcpSeq: UInt32 = 0
    public var tcpAck: UInt32 = 0
    public var tcpWindow: UInt16 = 0
    public var tcpMSS: UInt16 = 0
    public var icmpSeq: UInt16 = 0
    /// The opcode of the DNS message inspected, 0xff when the facts are not a DNS message's.
    public var dnsOpcode: UInt8 = 0xff
    /// Certificates in the server's Certificate message (TLS 1.2 and earlier: TLS 1.3 sends
    /// it encrypted), -1 when none was seen, for `tls.cert_chain_len`.
    public var tlsCertCount: Int = -1
    /// Anomalies this packet raised (decoder, stream, app layer), for the event keywords.
    public var anomalies = PacketAnomalies()
    /// The server leaf certificate's notBefore / notAfter in Unix seconds, 0 when unknown,
    /// for `tls_cert_notbefore` & co.
    public var tlsCertNotBefore: Int64 = 0
    public var tlsCertNotAfter: Int64 = 0
    /// Session 9: the DNS message's record types (a request's questions, a response's
    /// answers) and its rcode (0xff: the facts are not a DNS message's), for `dns.rrtype` /
    /// `dns.rcode`.
    public var dnsRRTypes = DNSRRTypes()
    public var dnsRcode: UInt8 = 0xff
    /// Session 12, DCE/RPC calls: the opnum (-1: the facts are not a DCE/RPC call's), the
    /// interface bound to the call's context (`dceIfaceState`: 0 none, bit 0 accepted by the
    /// server, bit 1 offered in a first fragment), and the side's byte order for `dce` byte
    /// keywords (set only when the stub buffer is inspected, as Suricata's buffer flags).
    public var dceOpnum: Int32 = -1
    public var dceIfaceHi: UInt64 = 0
    public var dceIfaceLo: UInt64 = 0
    public var dceIfaceVersion: UInt16 = 0
    public var dceIfaceState: UInt8 = 0
    public var dceLittleEndian = false

    public init() {}
}

extension PacketFacts {
    /// A TCP packet whose TCP header was read (`noTransport` unset).
    @inlinable public var hasTCPHeader: Bool { ipProto == 6 && !noTransport }
    /// An ICMP or ICMPv6 packet whose ICMP header was read.
    @inlinable public var hasICMPHeader: Bool { (ipProto == 1 || ipProto == 58) && !noTransport }
}
