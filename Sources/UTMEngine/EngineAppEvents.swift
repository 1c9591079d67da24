import UTMCore
import UTMAppLayer
import UTMFlow

/// Counters of the app-layer anomaly events, one per protocol and bit, reserved at start
/// (`AppProto` raw values below `protoSlots`; the generic `applayer_*` events under slot 0).
public struct AppEventCounters: Sendable {
    static let protoSlots = 32
    public private(set) var counts: [UInt64] = Array(repeating: 0, count: AppEventCounters.protoSlots * 64)

    public init() {}

    /// How often `proto`'s event `bit` was raised (generic events: any `proto`).
    public func count(_ proto: AppProto, bit: Int) -> UInt64 {
        let slot = bit >= AppLayerEvents.firstGenericBit ? 0 : Int(proto.rawValue)
        guard slot < Self.protoSlots, bit >= 0, bit < 64 else { return 0 }
        return counts[slot &* 64 &+ bit]
    }

    /// Counts each event in `e`: a loop over its set bits only.
    mutating func add(_ e: AppLayerEvents, _ proto: AppProto) {
        let slot = Int(proto.rawValue)
        var bits = e.rawValue
        while bits != 0 {
            let bit = bits.trailingZeroBitCount
            bits &= bits &- 1
            let s = bit >= AppLayerEvents.firstGenericBit ? 0 : slot
            if s < Self.protoSlots { counts[s &* 64 &+ bit] &+= 1 }
        }
    }
}

extension Engine {
    /// What an app-layer parser raised while this packet's bytes went through it: ORed into
    /// the packet's word for `app-layer-event:` rules and counted for the stats event. The
    /// caller tests `isEmpty` first, so a clean packet pays one compare.
    /// `tx`: the transaction the events belong to, when the parser knows it (the anomaly log's
    /// `tx_id`).
    func raiseAppEvents(_ e: AppLayerEvents, _ proto: AppProto, tx: UInt64? = nil) {
        packetAppEvents.formUnion(e)
        if e.rawValue & (1 << UInt64(AppLayerEvents.firstGenericBit) &- 1) != 0 { packetAppEventsProto = proto }
        stats.appEvents.add(e, proto)
        anomalyLog.noteApp(e, proto, tx: tx)
    }

    /// The flow ends (`endFlow`: timeout, eviction, close, shutdown) with app-layer events
    /// still held for a direction's next packet rules (IDS timing, PendingAppEvents.swift): each
    /// direction's meet the event rules now, with that direction's endpoints, alerts only (no
    /// packet of the flow is left to drop), as Suricata's flow-end pseudo packets inspect them.
    /// While nothing is held (nearly always) this is one test.
    ///
    /// Whatever the TCP state, a cleanly closed flow too: Suricata's flow-end pseudo packets
    /// (`FlowForceReassemblyNeedReassembly`) come for a session between ESTABLISHED and CLOSED,
    /// and also for any flow whose app layer has transactions detection has not finished with
    /// ("app layer still needs some love"). Events held here are, by definition, not yet
    /// inspected, which is that second case; a closed flow with nothing held costs one test.
    func drainHeldAppEvents(_ ref: FlowRef, _ flow: inout Flow) {
        guard let d = detect, d.holdsAppEvents(slot: Int(ref.index)) else { return }
        // A blocked or uninspected flow: the detection's endFlow releases what is held.
        guard let saved = detectFlowEndBegin(ref, &flow) else { return }
        defer { detectCursor = saved }
        for k in 0 ..< 2 {
            let f = detectFacts(k == 0 ? .toServer : .toClient, app: flow.appProto, stream: false)
            d.drainHeldAppEvents(f, slot: detectCursor.slot, time: detectCursor.time) { i, alert in
                self.detectMatched(i, alert, f)
            }
        }
    }

    /// DNS over UDP: the flow's first datagram seen as DNS (parsed or not); its slot may still
    /// hold an ended flow's count.
    func dnsUDPFlowStarted(_ ref: FlowRef) {
        let i = Int(ref.index)
        if i >= 0 && i < dnsUDPTransactions.count { dnsUDPTransactions[i] = 0 }
    }

    /// DNS over UDP: the shared parser just parsed a message of this flow; counts it in the
    /// flow's `DNSTransactionCount` (`dns.flooded`).
    func dnsUDPTransaction(_ ref: FlowRef, _ direction: Direction) {
        let i = Int(ref.index)
        guard i >= 0, i < dnsUDPTransactions.count else { return }
        var count = DNSTransactionCount(raw: dnsUDPTransactions[i])
        let e = count.note(isResponse: dns.message.flags.qr, direction, limit: config.dns.requestFlood)
        dnsUDPTransactions[i] = count.raw
        if !e.isEmpty { dns.appEvents.formUnion(e) }
    }

    /// The stats event's `app_layer.event` object: by protocol and Suricata name, the events
    /// that happened (a stats event every few minutes would be mostly zeros otherwise; the
    /// decoder and stream counters are written the same way).
    func writeAppEventStats() {
        eve.json.key("event"); eve.json.beginObject()
        for proto in AppProto.allCases where proto != .unknown && proto != .failed {
            guard let names = AppLayerEvents.names(proto),
                  names.indices.contains(where: { stats.appEvents.count(proto, bit: $0) != 0 }) else { continue }
            eve.json.key(proto.eveName); eve.json.beginObject()
            for (bit, name) in names.enumerated() where stats.appEvents.count(proto, bit: bit) != 0 {
                eve.json.key(name); eve.json.uint(stats.appEvents.count(proto, bit: bit))
            }
            eve.json.endObject()
        }
        let generic = AppLayerEvents.firstGenericBit ..< 64
        if generic.contains(where: { stats.appEvents.count(.unknown, bit: $0) != 0 }) {
            eve.json.key("applayer"); eve.json.beginObject()
            for bit in generic where stats.appEvents.count(.unknown, bit: bit) != 0 {
                guard let name = AppLayerEvents.name(proto: .unknown, bit: bit) else { continue }
                eve.json.key(name); eve.json.uint(stats.appEvents.count(.unknown, bit: bit))
            }
            eve.json.endObject()
        }
        eve.json.endObject()
    }
}
