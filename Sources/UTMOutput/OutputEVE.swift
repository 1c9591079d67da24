import UTMCore
import UTMDecode

/// Who an event is about: the addresses in the order the event reports them and the flow.
/// For transaction events (http, tls, quic) this is client → server; for per-packet events
/// (dns, alerts) it is the packet's own direction, as Suricata logs them.
public struct EVEEndpoints: Sendable {
    public var flowID: UInt64
    public var src: IPAddress
    public var srcPort: UInt16
    public var dst: IPAddress
    public var dstPort: UInt16
    public var ipProto: UInt8
    public var appProto: AppProto
    /// Ethernet addresses in the same orientation as `src`/`dst` (EVE `ether`); `.none` when
    /// unknown, and then `begin` falls back to the current packet's (`EVEWriter.packetEther`).
    public var srcMAC: MACAddress
    public var dstMAC: MACAddress
    /// An event about an ARP packet: `proto` is "ARP" (src/dest are the sender and target
    /// protocol addresses, there are no ports).
    public var isARP = false

    public init(flowID: UInt64, src: IPAddress, srcPort: UInt16, dst: IPAddress, dstPort: UInt16,
                ipProto: UInt8, appProto: AppProto, srcMAC: MACAddress = .none, dstMAC: MACAddress = .none) {
        self.srcMAC = srcMAC
        self.dstMAC = dstMAC
        self.flowID = flowID
        self.src = src
        self.srcPort = srcPort
        self.dst = dst
        self.dstPort = dstPort
        self.ipProto = ipProto
        self.appProto = appProto
    }

    /// The same endpoints seen from the other side.
    public var reversed: EVEEndpoints {
        EVEEndpoints(flowID: flowID, src: dst, srcPort: dstPort, dst: src, dstPort: srcPort,
                     ipProto: ipProto, appProto: appProto, srcMAC: dstMAC, dstMAC: srcMAC)
    }
}

/// The Ethernet addresses of the packet being processed, with its source endpoint, so events
/// built without MACs (alerts of the detection stage) still get `ether` in their orientation.
public struct EVEPacketEther: Sendable {
    public var src: IPAddress
    public var srcPort: UInt16
    public var srcMAC: MACAddress
    public var dstMAC: MACAddress

    public static let none = EVEPacketEther(src: .none, srcPort: 0, srcMAC: .none, dstMAC: .none)

    public init(src: IPAddress, srcPort: UInt16, srcMAC: MACAddress, dstMAC: MACAddress) {
        self.src = src; self.srcPort = srcPort; self.srcMAC = srcMAC; self.dstMAC = dstMAC
    }
}

/// Event types we write, for the per-type counters in the replay summary.
public enum EVEEventType: Int, CaseIterable, Sendable {
    case flow, http, tls, dns, quic, alert, drop, fileinfo, stats, dhcp
    case sip, pgsql, smb
    case ssh
    case ftp
    case anomaly
    case dcerpc
    /// Appended (session 12) so the other types keep their bits.
    case smtp

    public var name: StaticString {
        switch self {
        case .flow: return "flow"
        case .http: return "http"
        case .tls: return "tls"
        case .dns: return "dns"
        case .quic: return "quic"
        case .alert: return "alert"
        case .drop: return "drop"
        case .fileinfo: return "fileinfo"
        case .stats: return "stats"
        case .dhcp: return "dhcp"
        case .sip: return "sip"
        case .pgsql: return "pgsql"
        case .smb: return "smb"
        case .ssh: return "ssh"
        case .ftp: return "ftp"
        case .anomaly: return "anomaly"
        case .dcerpc: return "dcerpc"
        case .smtp: return "smtp"
        }
    }
}

/// Writes EVE events into a reusable buffer.
public struct EVEWriter: Sendable {
    public var json: JSONWriter
    /// Events written, indexed by `EVEEventType.rawValue`.
    public private(set) var counts: [UInt64]
    /// Which event types are written at all: one bit per `EVEEventType` (all by default).
    public var enabledMask: UInt32
    /// The current packet's Ethernet addresses (set by the engine per packet; `.none` off
    /// Ethernet).
    public var packetEther: EVEPacketEther = .none

    public init(capacity: Int = 1 << 18) {
        json = JSONWriter(capacity: capacity)
        counts = Array(repeating: 0, count: EVEEventType.allCases.count)
        enabledMask = (1 << UInt32(EVEEventType.allCases.count)) - 1
    }

    @inlinable public func isEnabled(_ t: EVEEventType) -> Bool { enabledMask & (1 << UInt32(t.rawValue)) != 0 }

    public mutating func setEnabled(_ t: EVEEventType, _ on: Bool) {
        if on { enabledMask |= 1 << UInt32(t.rawValue) } else { enabledMask &= ~(1 << UInt32(t.rawValue)) }
    }

    public func count(_ t: EVEEventType) -> UInt64 { counts[t.rawValue] }

    /// A copy of the bytes written since the last `reset()` (tests).
    public var buffer: [UInt8] { json.buffer }

    /// Bytes waiting to be flushed.
    public var pendingBytes: Int { json.count }

    /// Lends the bytes written since the last `reset()`, to write them out.
    public func withBytes<R>(_ body: (ByteView) throws -> R) rethrows -> R { try json.withBytes(body) }

    public mutating func reset() { json.reset() }

    /// Opens an event object and writes the fields every event has. The caller adds its own
    /// object and then calls `end()`.
    public mutating func begin(_ type: EVEEventType, time: Timestamp, _ e: EVEEndpoints) {
        counts[type.rawValue] &+= 1
        json.beginObject()
        json.key("timestamp"); json.timestamp(time)
        if e.flowID != 0 { json.key("flow_id"); json.uint(e.flowID) }
        json.key("event_type"); json.string(type.name)
        json.key("src_ip"); json.ip(e.src)
        if e.ipProto == IPProto.tcp || e.ipProto == IPProto.udp {
            json.key("src_port"); json.int(Int(e.srcPort))
        }
        json.key("dest_ip"); json.ip(e.dst)
        if e.ipProto == IPProto.tcp || e.ipProto == IPProto.udp {
            json.key("dest_port"); json.int(Int(e.dstPort))
        }
        json.key("proto")
        if e.isARP { json.string("ARP") } else { writeProto(e.ipProto) }
        if e.appProto != .unknown && e.appProto != .failed {
            json.key("app_proto"); json.string(e.appProto.eveName)
        }
        writeEther(e)
    }

    /// Suricata's `ether` object: the event's endpoints' MACs, or else the current packet's
    /// when the event is about that packet (either way round); nothing off Ethernet.
    mutating func writeEther(_ e: EVEEndpoints) {
        var s = e.srcMAC, d = e.dstMAC
        if !s.isPresent && !d.isPresent {
            let p = packetEther
            guard p.srcMAC.isPresent else { return }
            if e.src == p.src && e.srcPort == p.srcPort {
                s = p.srcMAC; d = p.dstMAC
            } else if e.dst == p.src && e.dstPort == p.srcPort {
                s = p.dstMAC; d = p.srcMAC
            } else {
                return
            }
        }
        json.key("ether"); json.beginObject()
        if s.isPresent { json.key("src_mac"); json.mac(s) }
        if d.isPresent { json.key("dest_mac"); json.mac(d) }
        json.endObject()
    }

    /// Opens an event that is about no flow (stats): only time and type.
    public mutating func beginGlobal(_ type: EVEEventType, time: Timestamp) {
        counts[type.rawValue] &+= 1
        json.beginObject()
        json.key("timestamp"); json.timestamp(time)
        json.key("event_type"); json.string(type.name)
    }

    public mutating func end() {
        json.endObject()
        json.newline()
    }

    mutating func writeProto(_ p: UInt8) {
        switch p {
        case IPProto.tcp: json.string("TCP")
        case IPProto.udp: json.string("UDP")
        case IPProto.icmp: json.string("ICMP")
        case IPProto.icmpv6: json.string("IPv6-ICMP")
        // Tunnel layers tracked as flows (DecodedPacket.tunnelProto), named as Suricata does.
        case 4: json.string("IP-in-IP")
        case 41: json.string("IPv6")
        default: json.uint(UInt64(p))
        }
    }

    /// Writes `key: "value"` when the field is present and not empty.
    @inlinable
    mutating func field(_ key: StaticString, _ view: ByteView) {
        guard !view.isEmpty else { return }
        json.key(key)
        json.string(view)
    }
}
