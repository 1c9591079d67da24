/// Which way a packet travels within its flow. The client is the side that sent the first
/// packet (or the SYN), as in Suricata.
@frozen
public enum Direction: UInt8, Sendable {
    case toServer = 0
    case toClient = 1

    @inlinable public var reversed: Direction { self == .toServer ? .toClient : .toServer }
    @inlinable public var index: Int { Int(rawValue) }
}
