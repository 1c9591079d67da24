import UTMCore

/// TCP stream anomalies raised while one packet went through the TCP state machine and the
/// reassembler (Suricata's stream-events.rules: `stream-event:3whs_ack_in_wrong_dir`, ...).
///
/// One bit per event, per packet: the engine hands the packet's set to packet rules
/// (`stream-event:` keyword, PacketFacts.anomalies.stream) and counts them. Bit numbers are
/// stable (they index counters); append new events at the end, with their Suricata name in
/// `name(ofBit:)`.
public struct StreamEvents: OptionSet, Sendable {
    public let rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Number of defined event bits.
    public static let definedBits = 0

    /// Suricata's name of the event (`stream-event:` value, without a prefix), by bit index.
    public static func name(ofBit bit: Int) -> StaticString? {
        switch bit {
        default: return nil
        }
    }

    /// The bit a Suricata stream event name stands for; nil when the stream layer never raises
    /// it (the rule is then skipped with that reason).
    public static func bit(named name: Substring) -> Int? {
        for bit in 0..<64 {
            guard let known = StreamEvents.name(ofBit: bit) else { continue }
            if EventName.matches(known, name) { return bit }
        }
        return nil
    }
}

