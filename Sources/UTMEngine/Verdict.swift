/// What happens to the packet just processed. Set exactly once per packet by the engine; the
/// capture source applies it (NFQUEUE verdict) or records it (replay).
@frozen
public enum PacketVerdict: UInt8, Sendable {
    case accept = 0
    /// Silently discarded (IPS drop, QUIC to a blocked name so browsers fall back to TCP).
    case drop = 1
    /// Discarded, and the source answers with `response`.
    case reject = 2
}

/// The answer an inline box sends when it refuses traffic, built by the live capture source.
@frozen
public enum ActiveResponse: UInt8, Sendable {
    case none = 0
    /// TCP RST to both ends (IPS reject, TLS ClientHello with a blocked SNI, infected file).
    case tcpResetBoth = 1
    /// HTTP block page to the client, RST to the server (web filter on plain HTTP).
    case httpBlockPage = 2
    /// ICMP port/admin unreachable to the sender (UDP reject).
    case icmpUnreachable = 3
    /// A DNS answer with NXDOMAIN to the client, as if from its resolver (web filter on a DNS
    /// query for a blocked name, when `answerBlockedDNSWithNXDOMAIN` is set).
    case dnsNXDOMAIN = 4
}

/// Why a packet was not simply accepted: which module decided.
@frozen
public enum VerdictSource: UInt8, Sendable {
    case none = 0, ips, webFilter, antivirus, appPolicy, zonePolicy, flowBlocked
    /// Firewall mode's rules or default policies (EngineFirewall.swift).
    case firewall
    /// The flow table had no room for the packet's flow, and `flowTablePolicy` drops such
    /// packets (EngineFlowless.swift).
    case flowTable
}

/// The engine's decision for the last packet.
public struct PacketDecision: Sendable, Equatable {
    public var verdict: PacketVerdict = .accept
    public var response: ActiveResponse = .none
    public var source: VerdictSource = .none
    /// An accepted packet of a flow that needs no more inspection (EngineBypass.swift): the
    /// live source may tell the kernel to stop queueing the flow.
    public var bypass = false

    public init() {}

    public init(verdict: PacketVerdict, response: ActiveResponse, source: VerdictSource) {
        self.verdict = verdict
        self.response = response
        self.source = source
    }

    /// Escalates to a stronger decision: reject over drop over accept; the first reason stays
    /// when two modules agree.
    public mutating func escalate(to other: PacketDecision) {
        if other.verdict.rawValue > verdict.rawValue { self = other }
    }
}
