/// Idle timeouts, in microseconds of packet time, per protocol and per flow state.
///
/// Why per state: a half-open or closed flow is cheap for an attacker to create and useless to
/// keep, so it leaves quickly; an established flow may legitimately sit idle for minutes.
/// Defaults are Suricata's `flow-timeouts` in suricata.yaml (tcp new 60 s, established 600 s,
/// closed 60 s; udp new 30 s, established 300 s; other protocols (ICMP) new 30 s,
/// established 300 s).
public struct FlowTimeouts: Sendable, Equatable {
    public static let second: Int64 = 1_000_000

    public var tcpNew: Int64 = 60 * second
    public var tcpEstablished: Int64 = 600 * second
    public var tcpClosed: Int64 = 60 * second
    public var udpNew: Int64 = 30 * second
    public var udpEstablished: Int64 = 300 * second
    public var otherNew: Int64 = 30 * second
    public var otherEstablished: Int64 = 300 * second
    /// When the table is full, an established flow idle at least this long may be evicted
    /// (Suricata's emergency-established, 100 s). New and closed flows may always be evicted.
    public var evictEstablishedIdle: Int64 = 100 * second
    /// A SYN on the ports of a session in CLOSE_WAIT starts a new one (port reuse, as Suricata
    /// decides it) only when the session has been idle this long. Why: in CLOSE_WAIT only the
    /// client has closed and the server may still be sending; a client that sends its FIN and
    /// then a SYN with a new ISN would otherwise end the flow the server's bytes are inspected
    /// in, and those bytes would land in a flow with no stream. A real client cannot reuse the
    /// ports before its own close completes (FIN_WAIT2 lasts 60 s on Linux), so 10 s costs no
    /// legitimate connection.
    public var closeWaitReuseIdle: Int64 = 10 * second

    public init() {}

    /// The idle timeout that applies to `flow` in its current state.
    @inlinable
    public func timeout(for flow: Flow) -> Int64 {
        switch flow.ipProto {
        case 6:
            switch flow.tcpState.timeoutClass {
            case .new: return tcpNew
            // TIME_WAIT and LAST_ACK are in the closed class (TCPState.timeoutClass): only a
            // lost last ACK keeps such a session open.
            case .established: return tcpEstablished
            case .closed: return tcpClosed
            }
        case 17:
            return flow.hasBothDirections ? udpEstablished : udpNew
        default:
            return flow.hasBothDirections ? otherEstablished : otherNew
        }
    }
}
