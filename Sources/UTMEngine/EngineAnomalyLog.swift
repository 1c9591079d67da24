import UTMCore
import UTMDecode
import UTMFlow
import UTMAppLayer
import UTMOutput

/// EVE `anomaly` events (session 11): the decoder, stream and app-layer anomalies the layers
/// raise (EngineAnomalies.swift) written as Suricata's anomaly log writes them
/// (OutputEVEAnomaly.swift), so an operator sees them in the EVE file (and whatever ships it)
/// without a rule per event name. `utmctl logs ingest` does not keep them: the event store has
/// no anomaly record yet, it counts the lines as ignored.
///
/// Why a flood control Suricata does not have: a hostile sender can raise an anomaly on every
/// packet, and a box with a small disk must not write a line per packet for it. Suricata writes
/// every instance of an event; so does this log (session 12; session 11 wrote only the first of
/// a flow and direction), within three limits:
/// - Every record, of a flow or of a packet without one, needs a token of its event's budget
///   per second (`AnomalyLogConfig.perEventPerSecond`). The budget is per event (per type and
///   name; app-layer events per protocol too) so that a flood of one event cannot silence
///   another, and counts by the engine's `now` (the newest packet time), which never goes back:
///   packets whose time alternates between two seconds do not refill it.
/// - A later instance of an event in the same flow and direction (a repeat: the first is
///   remembered in a few words per flow slot, tagged with the flow id so a reused slot starts
///   clean, the app-layer words also with the protocol) may take only the budget's lower half
///   (`repeatShare`): the upper half stays for first instances, so flows repeating an event
///   (however many) never hide that the event happened in another flow. First instances have
///   no such guard: a sender that opens a new flow per packet (or sends flowless packets)
///   raising the event can still use up the event's whole budget, and then other flows'
///   first instances of that event are only counted (`suppressed`) for the rest of the second.
/// - Repeats of one flow take at most `repeatsPerFlowPerSecond` records a second, all its
///   events together: one flooding flow gets a sample, not the budget of every flow.
/// What is not logged is counted (`stats.anomaly.suppressed`); the layers' own counters still
/// count every event.

/// Which anomaly types are logged: Suricata's `eve-log.types.anomaly.types`.
public struct AnomalyLogTypes: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let decode = AnomalyLogTypes(rawValue: 1)
    public static let stream = AnomalyLogTypes(rawValue: 2)
    public static let applayer = AnomalyLogTypes(rawValue: 4)
    public static let none = AnomalyLogTypes(rawValue: 0)
    public static let all = AnomalyLogTypes(rawValue: 7)

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// `decode,stream,applayer` (any of them, comma-separated), `all` or `none`.
    public static func parse(_ text: String) throws(Failure) -> AnomalyLogTypes {
        var t = AnomalyLogTypes.none
        let words = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingSpaces.lowercased() }
        if words.count == 1 && words[0] == "none" { return .none }
        if words.count == 1 && words[0] == "all" { return .all }
        for w in words {
            switch w {
            case "decode": t.formUnion(.decode)
            case "stream": t.formUnion(.stream)
            case "applayer": t.formUnion(.applayer)
            default:
                throw Failure(description: "'\(text)' is not none, all or a list of decode, stream, applayer")
            }
        }
        return t
    }
}

/// The anomaly log's settings, defaults as Suricata's suricata.yaml: app-layer anomalies on,
/// decoder and stream anomalies off (they are about the network more than about a host).
public struct AnomalyLogConfig: Sendable, Equatable {
    public var types: AnomalyLogTypes = .applayer
    /// Records of one event (e.g. `decoder.ipv4.trunc_pkt`, `dns` `z_flag_set`) per second of
    /// packet time, all flows and flowless packets together; the rest are counted as suppressed.
    /// Why 10: a record is about 350 bytes, so one event flooded all day writes at most
    /// 10 × 350 B/s ≈ 300 MB a day, a share of a small box's flash its log handling can ship or
    /// rotate, while ten records a second still show the operator the flood and a sample of
    /// its senders. Several different events flooding at once add up (each has its own budget, so
    /// none hides another); 0 logs nothing but the counters.
    public var perEventPerSecond = 10
    public init() {}
}

/// The log's state: per flow slot the events already logged, the budgets per event, the
/// app-layer events of the packet being processed and the counters.
struct AnomalyLogState {
    /// `types.rawValue`, read by the per-packet test.
    let types: UInt8
    let perEventPerSecond: Int
    /// Per flow slot: the flow id the logged words belong to (a slot is reused by other flows).
    var flowIDs: [UInt64] = []
    /// Per flow slot: the protocol whose events the slot's app-layer words hold. A flow changes
    /// protocol (HTTP/1 upgraded to HTTP/2); bit k is another event then, so the words restart.
    var appProtos: [AppProto] = []
    /// Per flow slot, `stride` words: for each logged layer (decode, stream, applayer in this
    /// order, those enabled only) the to-server word, then the to-client word.
    var logged: [UInt64] = []
    let stride: Int
    let decodeWord: Int, streamWord: Int, appWord: Int
    /// App-layer events raised during this packet, with the protocol whose parser raised them
    /// (two protocols: an HTTP/1 flow upgraded to HTTP/2 within one packet).
    var notedProto: (AppProto, AppProto) = (.unknown, .unknown)
    var notedEvents: (UInt64, UInt64) = (0, 0)
    /// The transaction of each protocol's events, when its parser knows it (HTTP/1: the
    /// message sequence, libhtp's transaction index); written as `tx_id`.
    var notedTx: (UInt64?, UInt64?) = (nil, nil)
    /// Per event (see `budgetIndex`): the second of the engine's clock its count is for, and
    /// the records written in it. Reserved at start: the check allocates nothing.
    var budgetSecond: [Int64] = []
    var budgetUsed: [Int32] = []
    /// Per flow slot: the second of the engine's clock its repeat count is for, and the repeat
    /// records the flow wrote in it (`repeatsPerFlowPerSecond`).
    var repeatSecond: [Int64] = []
    var repeatUsed: [UInt8] = []
    var written: UInt64 = 0
    var suppressed: UInt64 = 0

    /// Budget slots: decoder bits, stream bits, then app-layer bits per protocol (raw values
    /// below `appProtoSlots`; the rare others share the last).
    static let appProtoSlots = 17
    static let budgetSlots = 64 * (2 + appProtoSlots + 1)
    /// Repeat records one flow may write per second, all its events and directions together.
    /// Why 2: an operator sees that the flow goes on raising the event (and when it stops),
    /// while one flow floods at most two records a second, whatever it sends.
    static let repeatsPerFlowPerSecond = 2

    /// How many of an event's records per second repeats may take: the lower half, rounded
    /// down, so budget 1 keeps its one record for first instances.
    @inline(__always) var repeatShare: Int { perEventPerSecond / 2 }

    init() {
        types = 0; perEventPerSecond = 0; stride = 0; decodeWord = -1; streamWord = -1; appWord = -1
    }

    init(_ config: AnomalyLogConfig, flowSlots: Int) {
        types = config.types.rawValue
        perEventPerSecond = max(0, min(config.perEventPerSecond, Int(Int32.max)))
        var next = 0
        func word(_ t: AnomalyLogTypes) -> Int {
            guard config.types.contains(t) else { return -1 }
            defer { next += 2 }
            return next
        }
        decodeWord = word(.decode)
        streamWord = word(.stream)
        appWord = word(.applayer)
        stride = next
        guard stride > 0 else { return }
        flowIDs = Array(repeating: 0, count: flowSlots)
        if appWord >= 0 { appProtos = Array(repeating: .unknown, count: flowSlots) }
        logged = Array(repeating: 0, count: flowSlots * stride)
        budgetSecond = Array(repeating: Int64.min, count: Self.budgetSlots)
        budgetUsed = Array(repeating: 0, count: Self.budgetSlots)
        repeatSecond = Array(repeating: Int64.min, count: flowSlots)
        repeatUsed = Array(repeating: 0, count: flowSlots)
    }

    @inline(__always) var hasNotes: Bool { notedEvents.0 | notedEvents.1 != 0 }

    /// Remembers what a parser raised for this packet (nothing when app-layer logging is off).
    @inline(__always)
    mutating func noteApp(_ e: AppLayerEvents, _ proto: AppProto, tx: UInt64? = nil) {
        guard types & AnomalyLogTypes.applayer.rawValue != 0 else { return }
        if notedEvents.0 == 0 || notedProto.0 == proto {
            notedProto.0 = proto; notedEvents.0 |= e.rawValue; notedTx.0 = tx
        } else if notedEvents.1 == 0 || notedProto.1 == proto {
            notedProto.1 = proto; notedEvents.1 |= e.rawValue; notedTx.1 = tx
        } else {
            suppressed &+= UInt64(e.rawValue.nonzeroBitCount)
        }
    }

    @inline(__always) mutating func clearNotes() { notedEvents = (0, 0) }

    /// The first word of `slot`, its words cleared when the slot now holds another flow.
    mutating func words(_ slot: Int, flowID: UInt64) -> Int? {
        guard slot >= 0, slot < flowIDs.count else { return nil }
        let base = slot &* stride
        if flowIDs[slot] != flowID {
            flowIDs[slot] = flowID
            for k in 0..<stride { logged[base &+ k] = 0 }
            if slot < appProtos.count { appProtos[slot] = .unknown }
            repeatSecond[slot] = Int64.min
        }
        return base
    }

    /// Makes the slot's app-layer words (both directions) `proto`'s: cleared when they held
    /// another protocol's bits.
    mutating func useAppWords(_ slot: Int, _ base: Int, _ proto: AppProto) {
        guard appWord >= 0, slot >= 0, slot < appProtos.count, appProtos[slot] != proto else { return }
        appProtos[slot] = proto
        logged[base &+ appWord] = 0
        logged[base &+ appWord &+ 1] = 0
    }

    static func budgetIndex(decodeBit bit: Int) -> Int { bit & 63 }
    static func budgetIndex(streamBit bit: Int) -> Int { 64 &+ (bit & 63) }
    static func budgetIndex(app proto: AppProto, bit: Int) -> Int {
        64 &* (2 &+ min(Int(proto.rawValue), appProtoSlots)) &+ (bit & 63)
    }

    /// Whether one more record of event `i` fits its budget in `second` (the engine's `now`,
    /// which never goes back); counted as suppressed when not. `repeatOf`: the flow slot when
    /// the record is a repeat in its flow and direction (-1: a first instance, or no flow), which
    /// then takes the repeats' share of the budget and of the flow's own bound.
    mutating func allowed(_ i: Int, _ second: Int64, repeatOf slot: Int = -1) -> Bool {
        guard i >= 0, i < budgetSecond.count else { suppressed &+= 1; return false }
        if second > budgetSecond[i] { budgetSecond[i] = second; budgetUsed[i] = 0 }
        let limit = slot >= 0 ? repeatShare : perEventPerSecond
        guard Int(budgetUsed[i]) < limit else { suppressed &+= 1; return false }
        if slot >= 0 {
            guard slot < repeatSecond.count else { suppressed &+= 1; return false }
            if second > repeatSecond[slot] { repeatSecond[slot] = second; repeatUsed[slot] = 0 }
            guard Int(repeatUsed[slot]) < Self.repeatsPerFlowPerSecond else { suppressed &+= 1; return false }
            repeatUsed[slot] &+= 1
        }
        budgetUsed[i] &+= 1
        return true
    }
}

extension Engine {
    /// After a packet of a flow went through every layer: its anomalies, within their
    /// budgets. When the log is off this is one test.
    @inline(__always)
    func logAnomalies(_ ref: FlowRef, _ direction: Direction) {
        let t = anomalyLog.types
        guard t != 0 else { return }
        let d = t & AnomalyLogTypes.decode.rawValue != 0 ? packet.events.rawValue : 0
        let s = t & AnomalyLogTypes.stream.rawValue != 0 ? packetStreamEvents.rawValue : 0
        guard d | s != 0 || anomalyLog.hasNotes else { return }
        logFlowAnomalies(ref, direction, decode: d, stream: s)
    }

    /// A packet that reached no flow (undecodable, a held fragment, or no room in the flow
    /// table): its decoder anomalies within their budgets per second.
    @inline(__always)
    func logFlowlessAnomalies() {
        anomalyLog.clearNotes()
        guard anomalyLog.types & AnomalyLogTypes.decode.rawValue != 0, packet.events.rawValue != 0 else { return }
        logFlowlessDecode()
    }

    @inline(never)
    func logFlowAnomalies(_ ref: FlowRef, _ direction: Direction, decode: UInt64, stream: UInt64) {
        defer { anomalyLog.clearNotes() }
        guard flows.isValid(ref) else {
            // The flow ended with this packet (it was removed): its decoder events as a flowless
            // packet's; its app-layer events have no flow to name (counted as not logged).
            if decode != 0 { logFlowlessDecode() }
            anomalyLog.suppressed &+= UInt64(anomalyLog.notedEvents.0.nonzeroBitCount &+ anomalyLog.notedEvents.1.nonzeroBitCount)
            return
        }
        let (id, meta) = flows.reading(ref) { f in (f.id, Engine.endpoints(&f)) }
        let slot = Int(ref.index)
        guard let base = anomalyLog.words(slot, flowID: id) else { return }
        let e = direction == .toServer ? meta : meta.reversed
        let dir = direction.index
        let time = packet.timestamp
        let second = now.seconds
        if decode != 0, anomalyLog.decodeWord >= 0 {
            logEvents(decode, word: base &+ anomalyLog.decodeWord &+ dir, slot: slot, second, DecodeEvents.name(ofBit:),
                      AnomalyLogState.budgetIndex(decodeBit:)) { name, _ in
                self.eve.writePacketAnomaly(.decode, name: name, time: time, e, hasIP: true)
            }
        }
        if stream != 0, anomalyLog.streamWord >= 0 {
            logEvents(stream, word: base &+ anomalyLog.streamWord &+ dir, slot: slot, second, StreamEvents.name(ofBit:),
                      AnomalyLogState.budgetIndex(streamBit:)) { name, _ in
                self.eve.writePacketAnomaly(.stream, name: name, time: time, e, hasIP: true)
            }
        }
        guard anomalyLog.appWord >= 0, anomalyLog.hasNotes else { return }
        let w = base &+ anomalyLog.appWord &+ dir
        let notes = anomalyLog.notedEvents, protos = anomalyLog.notedProto, txs = anomalyLog.notedTx
        if notes.0 != 0 {
            anomalyLog.useAppWords(slot, base, protos.0)
            logAppAnomalies(notes.0, w, slot, protos.0, txs.0, e, time, second)
        }
        if notes.1 != 0 {
            anomalyLog.useAppWords(slot, base, protos.1)
            logAppAnomalies(notes.1, w, slot, protos.1, txs.1, e, time, second)
        }
    }

    /// One layer's events of one packet, the loop the decoder, stream and app-layer records
    /// share: each set bit's name (`name`; bits without one are skipped), a token of its
    /// event's budget (`budget` gives the index), then `write`. With a flow (`w`: the flow
    /// direction's word of this layer, `slot` its flow slot) an event already logged in the
    /// word is a repeat (`AnomalyLogState.allowed(_:_:repeatOf:)`), and a written one is marked;
    /// without (`w` < 0) each instance is a first. An event the budget refused is not marked,
    /// so the flow's next instance is a first again.
    @inline(__always)
    func logEvents(_ events: UInt64, word w: Int, slot: Int, _ second: Int64, _ name: (Int) -> StaticString?,
                   _ budget: (Int) -> Int, write: (StaticString, Int) -> Void) {
        let known = w >= 0 ? anomalyLog.logged[w] : 0
        var bits = events
        while bits != 0 {
            let bit = bits.trailingZeroBitCount
            bits &= bits &- 1
            guard let n = name(bit) else { continue }
            let mask: UInt64 = 1 &<< UInt64(bit)
            guard anomalyLog.allowed(budget(bit), second, repeatOf: known & mask != 0 ? slot : -1) else { continue }
            if w >= 0 { anomalyLog.logged[w] |= mask }
            write(n, bit)
            anomalyLog.written &+= 1
        }
    }

    func logAppAnomalies(_ events: UInt64, _ w: Int, _ slot: Int, _ proto: AppProto, _ txID: UInt64?, _ e: EVEEndpoints,
                         _ time: Timestamp, _ second: Int64) {
        var m = e
        m.appProto = proto
        logEvents(events, word: w, slot: slot, second, { AppLayerEvents.name(proto: proto, bit: $0) },
                  { AnomalyLogState.budgetIndex(app: proto, bit: $0) }) { name, bit in
            let detection = bit >= AppLayerEvents.firstGenericBit
            // Suricata names the events of its C parsers (libhtp's HTTP/1, TLS, protocol
            // detection) in upper case and those of its Rust parsers (DNS, HTTP/2, SSH) in lower.
            let upper = detection || proto == .http || proto == .tls
            // Suricata's tx logger writes the transaction of a parser's events (output-json-
            // anomaly.c); protocol detection's have none. TLS and SSH have one transaction per
            // flow (tx 0); HTTP/1 the one its parser names (libhtp's index, `noteApp`). DNS and
            // HTTP/2 raise events per feed, not per transaction: no tx_id yet.
            let tx: UInt64? = detection ? nil : (proto == .tls || proto == .ssh ? 0 : txID)
            self.eve.writeAppAnomaly(name: name, uppercase: upper, appProto: proto, detection: detection, txID: tx,
                                     time: time, m)
        }
    }

    /// A packet without a flow: every instance is a first, only its events' budgets apply.
    @inline(never)
    func logFlowlessDecode() {
        let e = EVEEndpoints(flowID: 0, src: packet.src, srcPort: packet.srcPort, dst: packet.dst,
                             dstPort: packet.dstPort, ipProto: packet.ipProto, appProto: .unknown,
                             srcMAC: packet.srcMAC, dstMAC: packet.dstMAC)
        let hasIP = packet.ipVersion != 0
        let time = packet.timestamp
        logEvents(packet.events.rawValue, word: -1, slot: -1, now.seconds, DecodeEvents.name(ofBit:),
                  AnomalyLogState.budgetIndex(decodeBit:)) { name, _ in
            self.eve.writePacketAnomaly(.decode, name: name, time: time, e, hasIP: hasIP)
        }
    }

    /// The stats event's `anomaly` object: records written and anomalies not logged (over
    /// their event's budget, its repeat share, or their flow's repeat bound). Only once either
    /// happened, as for the event counters.
    func writeAnomalyLogStats() {
        guard anomalyLog.written | anomalyLog.suppressed != 0 else { return }
        eve.json.key("anomaly"); eve.json.beginObject()
        eve.json.key("logged"); eve.json.uint(anomalyLog.written)
        eve.json.key("suppressed"); eve.json.uint(anomalyLog.suppressed)
        eve.json.endObject()
    }
}
