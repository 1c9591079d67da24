import UTMCore

// `dns.flooded` (ET Open's and Suricata 4's app-layer-event): a flow that keeps asking without
// answers, a resolver being flooded or a tunnel pushing data out in queries.

/// The unanswered queries of one DNS flow and whether `dns.flooded` was raised on it, in two
/// bytes: the engine keeps one per flow slot for UDP (where one parser serves every flow), so
/// it stays small. A query (a request sent to the server) adds one, a response (sent to the
/// client) takes one off, as Suricata 4 counted unreplied requests; the event is raised once
/// per flow, when the count first passes the limit (Suricata then gave up on the flow's
/// transactions: here parsing and logging go on, only the event is once).
public struct DNSTransactionCount: Sendable, Equatable {
    public private(set) var raw: UInt16

    static let floodedBit: UInt16 = 0x8000
    static let countMask: UInt16 = 0x7fff

    public init(raw: UInt16 = 0) { self.raw = raw }

    /// Queries sent and not answered yet (saturating at 32767).
    public var unanswered: Int { Int(raw & Self.countMask) }
    /// `dns.flooded` was raised on this flow.
    public var flooded: Bool { raw & Self.floodedBit != 0 }

    /// Counts `message` (just parsed, sent in `direction`) and returns `dns.flooded` when this
    /// query is the first past `limit`. A message whose QR bit disagrees with its direction is
    /// neither (Suricata makes no transaction of it; `not_request` / `not_response` say so).
    public mutating func note(_ message: borrowing DNSMessage, _ direction: Direction, limit: Int) -> AppLayerEvents {
        note(isResponse: message.flags.qr, direction, limit: limit)
    }

    /// The same from the QR bit alone: the engine's call read the shared UDP parser's whole
    /// message through the engine to pass it (about 300 instructions per DNS message).
    @inline(__always)
    public mutating func note(isResponse qr: Bool, _ direction: Direction, limit: Int) -> AppLayerEvents {
        let count = raw & Self.countMask
        if direction == .toServer {
            guard !qr else { return AppLayerEvents() }
            let n = count < Self.countMask ? count &+ 1 : count
            raw = (raw & Self.floodedBit) | n
            if limit > 0 && Int(n) > limit && !flooded {
                raw |= Self.floodedBit
                return AppLayerEvents.DNS.flooded
            }
        } else if qr && count > 0 {
            raw = (raw & Self.floodedBit) | (count &- 1)
        }
        return AppLayerEvents()
    }
}
