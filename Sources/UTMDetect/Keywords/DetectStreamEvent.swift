import UTMFlow

/// `stream-event:NAME` (Suricata's stream-events.rules, e.g. `stream-event:3whs_ack_in_wrong_dir`):
/// the TCP state machine or reassembler raised that anomaly on this packet (`StreamEvents`,
/// UTMFlow). Evaluated only on packets that raised an event, like `decode-event`. A name the
/// stream layer never raises skips the rule, naming the event. A `stream.` prefix (EVE and
/// stats spelling) is accepted.
enum DetectStreamEvent {
    @Sendable static func streamEvent(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        var name = try KW.require(v, "stream-event").trimmingSpaces
        guard !name.isEmpty else { throw .invalid("stream-event: no event name") }
        if name.lowercased().hasPrefix("stream.") && StreamEvents.bit(named: name) == nil { name = name.dropFirst(7) }
        guard let bit = StreamEvents.bit(named: name) else {
            throw .unsupported("stream-event", "event '\(name.prefix(64))' is not raised by this stream engine")
        }
        guard b.signature.proto.admits(ipProto: 6) else {
            throw .invalid("stream-event needs a TCP rule, the header says \(b.signature.proto.name)")
        }
        b.signature.headerMatches.append(.anomaly(AnomalyMatch(layer: .stream, mask: 1 << UInt64(bit))))
    }
}
