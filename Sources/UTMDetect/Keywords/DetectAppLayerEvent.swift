import UTMAppLayer
import UTMCore

/// `app-layer-event:PROTO.NAME` or `app-layer-event:applayer_NAME` (Suricata's http-events,
/// tls-events, dns-events and app-layer-events rules): a parser or protocol detection raised
/// that anomaly while handling this packet (`AppLayerEvents`, UTMAppLayer). A protocol's event
/// makes the rule that protocol's (`alert http ... app-layer-event:http.missing_host_header`);
/// the generic `applayer_*` events hold on any flow. Evaluated only on packets that raised an
/// event. An event no parser here raises skips the rule, naming it.
enum DetectAppLayerEvent {
    @Sendable static func appLayerEvent(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let name = try KW.require(v, "app-layer-event").trimmingSpaces
        guard !name.isEmpty else { throw .invalid("app-layer-event: no event name") }
        guard let (proto, bit) = AppLayerEvents.lookup(name) else {
            throw .unsupported("app-layer-event", "event '\(name.prefix(64))' is not raised by these parsers")
        }
        if let proto {
            if let have = b.signature.proto.app, have != proto && !(have == .http && proto == .http2) {
                throw .invalid("app-layer-event '\(name.prefix(64))' needs \(proto.eveName) but the rule is for \(have.eveName)")
            }
            if b.signature.proto.app == nil { b.signature.proto.app = proto }
        }
        b.signature.headerMatches.append(.anomaly(AnomalyMatch(layer: .app, mask: 1 << UInt64(bit),
                                                               proto: proto ?? .unknown)))
    }
}
