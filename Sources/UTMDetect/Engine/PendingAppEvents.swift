import UTMAppLayer
import UTMCore

/// App-layer events a flow direction raised while its packet rules could not see the flow's
/// protocol, held for that direction's next packet rules (session 11).
///
/// Why: in IDS mode the packet that reveals a flow's protocol shows packet rules no protocol
/// (Suricata's IDS timing, UTMEngine's EngineDetectAppProto.swift), so an `alert http ...
/// app-layer-event:http.*` rule could never meet an event raised on that very packet (often
/// the request itself); inline mode sees it. Suricata inspects app-layer events per
/// transaction, in the direction's next inspection once the protocol is known: so here the
/// protocol's events wait for the direction's next packet that sees the protocol, are ORed
/// into its anomalies and cleared, and each event is matched once whichever the mode.
///
/// Held events are rare (an anomaly on a packet whose protocol is hidden), so a small
/// direct-mapped table serves every flow (12 KiB, not a word per flow direction): an entry
/// taken by another direction is overwritten, counted in `DetectStats.pendingEventsLost`.
struct PendingAppEvents {
    static let entries = 1024
    /// The protocol events (bits below `AppLayerEvents.firstGenericBit`): the generic
    /// `applayer_*` events hold on any flow, protocol known or not, so they never wait.
    static let protocolBits: UInt64 = (1 << UInt64(AppLayerEvents.firstGenericBit)) &- 1

    /// Per entry: the flow direction (`slot * 2 + direction`) holding it, or -1.
    private(set) var key = [Int32](repeating: -1, count: PendingAppEvents.entries)
    private(set) var word = [UInt64](repeating: 0, count: PendingAppEvents.entries)
    /// Per entry: the protocol whose parser raised the bits. Why: bits below 56 mean another
    /// event for each protocol, and a flow's protocol can change while its events wait (an
    /// HTTP/1 request upgraded to h2c): an HTTP bit read as HTTP/2's would be another event.
    private(set) var proto = [AppProto](repeating: .unknown, count: PendingAppEvents.entries)
    /// Entries taken: while 0 (nearly always) a packet pays this one test.
    private(set) var held = 0

    @inline(__always) static func index(_ si: Int) -> Int { si & (entries &- 1) }

    /// Adds `bits`, raised by `raisedBy`'s parser, to direction `si`'s held events; false when
    /// events were overwritten to make room (another direction's, or this direction's of
    /// another protocol).
    mutating func hold(_ si: Int, _ bits: UInt64, raisedBy: AppProto) -> Bool {
        let i = Self.index(si)
        let k = key[i]
        if k == Int32(truncatingIfNeeded: si) && proto[i] == raisedBy {
            word[i] |= bits
            return true
        }
        key[i] = Int32(truncatingIfNeeded: si)
        word[i] = bits
        proto[i] = raisedBy
        if k < 0 { held &+= 1 }
        return k < 0
    }

    /// Direction `si`'s held events (0: none), released. Events another protocol's parser
    /// raised are released too but not returned (`lost` says so): they are not `shown`'s.
    mutating func take(_ si: Int, shown: AppProto) -> (bits: UInt64, lost: Bool) {
        let i = Self.index(si)
        guard key[i] == Int32(truncatingIfNeeded: si) else { return (0, false) }
        let bits = word[i]
        let same = proto[i] == shown
        key[i] = -1
        word[i] = 0
        proto[i] = .unknown
        held &-= 1
        return same ? (bits, false) : (0, true)
    }

    /// The flow direction ended or its slot holds another flow now.
    mutating func clear(_ si: Int) {
        guard held > 0 else { return }
        _ = take(si, shown: .unknown)
    }
}
