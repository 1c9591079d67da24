import UTMCore

/// How sure the identifier is of a flow's application: recorded with the result so the monthly
/// report can tell a payload match from a guess by port.
@frozen
public enum AppIDConfidence: UInt8, Sendable, Comparable {
    case none = 0
    /// Only the port matched (nDPI's "Match by port").
    case port = 1
    /// A server name (SNI, Host, DNS query) matched a pattern.
    case name = 2
    /// A payload signature matched (nDPI's "DPI").
    case payload = 3

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Where a server name came from. It decides the master protocol the name refines
/// ("TLS.YouTube", "QUIC.YouTube", "HTTP.YouTube", "DNS.YouTube").
@frozen
public enum NameKind: UInt8, Sendable {
    case sni = 0
    case httpHost = 1
    case dnsQuery = 2
    case quicSNI = 3
}

/// What an entry of the registry stands for.
@frozen
public enum AppKind: UInt8, Sendable {
    /// A protocol that carries other applications and is refined by names (TLS, HTTP, QUIC,
    /// DNS, STUN, DTLS): it becomes the flow's master.
    case carrier
    /// A protocol of its own (SSH, SMB, NTP...): also a master, rarely refined.
    case proto
    /// A web service or application found by name, port or its own signature (YouTube, Zoom).
    case service
}

/// Transports a dissector runs on.
public struct AppTransports: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let tcp = AppTransports(rawValue: 1)
    public static let udp = AppTransports(rawValue: 2)
    public static let both: AppTransports = [.tcp, .udp]

    @inlinable
    static func of(_ ipProto: UInt8) -> AppTransports {
        ipProto == 6 ? .tcp : ipProto == 17 ? .udp : []
    }
}

/// What a dissector sees of one packet. Views die with the call.
public struct ProbeInput {
    public var payload: ByteView
    public var direction: Direction
    /// 6 (TCP) or 17 (UDP).
    public var transport: UInt8
    public var serverPort: UInt16
    public var clientPort: UInt16
    /// 0 for the first payload-carrying packet of the flow (either direction).
    public var packetIndex: Int

    @inlinable public var isTCP: Bool { transport == 6 }
    @inlinable public func onPort(_ p: UInt16) -> Bool { serverPort == p || clientPort == p }
    @inlinable public func onPort(_ lo: UInt16, _ hi: UInt16) -> Bool {
        (serverPort >= lo && serverPort <= hi) || (clientPort >= lo && clientPort <= hi)
    }
}

/// A dissector's answer for one packet.
@frozen
public enum ProbeResult: Sendable, Equatable {
    /// Cannot tell yet: call again with the next packet.
    case needMore
    /// This flow is not mine: never call again for it.
    case no
    /// Identified (usually the dissector's own id; some name a sibling, e.g. SMBv1 / SMBv23).
    case match(AppID)
}

/// A payload dissector: the cheap pre-filter (transports, ports) and the probe.
public struct Dissector: Sendable {
    public let transports: AppTransports
    /// Run only when the server or client port is one of the descriptor's ports (the
    /// pre-filter for signatures too weak to try everywhere).
    public let portsOnly: Bool
    public let probe: @Sendable (ProbeInput) -> ProbeResult

    public init(_ transports: AppTransports, portsOnly: Bool = false,
                probe: @escaping @Sendable (ProbeInput) -> ProbeResult) {
        self.transports = transports
        self.portsOnly = portsOnly
        self.probe = probe
    }
}

/// One application or protocol: a small static record. One file per record under `Apps/`,
/// listed in `AppRegistry.all`.
public struct AppDescriptor: Sendable {
    public let id: AppID
    /// The name nDPI gives it (its report and rules use these names).
    public let name: StaticString
    public let kind: AppKind
    /// Coarse group for reports and restriction policies.
    public let category: StaticString
    /// Well-known server ports: used by the dissector pre-filter and for the by-port guess.
    public let tcpPorts: [UInt16]
    public let udpPorts: [UInt16]
    /// Server-name suffixes on label boundaries ("googlevideo.com" matches "r1.googlevideo.com").
    public let names: [StaticString]
    public let dissector: Dissector?

    public init(id: AppID, name: StaticString, kind: AppKind, category: StaticString,
                tcpPorts: [UInt16] = [], udpPorts: [UInt16] = [], names: [StaticString] = [],
                dissector: Dissector? = nil) {
        self.id = id
        self.name = name
        self.kind = kind
        self.category = category
        self.tcpPorts = tcpPorts
        self.udpPorts = udpPorts
        self.names = names
        self.dissector = dissector
    }
}
