// libFuzzer target: the input as rule text (one or more lines), loaded like a rule file; every
// rule that loads is then verified against the input itself in every buffer. The same text is
// also parsed as a threshold.config and, when it loads, bound to those rules and run through
// a small DetectEngine on the input as a packet; and loaded as a firewall ruleset with its
// lines as firewall policies. The packet facts the session 6 header keywords read (TCP seq/ack/
// window/MSS, IPv4 flags, offset, TOS, options, ICMP sequence, TLS version) come from the first
// input bytes, the IPv4 options from walking the input as a header. Must never trap.
import UTMCore
import UTMDetect

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRules(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let view = ByteView(unsafeStart: UnsafeRawPointer(data), count: size)
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    var parser = RuleParser()
    parser.load(text: text, file: "fuzz.rules")
    let set = parser.finish()
    var buffers = InspectionBuffers()
    for id in BufferID.allCases { buffers[id] = view }
    var facts = PacketFacts()
    facts.ipProto = 6
    facts.direction = .toServer
    facts.established = true
    facts.payloadSize = size
    facts.appProto = .http
    facts.ipVersion = 4
    facts.tcpSeq = view.u32(0) ?? 0
    facts.tcpAck = view.u32(4) ?? 0
    facts.tcpWindow = view.u16(8) ?? 0
    facts.tcpMSS = view.u16(10) ?? 0
    facts.ipFragBits = (view.u8(12) ?? 0) & 7
    facts.ipFragOffset = (view.u16(13) ?? 0) & 0x1fff
    facts.tos = view.u8(15) ?? 0
    facts.icmpSeq = view.u16(16) ?? 0
    facts.tlsVersion = view.u16(18) ?? 0
    facts.ipOptions = IPOptionFlags.present(in: view, headerLength: Int(view.u8(20) ?? 0) &* 4)
    // Session 9: the input as a packet's headers (lengths from its bytes, possibly past its end).
    PacketHeaderViews(ip: view, ipHeaderLength: Int(view.u8(21) ?? 0), transportHeaderLength: Int(view.u8(22) ?? 0))
        .fill(&buffers, ipVersion: (view.u8(23) ?? 0) & 1 == 0 ? 4 : 6, ipProto: view.u8(24) ?? 0)
    var bits = FlowBits()
    var verifier = Verifier()
    // Every flowint change and test of the loaded rules on one flow slot.
    verifier.flowInts = FlowIntTable(slots: 1)
    verifier.flowSlot = 0
    for sig in set.signatures {
        _ = verifier.verify(sig, packet: facts, buffers: buffers, flowbits: &bits)
        for list in sig.lists { _ = verifier.inspect(list, in: view) }
    }
    // The same text as a firewall ruleset, and each line as a `firewall.policies` KEY=ACTIONS.
    var firewall = FirewallRuleSet()
    firewall.load(text: text, file: "fuzz-firewall.rules")
    for line in text.split(separator: "\n") {
        if let eq = line.firstIndex(of: "=") {
            try? firewall.setPolicy(String(line[..<eq]), String(line[line.index(after: eq)...]))
        }
    }
    for r in firewall.rules {
        _ = verifier.verify(r.signature, packet: facts, buffers: buffers, flowbits: &bits)
    }
    if firewall.policies.count != FirewallHooks.tableCount { return 1 }
    if let thresholds = try? ThresholdConfig.parse(text, name: "fuzz.config") {
        var c = DetectConfig()
        c.flowCapacity = 4
        c.tailSlots = 2
        c.thresholdEntries = 16
        let engine = DetectEngine(definitions: DetectDefinitions(ruleSet: set), config: c)
        engine.setEventFilters(thresholds)
        for t in 0 ..< 4 {
            engine.beginPacket()
            _ = engine.inspectPacket(facts, payload: view, slot: 1, time: Int64(t)) { _, _ in }
        }
    }
    return 0
}
