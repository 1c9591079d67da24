import UTMCore
import UTMDecode
import UTMFlow
import UTMOutput
import UTMDetect

/// Packets that reach no flow (session 11): the flow table was full and no flow could be
/// evicted, or the decoder could not read the packet whole (EngineAnomalies.swift).
///
/// Why this exists: until session 11 a decoded packet the table had no room for went through
/// untouched, neither the rules nor the firewall saw it. A table full of live flows is what a
/// flood or a worm on an office host leaves behind, which is when the box most needs its rules.
/// Suricata inspects such a packet without a flow, or drops it, as `flow.memcap-policy` says.
/// Here the policy is `FlowTablePolicy`; under the default every packet rule that needs no
/// flow state judges it.

/// What happens to a packet for which the flow table has no room (Suricata's
/// `flow.memcap-policy`, with its names).
public enum FlowTablePolicy: String, Sendable, CaseIterable {
    /// The packet is inspected on its own and forwarded unless a rule drops it: the packet
    /// rules with no flow test, header-only rules, and the stream rules (which read the packet
    /// itself). No stream, no app layer, no flowbits. The product's default: the office stays
    /// online while the box is overloaded, and still blocks what a packet alone shows.
    case ignore
    /// Forwarded uninspected (Suricata's pass-packet; its bypass is the same here).
    case passPacket = "pass-packet"
    case bypass
    /// Inline: dropped (a drop event with reason "flow memcap"). Suricata's choice under
    /// `exception-policy: auto` in IPS mode.
    case dropPacket = "drop-packet"
    /// Inline: dropped, and a TCP sender is reset (others get an ICMP unreachable).
    case reject

    /// Suricata's master switch `exception-policy` mapped to this exception: the flow-scoped
    /// values have no flow to act on and act on the packet; `auto` drops inline and
    /// ignores in IDS mode, as Suricata's.
    static func fromMaster(_ v: String, ids: Bool) -> FlowTablePolicy? {
        switch v {
        case "auto": return ids ? .ignore : .dropPacket
        case "drop-flow": return .dropPacket
        case "pass-flow": return .passPacket
        default: return FlowTablePolicy(rawValue: v)
        }
    }
}

extension Engine {
    /// A decoded packet `flows.track` found no slot for. Returns with `decision` set.
    func untrackedPacket() {
        stats.untracked &+= 1
        let policy = config.modes.flowTablePolicy
        switch policy {
        case .passPacket, .bypass:
            return
        case .dropPacket, .reject:
            // IDS mode drops nothing; the packet is inspected as under `ignore`.
            if !config.modes.ids {
                let reset: ActiveResponse = packet.ipProto == IPProto.tcp ? .tcpResetBoth : .icmpUnreachable
                decision = policy == .reject
                    ? PacketDecision(verdict: .reject, response: reset, source: .flowTable)
                    : PacketDecision(verdict: .drop, response: .none, source: .flowTable)
                stats.blockedPackets &+= 1
                stats.flowTableDrops &+= 1
                eve.writeDrop(packet, flowlessEndpoints(ports: true), reason: "flow memcap")
                return
            }
        case .ignore:
            break
        }
        if fw.rules != nil {
            if !firewallFlowless(ports: true) {
                stats.blockedPackets &+= 1
                return
            }
            // A firewall `pass` skips threat detection for this packet.
            if fw.passPacket { return }
        }
        detectFlowless()
    }

    /// The packet rules on a packet without a flow: direction unknown, never established, no
    /// flowbits; TCP stream rules read the packet itself and decide for it alone, as for a
    /// TCP packet no stream carries (RuleScope.swift).
    func detectFlowless() {
        guard let d = detect else { return }
        d.beginPacket()
        detectCursor = DetectCursor()
        var f = packetHeaderFacts(.toServer)
        f.direction = nil
        f.anomalies = PacketAnomalies(decode: packet.events.rawValue)
        d.headerRulesDone = false
        d.streamAsPacket = packet.ipProto == IPProto.tcp
        let headers = PacketHeaderViews(ip: packet.ipPacket, ipHeaderLength: packet.ipHeaderLength,
                                        transportHeaderLength: packet.transportHeaderLength)
        d.inspectPacket(f, payload: packet.payload, headers: headers, slot: -1, time: packet.timestamp.seconds) { i, alert in
            // Its headers are whole: a reject resets a TCP sender, as for a packet of a flow.
            self.undecodedMatched(d, i, alert, f, canRespond: true)
        }
        d.streamAsPacket = false
        if decision.verdict != .accept { stats.blockedPackets &+= 1 }
    }

    /// The firewall's packet tables on a packet without a flow: each such packet is the first
    /// of its direction, a flow-scoped verdict acts on the packet alone. Returns false when the
    /// packet is dropped (`fw.passPacket` then says whether threat detection skips it).
    /// `ports`: false when the transport header could not be read. `given`: the facts to judge
    /// instead of the packet's own headers (the fragment that completed a datagram, whose
    /// decoded headers are the datagram's: `completingFragmentFacts`); it has no payload.
    func firewallFlowless(ports: Bool, facts given: PacketFacts? = nil) -> Bool {
        guard let rules = fw.rules else { return true }
        fw.packetDone = false
        fw.dropped = false
        fw.flowDrop = false
        fw.passPacket = false
        fw.passFlow = false
        fw.flow = Flow()
        var f = given ?? packetHeaderFacts(.toServer)
        f.direction = nil
        if given == nil { f.anomalies = PacketAnomalies(decode: packet.events.rawValue) }
        if !ports {
            f.sourcePort = 0
            f.destinationPort = 0
            f.tcpFlags = 0
            f.noTransport = true
        }
        fw.facts = f
        var buffers = InspectionBuffers()
        if given == nil { buffers[.payload] = packet.payload }
        let none = FlowRef(index: -1, generation: 0)
        var t = 0
        var accepted = true
        while t < FirewallHooks.packetTables.count {
            let v = firewallEvaluate(rules, table: t, buffers, firstOfDirection: true)
            if !firewallApply(rules, v, none, packetHook: true) { accepted = false; break }
            if fw.packetDone { break }
            t += 1
        }
        if fw.dropped { fw.counters.blocked &+= 1 } else { fw.counters.accepted &+= 1 }
        return accepted
    }

    /// The packet's own addresses for events about a packet without a flow (flow id 0).
    func flowlessEndpoints(ports: Bool) -> EVEEndpoints {
        EVEEndpoints(flowID: 0, src: packet.src, srcPort: ports ? packet.srcPort : 0, dst: packet.dst,
                     dstPort: ports ? packet.dstPort : 0, ipProto: packet.ipProto, appProto: .unknown,
                     srcMAC: packet.srcMAC, dstMAC: packet.dstMAC)
    }
}
