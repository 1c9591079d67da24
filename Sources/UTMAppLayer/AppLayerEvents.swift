import UTMCore

/// App-layer anomalies raised while one packet went through an app-layer parser or protocol
/// detection (Suricata's `app-layer-event:` keyword: `http.request_field_missing_colon`,
/// `tls.invalid_record_type`, `dns.malformed_data`, `applayer_mismatch_protocol_both_directions`).
///
/// Bits 0..55 are per protocol: the same bit means different events for HTTP and for TLS, so a
/// rule keeps the protocol with the bit (`lookup`). Bits 56..63 are the generic events of
/// protocol detection, valid on any flow. Bit numbers are stable; append new ones.
public struct AppLayerEvents: OptionSet, Sendable {
    public let rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// First bit of the protocol-independent events (`applayer_*`).
    public static let firstGenericBit = 56

    /// Suricata's name of a protocol's event, without the `proto.` prefix; generic events
    /// (bits 56...) under any protocol.
    public static func name(proto: AppProto, bit: Int) -> StaticString? {
        if bit >= firstGenericBit { return genericName(bit) }
        switch proto {
        default: return nil
        }
    }

    static func genericName(_ bit: Int) -> StaticString? {
        switch bit {
        default: return nil
        }
    }

    /// The protocol whose events a Suricata prefix names (`http`, `tls`, `dns`...).
    static func proto(prefix: Substring) -> AppProto? {
        for p in AppProto.allCases where p != .unknown && p != .failed {
            if EventName.matches(p.eveName, prefix) { return p }
        }
        return nil
    }

    /// A rule's `app-layer-event:` value: `proto.event` or a generic `applayer_event`.
    /// Returns the protocol (nil for generic events) and the bit; nil when no parser here
    /// raises that event (the rule is then skipped with that reason).
    public static func lookup(_ name: Substring) -> (proto: AppProto?, bit: Int)? {
        if let dot = name.firstIndex(of: ".") {
            guard let p = proto(prefix: name[..<dot]) else { return nil }
            let event = name[name.index(after: dot)...]
            for bit in 0..<firstGenericBit {
                if let known = AppLayerEvents.name(proto: p, bit: bit), EventName.matches(known, event) {
                    return (p, bit)
                }
            }
            return nil
        }
        for bit in firstGenericBit..<64 {
            if let known = genericName(bit), EventName.matches(known, name) { return (nil, bit) }
        }
        return nil
    }
}

