import UTMCore
import UTMDecode
import UTMFlow
import UTMAppLayer
import UTMOutput
import UTMDetect

/// Firewall counters (Suricata's `stats.firewall`): packets the firewall accepted and blocked,
/// and why it blocked them.
public struct FirewallCounters: Sendable {
    public var accepted: UInt64 = 0
    public var blocked: UInt64 = 0
    /// A firewall rule's drop.
    public var dropRules: UInt64 = 0
    public var dropDefaultPacketPolicy: UInt64 = 0
    public var dropDefaultAppPolicy: UInt64 = 0
    /// Later packets of a flow the firewall dropped.
    public var dropFlow: UInt64 = 0
    public init() {}
}

/// Per-flow firewall state: how far each direction's current transaction has been accepted.
/// Small and fixed-size, one per flow-table slot (reset when the slot starts a new flow).
struct FirewallFlow {
    /// `accept:flow`: no more firewall evaluation for this flow.
    var accepted = false
    /// The firewall blocked this flow (its later drops count as `flow_drop`).
    var blocked = false
    /// Per direction: the transaction the progress below belongs to.
    var tx: (UInt32, UInt32) = (0, 0)
    /// Per direction: the first hook (index within that side) of `tx` not yet accepted.
    var next: (UInt8, UInt8) = (0, 0)
    /// Sequence + 1 of a transaction accepted as a whole (`accept:tx`); 0 when none.
    var txAccepted: UInt32 = 0
}

/// The firewall stage of one worker (Suricata 8's firewall mode): a ruleset evaluated before
/// the threat-detection rules, per packet (`packet:pre_flow`, `pre_stream`, `filter`, default
/// `drop:packet`) and per app-layer transaction state (`http1:request_line`..., default
/// `drop:flow`). What it accepts goes on to detection; what it drops, detection never sees.
struct EngineFirewallStage {
    let rules: FirewallRuleSet?
    var flows: [FirewallFlow]
    var verifier: Verifier
    var counters = FirewallCounters()
    /// The packet being processed: its facts, and what the firewall decided so far.
    var facts = PacketFacts()
    /// `accept:packet` (or the flow is accepted): no more firewall tables for this packet.
    var packetDone = false
    /// The firewall dropped this packet; `flowDrop` when the drop covers the flow.
    var dropped = false
    var flowDrop = false
    /// A `pass` secondary action: threat detection skips this packet (and with `passFlow`
    /// the rest of the flow; process() sets the flow bit, the stream stage holds the table).
    var passPacket = false
    var passFlow = false
    /// The flow as the packet found it: app hooks run while the stream stage holds the flow
    /// table exclusively, so alerts and drops read this copy.
    var flow = Flow()

    init(rules: FirewallRuleSet?, flowCapacity: Int) {
        self.rules = rules
        flows = rules == nil ? [] : Array(repeating: FirewallFlow(), count: flowCapacity)
        verifier = Verifier(derived: .forRules((rules?.rules ?? []).lazy.map(\.signature)))
    }
}

/// Why the firewall decided a table: a rule (index into `FirewallRuleSet.rules`) or the
/// table's default policy.
struct FirewallVerdict {
    var actions: FirewallActions
    var rule: Int
}

extension Engine {
    /// Per packet, after flow tracking and before the stream: the packet tables. Returns false
    /// when the packet is dropped (`decision` says so and the drop event is written).
    func firewallPacket(_ ref: FlowRef, _ direction: Direction) -> Bool {
        guard let rules = fw.rules else { return true }
        let k = Int(ref.index)
        fw.packetDone = false
        fw.dropped = false
        fw.flowDrop = false
        fw.passPacket = false
        fw.passFlow = false
        let flow = flows.flow(ref)
        fw.flow = flow
        if flow.engineFlags & FlowBits.blocked != 0 { return true }
        if fw.flows[k].accepted { fw.packetDone = true; return true }
        fw.facts = firewallFacts(flow, direction)
        var buffers = InspectionBuffers()
        buffers[.payload] = packet.payload
        let first = (direction == .toClient ? flow.packets.1 : flow.packets.0) <= 1
        var t = 0
        while t < FirewallHooks.packetTables.count {
            let v = firewallEvaluate(rules, table: t, buffers, firstOfDirection: first)
            if !firewallApply(rules, v, ref, packetHook: true) { return false }
            if fw.packetDone { return true }
            t += 1
        }
        return true
    }

    /// After the packet was fully processed: the firewall's accepted/blocked counters.
    func firewallCount(_ ref: FlowRef, flowBlocked: Bool) {
        guard fw.rules != nil else { return }
        let k = Int(ref.index)
        if flowBlocked {
            if k >= 0 && k < fw.flows.count && fw.flows[k].blocked {
                fw.counters.blocked &+= 1
                fw.counters.dropFlow &+= 1
            }
            return
        }
        if fw.dropped { fw.counters.blocked &+= 1 } else { fw.counters.accepted &+= 1 }
    }

    /// A new flow took this slot.
    @inline(__always)
    func firewallFlowStarted(_ ref: FlowRef) {
        guard fw.rules != nil else { return }
        fw.flows[Int(ref.index)] = FirewallFlow()
    }

    // MARK: App-layer hooks

    /// After the HTTP parser took a chunk: every request (or response) hook each transaction has
    /// reached since last time. Returns false when the packet is dropped.
    func firewallHTTP(_ ref: FlowRef, _ i: Int, _ direction: Direction) -> Bool {
        guard let rules = fw.rules, !fw.packetDone, !fw.dropped else { return !fw.dropped }
        let ai = FirewallHooks.appIndex(.http)
        guard ai >= 0 else { return true }
        let n = http.items[i].pendingCount
        var k = 0
        while k < n {
            let tx = http.items[i].ready(k)
            k += 1
            var reached = -1
            if direction == .toServer {
                if tx.hasRequest { reached = 1 }
                if tx.method.isPresent { reached = 2 }
                if tx.requestBodyBytes > 0 { reached = 3 }
                if tx.requestComplete { reached = 5 }
            } else {
                if tx.hasResponse { reached = 1 }
                if tx.statusLine.isPresent { reached = 2 }
                if tx.responseBodyBytes > 0 { reached = 3 }
                if tx.responseComplete { reached = 5 }
            }
            guard reached >= 0 else { continue }
            let ok = firewallApp(rules, ai, ref, direction, sequence: tx.sequence, reached: reached) { b in
                self.fillHTTP(&b, i, tx, response: direction == .toClient)
            }
            if !ok { return false }
            if fw.packetDone { return true }
        }
        return true
    }

    /// After the TLS parser took a chunk. TLS has one transaction; once the handshake is over
    /// (encrypted) the parser stops, so every remaining hook of both sides is evaluated then.
    func firewallTLS(_ ref: FlowRef, _ i: Int, _ direction: Direction) -> Bool {
        guard let rules = fw.rules, !fw.packetDone, !fw.dropped else { return !fw.dropped }
        let ai = FirewallHooks.appIndex(.tls)
        guard ai >= 0 else { return true }
        if tls.items[i].encrypted {
            let app = FirewallHooks.apps[ai]
            var d = direction
            for _ in 0 ..< 2 {
                let last = (d == .toServer ? app.requestHooks : app.hooks.count - app.requestHooks) - 1
                if !firewallApp(rules, ai, ref, d, sequence: 0, reached: last, { self.fillTLS(&$0, i) }) { return false }
                if fw.packetDone { return true }
                d = d == .toServer ? .toClient : .toServer
            }
            return true
        }
        let reached = direction == .toServer ? (tls.items[i].clientHello != nil ? 1 : 0)
            : (tls.items[i].serverHello != nil ? 1 : 0)
        return firewallApp(rules, ai, ref, direction, sequence: 0, reached: reached) { self.fillTLS(&$0, i) }
    }

    /// The TLS buffers firewall rules can match (SNI, JA3), as threat detection fills them.
    private func fillTLS(_ b: inout InspectionBuffers, _ i: Int) {
        let p = tls.items[i]
        guard let ch = p.clientHello else { return }
        if ch.sni.isPresent { p.withField(ch.sni) { b[.tlsSNI] = $0 } }
        if ch.ja3.isPresent { p.withField(ch.ja3) { b[.ja3String] = $0 } }
        if ch.ja3Hash.isPresent { p.withField(ch.ja3Hash) { b[.ja3Hash] = $0 } }
    }

    /// An HTTP/2 stream side (`http2:stream` hooks): started, headers, data, closed and
    /// complete, from how far it got. Streams are transactions in the order they began; hooks
    /// of a stream older than the newest one seen in that direction are not evaluated again.
    func firewallHTTP2(_ ref: FlowRef, _ i: Int, _ s: Int, _ direction: Direction) -> Bool {
        guard let rules = fw.rules, !fw.packetDone, !fw.dropped else { return !fw.dropped }
        let ai = FirewallHooks.appIndex(.http2)
        guard ai >= 0 else { return true }
        let st = http2.items[i].streams[s]
        let side = direction == .toServer ? st.request : st.response
        var reached = 0
        if side.headersDone { reached = 1 }
        if side.dataBytes > 0 { reached = 2 }
        if side.ended || st.reset { reached = 4 }
        return firewallApp(rules, ai, ref, direction, sequence: st.sequence, reached: reached) { b in
            let f = direction == .toServer ? st.request.path : st.response.status
            guard f.isPresent else { return }
            self.http2.items[i].withField(s, response: direction == .toClient, f) {
                b[direction == .toServer ? .httpURI : .httpStatCode] = $0
            }
            if direction == .toServer && st.request.method.isPresent {
                self.http2.items[i].withField(s, response: false, st.request.method) { b[.httpMethod] = $0 }
            }
        }
    }

    /// A message of a protocol with the generic hooks (DNS, QUIC, DHCP): each message is its
    /// own transaction, started and complete at once.
    func firewallMessage(_ ref: FlowRef, _ app: AppProto, _ direction: Direction) -> Bool {
        guard let rules = fw.rules, !fw.packetDone, !fw.dropped else { return !fw.dropped }
        let ai = FirewallHooks.appIndex(app)
        guard ai >= 0 else { return true }
        let k = Int(ref.index)
        // A new transaction per message: progress restarts, accept:tx covered the last one only.
        let d = direction == .toServer ? 0 : 1
        let seq = (d == 0 ? fw.flows[k].tx.0 : fw.flows[k].tx.1) &+ 1
        return firewallApp(rules, ai, ref, direction, sequence: seq, reached: 1) { _ in }
    }

    /// Walks one side's hooks of transaction `sequence` from the first not yet accepted up to
    /// `reached` (index within that side).
    private func firewallApp(_ rules: FirewallRuleSet, _ ai: Int, _ ref: FlowRef, _ direction: Direction,
                             sequence: UInt32, reached: Int, _ fill: (inout InspectionBuffers) -> Void) -> Bool {
        let k = Int(ref.index)
        var st = fw.flows[k]
        if st.accepted { fw.packetDone = true; return true }
        if st.txAccepted != 0 && st.txAccepted &- 1 == sequence { return true }
        let d = direction == .toServer ? 0 : 1
        var tx = d == 0 ? st.tx.0 : st.tx.1
        var next = Int(d == 0 ? st.next.0 : st.next.1)
        if sequence < tx { return true }
        if sequence > tx { tx = sequence; next = 0 }
        let app = FirewallHooks.apps[ai]
        if let p = app.app { fw.flow.appProto = p }
        let base = FirewallHooks.appBase[ai] + (d == 0 ? 0 : app.requestHooks)
        var buffers = InspectionBuffers()
        var filled = false
        var ok = true
        var txWhole = false
        while next <= reached {
            if !filled { fill(&buffers); filled = true }
            var f = fw.facts
            if f.direction != direction {
                swap(&f.source, &f.destination)
                swap(&f.sourcePort, &f.destinationPort)
                f.direction = direction
            }
            f.appProto = fw.flow.appProto
            f.anomalies.app = packetAppEvents.rawValue
            let saved = fw.facts
            fw.facts = f
            let v = firewallEvaluate(rules, table: base + next, buffers, firstOfDirection: false)
            ok = firewallApply(rules, v, ref, packetHook: false)
            fw.facts = saved
            if !ok { break }
            if v.actions.accept && v.actions.scope == .tx { txWhole = true; break }
            if fw.packetDone { break }
            next += 1
        }
        st = fw.flows[k]
        if d == 0 { st.tx.0 = tx; st.next.0 = UInt8(truncatingIfNeeded: next) } else {
            st.tx.1 = tx; st.next.1 = UInt8(truncatingIfNeeded: next)
        }
        if txWhole { st.txAccepted = sequence &+ 1 }
        fw.flows[k] = st
        return ok
    }

    // MARK: Evaluation

    /// The first rule of `table` (file order) that matches, else the table's default policy.
    func firewallEvaluate(_ rules: FirewallRuleSet, table: Int, _ buffers: InspectionBuffers,
                                  firstOfDirection: Bool) -> FirewallVerdict {
        let list = rules.byTable[table]
        var j = 0
        while j < list.count {
            let r = list[j]
            j += 1
            if rules.rules[r].flowStart && !firstOfDirection { continue }
            // Firewall rules keep no flowbits between packets: each check starts from none.
            var bits = UTMDetect.FlowBits()
            if case .match = fw.verifier.verify(rules.rules[r].signature, packet: fw.facts, buffers: buffers,
                                                flowbits: &bits) {
                return FirewallVerdict(actions: rules.rules[r].actions, rule: r)
            }
        }
        return FirewallVerdict(actions: rules.policies[table], rule: -1)
    }

    /// Acts on a table's verdict: alert, drop (packet or flow), or accept with its scope.
    /// Returns false when the packet is dropped.
    func firewallApply(_ rules: FirewallRuleSet, _ v: FirewallVerdict, _ ref: FlowRef, packetHook: Bool) -> Bool {
        let k = Int(ref.index)
        let a = v.actions
        if a.alert { firewallAlert(rules, v, ref, blocked: !a.accept && !config.modes.ids, packetHook: packetHook) }
        guard a.accept else {
            if config.modes.ids { return true }
            fw.dropped = true
            // A packet without a flow (k < 0): a flow-scoped drop can only drop the packet.
            fw.flowDrop = a.scope == .flow && k >= 0
            if fw.flowDrop { fw.flows[k].blocked = true }
            decision.escalate(to: PacketDecision(verdict: .drop, response: .none, source: .firewall))
            let reason: StaticString
            if v.rule >= 0 {
                reason = "rules"
                fw.counters.dropRules &+= 1
            } else if packetHook {
                reason = "default packet policy"
                fw.counters.dropDefaultPacketPolicy &+= 1
            } else {
                reason = "default app policy"
                fw.counters.dropDefaultAppPolicy &+= 1
            }
            let f = fw.flow
            let e = EVEEndpoints(flowID: f.id, src: packet.src, srcPort: packet.srcPort, dst: packet.dst,
                                 dstPort: packet.dstPort, ipProto: packet.ipProto, appProto: f.appProto,
                                 srcMAC: packet.srcMAC, dstMAC: packet.dstMAC)
            eve.writeDrop(packet, e, reason: reason)
            return false
        }
        if let pass = a.pass {
            // Threat detection skips the packet (process() clears its cursor), or the rest of
            // the flow.
            fw.passPacket = true
            if pass == .flow { fw.passFlow = true }
        }
        switch a.scope {
        case .packet: fw.packetDone = true
        case .flow:
            fw.packetDone = true
            if k >= 0 { fw.flows[k].accepted = true }
        case .hook, .tx: break
        }
        return true
    }

    private func firewallAlert(_ rules: FirewallRuleSet, _ v: FirewallVerdict, _ ref: FlowRef, blocked: Bool, packetHook: Bool) {
        let f = fw.facts
        let flow = fw.flow
        let e = EVEEndpoints(flowID: flow.id, src: f.source, srcPort: f.sourcePort, dst: f.destination,
                             dstPort: f.destinationPort, ipProto: f.ipProto, appProto: flow.appProto)
        let text: AlertText
        var gid: UInt32 = 1, sid: UInt32, rev: UInt32 = 1, priority = 3, productSeverity = 1
        if v.rule >= 0 {
            let s = rules.rules[v.rule].signature
            text = rules.rules[v.rule].text
            gid = s.gid; sid = s.sid; rev = s.rev; priority = s.priority; productSeverity = s.productSeverity
        } else {
            text = packetHook ? rules.packetPolicyText : rules.appPolicyText
            sid = packetHook ? FirewallRuleSet.packetPolicySID : FirewallRuleSet.appPolicySID
        }
        stats.alerts &+= 1
        text.msg.withUnsafeBytes { msg in
            text.category.withUnsafeBytes { cat in
                text.metadataJSON.withUnsafeBytes { meta in
                    let rule = EVEAlertRule(gid: gid, sid: sid, rev: rev, msg: ByteView(msg), category: ByteView(cat),
                                            severity: priority, productSeverity: productSeverity,
                                            metadataJSON: ByteView(meta), blocked: blocked)
                    // A packet without a flow (EngineFlowless.swift; ids are never 0) has no
                    // flow object to report.
                    eve.writeAlert(rule, time: packet.timestamp, e, flow: flow.id == 0 ? nil : flow)
                }
            }
        }
    }

    /// The packet as firewall rules see it (the same facts threat detection builds).
    private func firewallFacts(_ flow: Flow, _ direction: Direction) -> PacketFacts {
        var f = packetHeaderFacts(direction)
        f.established = packet.ipProto == IPProto.tcp ? detectEstablished(flow) : flow.hasBothDirections
        f.appProto = flow.appProto
        // Event keywords in firewall rules (session 11): the decoder's events and the TCP state
        // machine's (raised in `track`, before the firewall); the app hooks add the parsers'.
        f.anomalies = PacketAnomalies(decode: packet.events.rawValue, stream: flows.packetStreamEvents.rawValue)
        return f
    }

    /// The firewall's counters, for the stats event and `utmctl replay`.
    public var firewallCounters: FirewallCounters? { fw.rules == nil ? nil : fw.counters }

    /// Suricata's `stats.firewall` object (inside the stats event being written).
    func writeFirewallStats(_ c: FirewallCounters) {
        eve.json.key("firewall"); eve.json.beginObject()
        eve.json.key("accepted"); eve.json.uint(c.accepted)
        eve.json.key("blocked"); eve.json.uint(c.blocked)
        eve.json.key("drop_reason"); eve.json.beginObject()
        eve.json.key("rules"); eve.json.uint(c.dropRules)
        eve.json.key("default_packet_policy"); eve.json.uint(c.dropDefaultPacketPolicy)
        eve.json.key("default_app_policy"); eve.json.uint(c.dropDefaultAppPolicy)
        eve.json.key("flow_drop"); eve.json.uint(c.dropFlow)
        eve.json.endObject()
        eve.json.endObject()
    }
}
