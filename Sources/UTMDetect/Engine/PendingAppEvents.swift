import UTMAppLayer
import UTMCore

/// App-layer events a flow direction raised while its packet rules could not see the flow's
/// protocol, held for that direction's next packet rules (session 11), or for the flow's end
/// (session 12).
///
/// Why: in IDS mode the packet that reveals a flow's protocol shows packet rules no protocol
/// (Suricata's IDS timing, UTMEngine's EngineDetectAppProto.swift), so an `alert http ...
/// app-layer-event:http.*` rule could never meet an event raised on that very packet (often
/// the request itself); inline mode sees it. Suricata inspects app-layer events per
/// transaction, in the direction's next inspection once the protocol is known: so here the
/// protocol's events wait for the direction's next packet that sees the protocol, are ORed
/// into its anomalies and cleared, and each event is matched once whichever the mode. A flow
/// that ends first still has them inspected: Suricata's flow-end pseudo packet runs the
/// detection once more (`DetectEngine.drainHeldAppEvents`, called from the engine's `endFlow`).
///
/// Why one word per flow direction, keyed by the flow slot (session 12; session 11 had a
/// direct-mapped table of 1024 entries): in that table flow slots `i` and `i + 512` shared an
/// entry, so a burst of anomalies on many flows (easy to send: one malformed request per
/// connection) overwrote other flows' held events, counted but never matched. The slot is a
/// natural key that no other live flow shares, so nothing is ever evicted; the cost is 9 bytes
/// per flow direction, reserved at start (less than the detection's other per-direction state),
/// and a packet still pays the one `held` test while nothing is held.
struct PendingAppEvents {
    /// The protocol events (bits below `AppLayerEvents.firstGenericBit`): the generic
    /// `applayer_*` events hold on any flow, protocol known or not, so they never wait.
    static let protocolBits: UInt64 = (1 << UInt64(AppLayerEvents.firstGenericBit)) &- 1

    /// Per flow direction (`slot * 2 + direction`): the held event bits (0: none).
    private(set) var word: [UInt64]
    /// Per flow direction: the protocol whose parser raised the bits. Why: bits below 56 mean
    /// another event for each protocol, and a flow's protocol can change while its events wait
    /// (an HTTP/1 request upgraded to h2c): an HTTP bit read as HTTP/2's would be another event.
    private(set) var proto: [AppProto]
    /// Directions holding events: while 0 (nearly always) a packet pays this one test.
    private(set) var held = 0

    init(directions: Int = 0) {
        word = [UInt64](repeating: 0, count: directions)
        proto = [AppProto](repeating: .unknown, count: directions)
    }

    /// Adds `bits`, raised by `raisedBy`'s parser, to direction `si`'s held events; false when
    /// events were dropped (this direction's of another protocol, or `si` out of range).
    mutating func hold(_ si: Int, _ bits: UInt64, raisedBy: AppProto) -> Bool {
        guard si >= 0, si < word.count, bits != 0 else { return false }
        let old = word[si]
        if old != 0 && proto[si] == raisedBy {
            word[si] = old | bits
            return true
        }
        word[si] = bits
        proto[si] = raisedBy
        if old == 0 { held &+= 1 }
        return old == 0
    }

    /// Direction `si`'s held events (0: none), released. Events another protocol's parser
    /// raised are released too but not returned (`lost` says so): they are not `shown`'s.
    mutating func take(_ si: Int, shown: AppProto) -> (bits: UInt64, lost: Bool) {
        guard si >= 0, si < word.count else { return (0, false) }
        let bits = word[si]
        guard bits != 0 else { return (0, false) }
        let same = proto[si] == shown
        word[si] = 0
        proto[si] = .unknown
        held &-= 1
        return same ? (bits, false) : (0, true)
    }

    /// Whether direction `si` holds events.
    @inline(__always) func holds(_ si: Int) -> Bool { held > 0 && si >= 0 && si < word.count && word[si] != 0 }

    /// The flow direction ended or its slot holds another flow now.
    mutating func clear(_ si: Int) {
        guard held > 0 else { return }
        _ = take(si, shown: .unknown)
    }
}

extension DetectEngine {
    /// Whether the flow in `slot` still holds app-layer events for its packet rules.
    public func holdsAppEvents(slot: Int) -> Bool {
        pendingAppEvents.held > 0 && (pendingAppEvents.holds(slot &* 2) || pendingAppEvents.holds(slot &* 2 &+ 1))
    }

    /// The flow in `slot` ends with app-layer events still held in `facts.direction` (each
    /// direction's events wait for its next packet that sees the protocol, and it sent none):
    /// they meet the packet event rules once more now, as Suricata's flow-end pseudo packet (one
    /// per direction) inspects them. `facts` describe the flow in that direction (endpoints,
    /// protocol, `established`), with no payload and no header fields. Only the event rules are
    /// candidates: the pseudo packet is no packet of the flow, so rules without an event keyword
    /// must not meet it a second time. Events a parser of another protocol raised (the flow
    /// changed protocol, or its protocol was never shown) are counted in
    /// `stats.pendingEventsLost`; returns whether there were such.
    @discardableResult
    public func drainHeldAppEvents(_ facts: PacketFacts, slot: Int, time: Int64, _ onMatch: (Int, Bool) -> Void) -> Bool {
        guard pendingAppEvents.held > 0, slot >= 0, let d = facts.direction else { return false }
        let t = pendingAppEvents.take(slot &* 2 &+ d.index, shown: facts.appProto)
        if t.lost { stats.pendingEventsLost &+= 1 }
        guard t.bits != 0, !passed[slot] else { return t.lost }
        var f = facts
        f.isStream = false
        f.anomalies = PacketAnomalies(app: t.bits)
        f.anomalies.appRaisedBy = facts.appProto
        beginPacket()
        beginCandidates()
        let group = ProtoClass.of(f.ipProto).rawValue &* DirectionClass.count &+ DirectionClass.of(d).rawValue
        addGroup(defs.eventPacket[group], f)
        if !candidates.isEmpty { _ = run(f, InspectionBuffers(), slot: slot, time: time, passOnFlow: false, onMatch) }
        return t.lost
    }
}
