import UTMCore

/// DHCPv4 (RFC 2131 / RFC 2132) as far as the device table needs it: which client (MAC, host
/// name, client id) got which address, for how long, from which server.
///
/// Why a value parsed in one call: DHCP is one message per datagram, never split across
/// packets, so there is no stream state. Everything is a value or an (offset, length) range
/// into the datagram the caller passed: parsing allocates nothing and the ranges are valid for
/// as long as that datagram is (`DHCPMessage.field`). Every read is bounds-checked; a message
/// cut anywhere, or garbage, gives nil (header or cookie missing) or the options read so far.
public struct DHCPMessage: Sendable {
    /// BOOTP op: 1 BOOTREQUEST (client → server), 2 BOOTREPLY.
    public var op: UInt8 = 0
    /// Transaction id chosen by the client (EVE `dhcp.id`).
    public var xid: UInt32 = 0
    /// Client address the client already has (renewing), "your" address the server assigns,
    /// and the relay agent's address.
    public var ciaddr: IPAddress = .none
    public var yiaddr: IPAddress = .none
    public var giaddr: IPAddress = .none
    /// `chaddr` when the hardware type is Ethernet with 6-byte addresses; `.none` otherwise.
    public var clientMAC: MACAddress = .none
    /// Option 53 (1 DISCOVER … 8 INFORM); 0 when absent (plain BOOTP).
    public var messageType: UInt8 = 0
    /// Option 50, the address the client asks for; `.none` when absent.
    public var requestedIP: IPAddress = .none
    /// Option 54, the server's identifier; `.none` when absent.
    public var serverID: IPAddress = .none
    /// Option 51 in seconds; nil when absent.
    public var leaseTime: UInt32?
    /// Option 12 and option 61 as ranges into the datagram; length 0 when absent.
    public var hostname = DHCPField()
    public var clientID = DHCPField()
    /// The options ran past the datagram or had no END: what was read before is kept.
    public var truncated = false

    public init() {}

    /// The assigned (ACK/OFFER: `yiaddr`) or used (`ciaddr`, `requested`) address, whichever the
    /// message says, for the device table; `.none` when it says none.
    public var assignedIP: IPAddress {
        if yiaddr != .none { return yiaddr }
        if ciaddr != .none { return ciaddr }
        return requestedIP
    }

    /// The bytes of a field of this message, from the datagram it was parsed from.
    public func field(_ f: DHCPField, in datagram: ByteView) -> ByteView {
        guard f.length > 0 else { return .empty }
        return datagram.slice(Int(f.offset), Int(f.length)) ?? .empty
    }

    /// Suricata's `dhcp.dhcp_type` names by option 53 value.
    public static func typeName(_ t: UInt8) -> StaticString {
        switch t {
        case 1: return "discover"
        case 2: return "offer"
        case 3: return "request"
        case 4: return "decline"
        case 5: return "ack"
        case 6: return "nak"
        case 7: return "release"
        case 8: return "inform"
        default: return "unknown"
        }
    }
}

/// An (offset, length) range into a datagram.
public struct DHCPField: Sendable, Equatable {
    public var offset: UInt16 = 0
    public var length: UInt16 = 0
    public init() {}
}

public enum DHCP {
    public static let serverPort: UInt16 = 67
    public static let clientPort: UInt16 = 68
    /// Fixed BOOTP header (op … file) before the magic cookie.
    static let headerLength = 236
    static let magicCookie: UInt32 = 0x6382_5363

    /// Whether a UDP datagram between these ports is DHCP (either side 67 with the other 67 or
    /// 68: relays talk 67 ↔ 67).
    @inlinable
    public static func isDHCPPorts(_ a: UInt16, _ b: UInt16) -> Bool {
        (a == 67 && (b == 68 || b == 67)) || (b == 67 && a == 68)
    }

    /// Parses one DHCP datagram; nil when it is not BOOTP with the DHCP magic cookie.
    public static func parse(_ v: ByteView) -> DHCPMessage? {
        // Datagrams are < 64 KiB; ranges are stored as UInt16.
        guard v.count <= 65535, v.count >= headerLength + 4,
              let op = v.u8(0), op == 1 || op == 2,
              let htype = v.u8(1), let hlen = v.u8(2),
              let xid = v.u32(4),
              let ci = v.u32(12), let yi = v.u32(16), let gi = v.u32(24),
              v.u32(headerLength) == magicCookie
        else { return nil }
        var m = DHCPMessage()
        m.op = op
        m.xid = xid
        m.ciaddr = IPAddress(v4: ci)
        m.yiaddr = IPAddress(v4: yi)
        m.giaddr = IPAddress(v4: gi)
        if htype == 1 && hlen == 6 { m.clientMAC = MACAddress.read(v, at: 28) ?? .none }
        var off = headerLength + 4
        while true {
            guard let code = v.u8(off) else { m.truncated = true; break }   // no END
            if code == 255 { break }          // END
            if code == 0 { off += 1; continue }   // PAD
            guard let len8 = v.u8(off + 1) else { m.truncated = true; break }
            let len = Int(len8)
            let start = off + 2
            guard start + len <= v.count else { m.truncated = true; break }
            readOption(code, v, start, len, &m)
            off = start + len
        }
        return m
    }

    /// One option's value; a wrong length for its code is ignored (the option, not the message).
    @inline(__always)
    static func readOption(_ code: UInt8, _ v: ByteView, _ start: Int, _ len: Int, _ m: inout DHCPMessage) {
        switch code {
        case 53:
            if len == 1, let t = v.u8(start) { m.messageType = t }
        case 50:
            if len == 4, let a = v.u32(start) { m.requestedIP = IPAddress(v4: a) }
        case 54:
            if len == 4, let a = v.u32(start) { m.serverID = IPAddress(v4: a) }
        case 51:
            if len == 4, let t = v.u32(start) { m.leaseTime = t }
        case 12:
            if len > 0 { m.hostname.offset = UInt16(start); m.hostname.length = UInt16(len) }
        case 61:
            if len > 0 { m.clientID.offset = UInt16(start); m.clientID.length = UInt16(len) }
        default:
            break
        }
    }
}
