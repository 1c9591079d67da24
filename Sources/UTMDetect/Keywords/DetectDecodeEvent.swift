import UTMDecode

/// `decode-event:NAME` (Suricata's decoder-events.rules, e.g. `decode-event:ipv4.trunc_pkt`):
/// the packet raised that decoder anomaly (`DecodeEvents`, UTMDecode). Usually on `pkthdr`
/// rules without content; the engine evaluates event rules only on packets that raised an
/// event (`DetectDefinitions.eventPacket`), so hundreds of them cost nothing on clean traffic.
/// A name the decoder never raises skips the rule, naming the event (a rule that can never
/// match is not loaded silently). A `decoder.` prefix (Suricata's EVE and stats spelling) is
/// accepted.
enum DetectDecodeEvent {
    @Sendable static func decodeEvent(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        var name = try KW.require(v, "decode-event").trimmingSpaces
        guard !name.isEmpty else { throw .invalid("decode-event: no event name") }
        if name.lowercased().hasPrefix("decoder.") && DecodeEvents.bit(named: name) == nil { name = name.dropFirst(8) }
        guard let bit = DecodeEvents.bit(named: name) else {
            throw .unsupported("decode-event", "event '\(name.prefix(64))' is not raised by this decoder")
        }
        b.signature.headerMatches.append(.anomaly(AnomalyMatch(layer: .decode, mask: 1 << UInt64(bit))))
    }
}
