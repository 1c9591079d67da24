import UTMCore
import UTMDecode
import UTMFlow
import UTMOutput
import UTMDetect

/// What happens to a TCP session picked up without its handshake when midstream pickup is off
/// (Suricata's `stream.midstream-policy`).
public enum MidstreamPolicy: String, Sendable, CaseIterable {
    /// The session passes uninspected (Suricata's ignore, bypass and pass-flow all end here:
    /// nothing of the flow is parsed or matched).
    case ignore
    case bypass
    case passFlow = "pass-flow"
    /// Inline (not in IDS mode): every packet of the session is dropped and logged.
    case dropFlow = "drop-flow"
    case reject

    public var blocks: Bool { self == .dropFlow || self == .reject }
}

/// How the engine acts, as opposed to what it parses (EngineConfig's other fields).
///
/// The defaults are the product's: inline, midstream pickup on (a restarted box must keep
/// inspecting the sessions that were open), one drop event per blocked flow. `utmctl replay`
/// flags and `--set` keys change them so Suricata's own tests can be run under their settings.
public struct EngineModes: Sendable {
    /// IDS mode: drop and reject rules only alert (EVE `alert.action` "allowed"), nothing is
    /// dropped. Suricata without `--simulate-ips`.
    public var ids = false
    /// Pick up TCP sessions whose first packet is not a SYN (Suricata's `stream.midstream`).
    public var midstream = true
    /// What to do with such a session when `midstream` is off.
    public var midstreamPolicy: MidstreamPolicy = .ignore
    /// What to do with a packet the flow table has no room for (Suricata's
    /// `flow.memcap-policy`; EngineFlowless.swift). The default inspects it on its own.
    public var flowTablePolicy: FlowTablePolicy = .ignore
    /// Write a drop event for every packet of a blocked flow (reason "flow drop"), not only for
    /// the packet that caused the block (Suricata's drop log `flows: all`).
    public var dropLogFlows = false
    /// Only one direction of TCP sessions is seen (asymmetric routing; Suricata's
    /// `stream.async-oneside`): a session whose other side never shows counts as established.
    public var asyncOneSide = false
    /// Alerts of packet rules carry the flow's one app-layer transaction (Suricata's
    /// `detect.guess-applayer-tx`; EngineAlertTx.swift), at most `streamTxLogLimit` times per
    /// flow (`detect.stream-tx-log-limit`, default 4).
    public var guessAppLayerTx = false
    public var streamTxLogLimit = 4

    public init() {}
}

extension FlowBits {
    /// Detection is off for this flow (midstream pickup under the pass-flow policy): the app
    /// layer still parses and logs it.
    static let noDetect: UInt32 = 1 << 30
    /// The IPS blocked this flow: transactions it cut short are not logged when it ends
    /// (Suricata writes nothing more for a dropped flow).
    static let ipsBlocked: UInt32 = 1 << 29
}

extension Engine {
    /// Midstream pickup off, or on with a policy: applies `stream.midstream-policy` to a TCP
    /// session that did not start with a SYN. Returns true when the packet needs nothing more
    /// (the caller returns `decision`).
    ///
    /// What Suricata's tests show, and what this does with pickup off:
    /// - drop-flow / reject, inline: every packet of the session is dropped.
    /// - otherwise no stream and no app layer. A session first seen at its SYN/ACK is not
    ///   inspected at all; one first seen at a data packet has each packet's payload inspected
    ///   on its own (packet and stream rules, `flow:not_established`).
    /// With pickup on and pass-flow, the session is parsed and logged but never inspected;
    /// with bypass, it is neither parsed nor inspected (only its flow event is written).
    @inline(__always)
    func midstreamRefused(_ ref: FlowRef, _ direction: Direction) -> Bool {
        guard packet.ipProto == IPProto.tcp else { return false }
        let modes = config.modes
        if modes.midstream && modes.midstreamPolicy != .passFlow && modes.midstreamPolicy != .bypass { return false }
        let flow = flows.flow(ref)
        guard flow.midstream else { return false }
        if modes.midstream && modes.midstreamPolicy == .bypass { return true }
        if modes.midstream {
            if flow.engineFlags & FlowBits.noDetect == 0 { flows.withFlow(ref) { $0.engineFlags |= FlowBits.noDetect } }
            return false
        }
        if modes.midstreamPolicy.blocks && !modes.ids {
            decision = PacketDecision(verdict: .drop, response: .none, source: .flowBlocked)
            flows.withFlow(ref) { $0.engineFlags |= FlowBits.blocked }
            eve.writeDrop(packet, packetEndpoints(ref), reason: "stream midstream")
            stats.blockedPackets &+= 1
            return true
        }
        let seenSYN = (flow.tcpFlagsSeen.0 | flow.tcpFlagsSeen.1) & TCPFlags.syn.rawValue != 0
        guard modes.midstreamPolicy == .ignore, !seenSYN, detect != nil else { return true }
        detectPacket(ref, direction)
        if decision.verdict != .accept {
            stats.blockedPackets &+= 1
            flows.withFlow(ref) { $0.engineFlags |= FlowBits.blocked }
        }
        return true
    }

    /// Whether the established test of `flow:` holds for this flow: not for a session that
    /// midstream pickup refused.
    func detectEstablished(_ flow: Flow) -> Bool {
        Engine.detectEstablished(midstream: flow.midstream, state: flow.tcpState,
                                 completedNow: flow.handshakeCompletedNow, packets: flow.packets, modes: config.modes)
    }

    /// The same from the fields it reads (`detectBegin` reads them from the cursor's flow in
    /// place instead of passing the flow by value, which copied it).
    @inline(__always)
    static func detectEstablished(midstream: Bool, state: TCPState, completedNow: Bool,
                                  packets: (UInt64, UInt64), modes: EngineModes) -> Bool {
        if midstream && !modes.midstream { return false }
        if state.rawValue >= TCPState.established.rawValue { return !completedNow }
        return modes.asyncOneSide && state != .none && (packets.0 == 0 || packets.1 == 0)
    }

    /// A later packet of a blocked flow: logged when every dropped packet is to be logged.
    @inline(__always)
    func blockedFlowPacket(_ ref: FlowRef) {
        guard config.modes.dropLogFlows else { return }
        eve.writeDrop(packet, packetEndpoints(ref), reason: "flow drop")
    }

    /// The current packet's own addresses (a drop event describes the packet, not the flow).
    func packetEndpoints(_ ref: FlowRef) -> EVEEndpoints {
        let f = flows.flow(ref)
        return EVEEndpoints(flowID: f.id, src: packet.src, srcPort: packet.srcPort, dst: packet.dst,
                            dstPort: packet.dstPort, ipProto: packet.ipProto, appProto: f.appProto,
                            srcMAC: packet.srcMAC, dstMAC: packet.dstMAC)
    }
}

/// Rule scope (UTMDetect's RuleScope.swift) on the engine's side.
extension Engine {
    /// Before packet rules: whether header-only rules already ran for this flow direction, and
    /// whether stream rules read this packet because no stream carries it.
    @inline(__always)
    func beginRuleScope(_ d: DetectEngine, _ f: PacketFacts) {
        let flow = detectCursor.flow
        d.headerRulesDone = (f.direction == .toClient ? flow.packets.1 : flow.packets.0) > 1
        if d.anyHeaderRecheck { d.beginHeaderScope(slot: detectCursor.slot, direction: f.direction) }
        detectCursor.inPacketRules = true
        // A SYN's data held for the receiver's answer (IDS) is inspected as the stream if taken;
        // a retransmission of SYN data delivered before the handshake (inline) was never
        // inspected as an established stream; IDS, a retransmission with other bytes than the
        // stream's carries bytes the receiver may read instead (README "SYN data and
        // retransmissions, session 9"). Identical retransmissions are not read again.
        d.streamAsPacket = f.ipProto == IPProto.tcp
            && ((!f.established && !packet.payload.isEmpty && !reassembler.packetHeldSynData)
                || reassembler.packetRepeatsSynData
                || (config.modes.ids && reassembler.conflictPayload != nil))
    }

    /// Stream chunks of a session that is not established (data on a SYN) are not inspected
    /// as a stream: the packet path reads that payload instead, with packet scope.
    @inline(__always)
    func streamRulesReadStream() -> Bool {
        detectCursor.facts.established
    }

    @inline(__always)
    func noteDropScope(_ d: DetectEngine, _ i: Int) {
        if d.dropIsPacketScoped(i, packetRules: detectCursor.inPacketRules,
                                tcp: detectCursor.facts.ipProto == IPProto.tcp) { return }
        detectCursor.flowScopeDrop = true
    }

    /// The flow bits this packet's drop sets: `blocked` always, unless only rules whose drop
    /// is packet-scoped dropped it; `ipsBlocked` too when the IPS decided.
    @inline(__always)
    func flowBlockBits() -> UInt32 {
        if decision.source == .firewall { return fw.flowDrop ? FlowBits.blocked | FlowBits.ipsBlocked : 0 }
        if decision.source != .ips { return FlowBits.blocked }
        return detectCursor.flowScopeDrop ? FlowBits.blocked | FlowBits.ipsBlocked : 0
    }
}
