import UTMCore

/// What a match applies to: the packet, or its whole flow (Suricata 7's action scope, as its
/// util-action tests show it).
///
/// - A header-only rule (no content, flow, flowbits, header tests or app protocol; Suricata's
///   IP-only rules) is evaluated on the first packet of each direction of a flow, and its drop
///   or pass applies to the flow.
/// - Stream and app-layer rules: their drop and pass apply to the flow.
/// - Other packet rules on UDP and ICMP (not header-only, no app protocol): their drop applies
///   to that packet only; on TCP too when they read no buffer (`isPlainPacketRule`).
/// - A TCP packet whose payload no stream carries (the session is not established): stream
///   rules read the packet, and a content rule's drop or pass applies to that packet only.
extension DetectEngine {
    /// Whether signature `i` tests nothing but its header (addresses, ports, protocol).
    @inline(__always)
    func isHeaderOnly(_ i: Int) -> Bool { defs.boxes[i].sig.isHeaderOnly }

    /// Whether header-only signature `i` already ran for this flow direction: after its first
    /// packet, unless the rule came with a definitions update since the flow began and this is
    /// the direction's first packet under it.
    @inline(__always)
    func headerOnlyDone(_ i: Int) -> Bool {
        headerRulesDone && isHeaderOnly(i) && !(headerRecheckNow && addedByUpdate[i])
    }

    /// Per packet, after `headerRulesDone` is set: whether this direction meets the header-only
    /// rules an update added (once; DetectEngineHandover.swift).
    @inline(__always)
    public func beginHeaderScope(slot: Int, direction: Direction?) {
        guard let direction, slot >= 0, slot &* 2 &+ 1 < headerRecheck.count else { headerRecheckNow = false; return }
        let si = slot &* 2 &+ direction.index
        headerRecheckNow = headerRecheck[si]
        if headerRecheckNow { headerRecheck[si] = false }
    }

    /// Whether a pass by signature `i` passes the whole flow: where passes act on flows
    /// (`passOnFlow`: streams, app layer, established TCP packets), and for a header-only rule
    /// anywhere unless this packet was already dropped.
    @inline(__always)
    func passAppliesToFlow(_ i: Int, _ passOnFlow: Bool) -> Bool {
        (passOnFlow && !defs.boxes[i].sig.isPlainPacketRule) || (isHeaderOnly(i) && dropSerial != packetSerial)
    }

    /// Whether a drop by signature `i`, matched in the current inspection, applies to the packet
    /// only: a content rule reading a TCP packet no stream carries, or (`packetRules`, on a
    /// UDP/ICMP packet) a packet rule that is neither header-only nor tied to an app protocol.
    public func dropIsPacketScoped(_ i: Int, packetRules: Bool, tcp: Bool) -> Bool {
        let sig = defs.boxes[i].sig
        if streamAsPacket && !sig.lists.isEmpty { return true }
        if packetRules && sig.isPlainPacketRule { return true }
        return packetRules && !tcp && !sig.isHeaderOnly && sig.proto.app == nil
    }
}

extension Signature {
    /// Tests the packet's header, flags or flow state but reads no buffer and names no app
    /// protocol (Suricata's `pkt` rule type, e.g. `flow:stateless` or `flow:not_established`):
    /// its drop and pass act on that packet only, on TCP too (ips/firewall-04/06).
    public var isPlainPacketRule: Bool {
        lists.isEmpty && proto.app == nil && !isHeaderOnly
    }

    /// Nothing but addresses, ports and protocol (Suricata's IP-only rules).
    public var isHeaderOnly: Bool {
        lists.isEmpty && headerMatches.isEmpty && flow.isEmpty && flowbits.isEmpty && proto.app == nil && dsize == nil
    }
}
