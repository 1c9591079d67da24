import UTMCore

/// Name lookup for `decode-event:` rules (Suricata's decoder-events.rules). The names live in
/// `DecodeEvents.name(ofBit:)` (Packet.swift) so the stats counters, EVE and rules read one table.
extension DecodeEvents {
    /// The bit a Suricata decoder event name stands for; nil when this decoder never raises it
    /// (the rule is then skipped with that reason, never loaded to sit silent).
    public static func bit(named name: Substring) -> Int? {
        // Suricata 7 renamed "UDP length below 8" to udp.len_invalid (rule 2200120) and kept
        // udp.hlen_invalid as its deprecated name; the bit answers to both.
        if EventName.matches("udp.len_invalid", name) { return bit(named: "udp.hlen_invalid") }
        return EventName.bit(named: name, in: DecodeEvents.name(ofBit:))
    }

}
