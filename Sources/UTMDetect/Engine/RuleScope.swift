/// What a match applies to: the packet, or its whole flow (Suricata 7's action scope, as its
/// util-action tests show it).
///
/// - A header-only rule (no content, flow, flowbits, header tests or app protocol; Suricata's
///   IP-only rules) is evaluated on the first packet of each direction of a flow, and its drop
///   or pass applies to the flow.
/// - Stream and app-layer rules: their drop and pass apply to the flow.
/// - Other packet rules on UDP and ICMP (not header-only, no app protocol): their drop applies
///   to that packet only.
/// - A TCP packet whose payload no stream carries (the session is not established): stream
///   rules read the packet, and a content rule's drop or pass applies to that packet only.
extension DetectEngine {
    /// Whether signature `i` tests nothing but its header (addresses, ports, protocol).
    @inline(__always)
    func isHeaderOnly(_ i: Int) -> Bool {
        // Field by field: no copy of the whole Signature on this per-candidate path.
        defs.signatures[i].lists.isEmpty && defs.signatures[i].headerMatches.isEmpty
            && defs.signatures[i].flow.isEmpty && defs.signatures[i].flowbits.isEmpty
            && defs.signatures[i].proto.app == nil && defs.signatures[i].dsize == nil
    }

    /// Whether a pass by signature `i` passes the whole flow: where passes act on flows
    /// (`passOnFlow`: streams, app layer, established TCP packets), and for a header-only rule
    /// anywhere unless this packet was already dropped.
    @inline(__always)
    func passAppliesToFlow(_ i: Int, _ passOnFlow: Bool) -> Bool {
        passOnFlow || (isHeaderOnly(i) && dropSerial != packetSerial)
    }

    /// Whether a drop by `sig`, matched in the current inspection, applies to the packet only.
    public func dropIsPacketScoped(_ sig: Signature) -> Bool {
        streamAsPacket && !sig.lists.isEmpty
    }
}

extension Signature {
    /// Nothing but addresses, ports and protocol (Suricata's IP-only rules).
    public var isHeaderOnly: Bool {
        lists.isEmpty && headerMatches.isEmpty && flow.isEmpty && flowbits.isEmpty && proto.app == nil && dsize == nil
    }
}
