import UTMCore
import UTMAppLayer
import UTMMatch
import UTMCrypto

/// Counters of one worker's detection.
public struct DetectStats: Sendable {
    public var inspections: UInt64 = 0
    public var candidates: UInt64 = 0
    public var verifications: UInt64 = 0
    public var matches: UInt64 = 0
    /// Alerts held back by threshold / detection_filter.
    public var suppressed: UInt64 = 0
    /// Stream inspections with candidates and kept bytes: the window was available to them.
    public var boundaryWindows: UInt64 = 0
    /// No tail slot was free: boundary-crossing verification was not possible for that flow.
    public var tailPoolExhausted: UInt64 = 0
    /// Stream matches found only over the window (kept earlier bytes + new bytes): a match
    /// that spans segments (README "Stream window, session 6").
    public var windowMatches: UInt64 = 0
    /// Window matches not reported because the kept bytes alone matched: already inspected.
    public var windowRepeats: UInt64 = 0
    /// A pending candidate was overwritten because its direction's pending list was full.
    public var pendingOverflows: UInt64 = 0
    /// Stream rules with an absolute position whose stream inspection was skipped: the bytes
    /// began past the last stream position the rule can match at (README "Stream positions,
    /// session 8").
    public var streamPositionSkips: UInt64 = 0
    /// Stream rules matched on the segment's own bytes with positions from its first byte
    /// (Suricata's packet-payload fallback for rules with a content `depth`/`offset`).
    public var packetFallbackMatches: UInt64 = 0
    public var thresholdEvictions: UInt64 = 0
    /// An HTTP body began with no accumulator free: it was inspected per feed (BodyAccumulators.swift).
    public var bodyPoolExhausted: UInt64 = 0
    /// A body's list of matched signatures was full: a later inspection may alert again.
    public var bodyMatchListFull: UInt64 = 0
    /// HTTP body inspections (in place, accumulated, or per feed).
    public var bodyInspections: UInt64 = 0
    /// Body-phase candidates not verified because the inspected bytes do not begin (end) where
    /// the body does and the signature reads an absolute position from its start (end).
    public var bodyAnchoredSkips: UInt64 = 0
    /// Body pieces of one feed not kept because the piece table was full (sized so it never
    /// is: two per pending HTTP transaction); counted, never silent.
    public var bodyPiecesLost: UInt64 = 0
    /// HTTP/2 bodies whose end marker was lost, inspected and released when their stream ended.
    public var bodyEndsRecovered: UInt64 = 0
    /// A body began while its client host held `DetectConfig.bodyAccumulatorsPerHost`
    /// accumulators, or as many as are left free: inspected per feed (BodyAccumulators.swift),
    /// the pool kept for other hosts.
    public var bodyHostCapped: UInt64 = 0
    /// Held bytes of a transaction whose body never ended, inspected as a cut body when the
    /// next transaction's body took the direction's accumulator (they were dropped unseen).
    public var bodyOrphansInspected: UInt64 = 0
    /// `flowint` changes refused because the flow's entries (`FlowInts.capacity`) were taken.
    public var flowintOverflows: UInt64 = 0
    /// App-layer events held for a direction's next packet rules (PendingAppEvents.swift)
    /// dropped because another direction took their entry.
    public var pendingEventsLost: UInt64 = 0
    public init() {}
}

/// Sizes of a worker's detection state (documented defaults).
public struct DetectConfig: Sendable, Equatable {
    /// Flow slots (the flow table's capacity): per-flow state is indexed by `FlowRef.index`.
    public var flowCapacity: Int = 65536
    /// Bytes of each stream direction kept to verify matches that cross a segment boundary.
    public var tailBytes: Int = 1024
    /// Tail slots shared by all flow directions (a direction holds one while its flow lives).
    public var tailSlots: Int = 8192
    /// Largest stream chunk verified together with its tail; larger chunks are verified alone.
    public var maxWindow: Int = 64 << 10
    /// Per tail slot: signatures whose prefilter pattern was seen in an earlier chunk still
    /// inside the window but which did not match yet; they are verified again over the window
    /// with the next chunk (the rest of their match may be there). Oldest overwritten.
    public static let pendingPerTail = 4
    /// Bytes of each HTTP body (per transaction and direction) that content rules inspect:
    /// Suricata's default request-body-limit and response-body-limit (100 KiB).
    public var bodyInspectLimit: Int = 100 << 10
    /// Body accumulators (BodyAccumulators.swift) shared by all flow directions, and the bytes
    /// each holds. 256 x 40 KiB: 40 KiB holds Suricata's largest minimal inspect size (response,
    /// 40 KiB) and, after a first inspection, the window plus a step of new bytes (24 KiB of a
    /// response, 36 KiB of a request); 256 bodies open at once, each larger than a segment, are
    /// many more than a home or office gateway has in flight (the 100 MB office capture never
    /// had all taken), and the 10 MiB cost RSS only for pages that held a body.
    public var bodyAccumulators: Int = 256
    public var bodyAccumulatorBytes: Int = 40 << 10
    /// HTTP/2 stream bodies one flow direction may accumulate at once (streams interleave);
    /// bounded so one connection cannot take the whole pool.
    public var bodyStreamsPerDirection: Int = 4
    /// Accumulators the flows of one client host may hold at once (a quarter of the pool): a
    /// client opening many slow uploads or downloads cannot leave every other host with
    /// per-feed body inspection. An office client has a handful of bodies in flight. A host
    /// also never holds more than is left free (four hosts at this cap no longer empty the pool).
    /// IPv6 clients are counted per /64.
    public var bodyAccumulatorsPerHost: Int = 64
    /// Buckets of the per-host count (client addresses hashed with a per-process seed).
    public var bodyHostBuckets: Int = 1024
    /// As Suricata's shipped suricata.yaml (libhtp default-config): a body is first inspected
    /// when complete or this large; later inspections repeat the last `window` bytes.
    public var requestBodyMinimal: Int = 32 << 10
    public var requestBodyWindow: Int = 4 << 10
    public var responseBodyMinimal: Int = 40 << 10
    public var responseBodyWindow: Int = 16 << 10
    /// Entries of the threshold/detection_filter tracking table (oldest-overwritten when full).
    public var thresholdEntries: Int = 4096
    /// Entries of the xbits/hostbits table (HostBits.swift), built only when a rule uses them.
    public var hostBitEntries: Int = 16384
    public init() {}
}

/// One worker's detection: prefilter scans, candidate collection, verification, per-flow
/// state (flowbits, streaming matcher state, stream tails); per-host state (thresholds, host
/// bits) is shared with the other workers (`hostState`).
///
/// Why a class: it owns large pre-sized tables mutated from inside the engine's callbacks.
/// Nothing on its inspection paths allocates once built.
public final class DetectEngine {
    public let defs: DetectDefinitions
    /// The file a file inspection is about (session 9): the engine fills it before
    /// `inspectApp` with a file phase and clears it after (Verifier.file).
    public var fileFacts: FileFacts { verifier.file }
    public let config: DetectConfig
    public internal(set) var stats = DetectStats()
    var verifier: Verifier

    // Candidate collection.
    var candidates: [Int32]
    var seen: [UInt32]
    var stamp: UInt32 = 0
    /// Per signature: the packet serial it last matched on (one alert per signature per packet).
    var matchedOn: [UInt64]
    /// Per signature: both its port lists are `any` (`addPortless`, packets whose ports were
    /// not read). Built once per engine: reading the signature per candidate copied it.
    let portless: [Bool]
    public private(set) var packetSerial: UInt64 = 0
    /// What `matchedOn` compares: the packet, and within it each HTTP transaction (or HTTP/2
    /// stream) inspected, so two transactions completing in one packet each alert.
    var matchSerial: UInt64 = 0
    var scratchBits = FlowBits()

    // Per flow slot.
    var flowIDs: [UInt64]
    var bits: [FlowBits]
    /// Per flow slot: `flowint` values (Verify/FlowInts.swift), nil unless a rule uses them;
    /// the verifier holds the same table. Reset wherever `bits` is (`resetFlowInts`).
    public let flowInts: FlowIntTable?
    /// A rule reads `ipv4.hdr`, `tcp.hdr`... (DetectHeaderBuffers.swift): only then are they lent.
    let usesHeaderBuffers: Bool
    /// A rule reads `dns.rrtype` / `dns.rcode`: only then does the engine collect a DNS
    /// message's record types for the facts (UTMEngine's `fillDNSFacts`).
    public let usesDNSRecordFacts: Bool
    var passed: [Bool]
    /// Per flow direction (slot * 2 + direction).
    var states: [MatchState]
    var tailSlot: [Int32]
    var tailLen: [Int32]
    /// Per flow direction: a gap came, so stream offset 0 is no longer the stream's first byte
    /// (anchored rules do not use the window from there).
    var afterGap: [Bool]
    /// Per flow direction: the definitions changed since its kept bytes were scanned
    /// (DetectEngineHandover.swift): the next chunk's scan begins with them, so the new rules'
    /// prefilter patterns in those bytes make candidates as `pending` would have.
    var rescanTail: [Bool]
    /// Per flow direction: open at a definitions update; its next packet meets the header-only
    /// rules the update added (`addedByUpdate`), once (DetectEngineHandover.swift).
    var headerRecheck: [Bool]
    /// Per signature: its gid:sid was not in the definitions the open flows began under.
    var addedByUpdate: [Bool]
    /// This packet's direction was open at the update (`beginHeaderScope`).
    public internal(set) var headerRecheckNow = false
    /// Some flow direction may wait for `headerRecheck`: set by `takeFlows` when the update
    /// added header-only rules, for these definitions' life. The engine calls
    /// `beginHeaderScope` only then: other packets pay one load, not a call.
    public internal(set) var anyHeaderRecheck = false
    let tails: ByteSlab
    var freeTails: [Int32]
    let window: ByteSlab
    /// Per tail slot, `pendingPerTail` entries: signature index (-1: free) and the stream
    /// offset where its prefilter pattern began.
    var pendingSig: [Int32]
    var pendingStart: [Int]
    /// Per signature: the stream offset where its prefilter pattern last began in the current
    /// chunk (valid while `hitStamp[i] == stamp`).
    var hitStart: [Int]
    var hitStamp: [UInt32]
    /// Multi-buffer messages (session 7: a Certificate message's certificates, a DNS message's
    /// names) are inspected once per instance; a signature whose stamp is the current message's
    /// already alerted on an earlier instance (`beginInstances`, `firstInstanceMatch`).
    var instanceStamp: [UInt32]
    var instanceEpoch: UInt32 = 0
    /// A few bytes the engine derives from numbers to lend as a buffer (the QUIC version's 4
    /// bytes), reserved once per worker.
    public let factScratch = ByteSlab(capacity: 16)
    /// The server certificate's text buffers (subject, issuer, serial, fingerprint) of one
    /// Certificate message, and the digest for its fingerprint; reserved once per worker.
    public let certScratch = ByteSlab(capacity: DetectEngine.certScratchBytes)
    public let certDigest = StreamingDigest()
    public static let certScratchBytes = 8 << 10
    /// Per signature: its payload list has an absolute position (offset, depth, startswith,
    /// byte_test without relative...): on a stream it is verified with stream positions
    /// (`Verifier.streamBase`, `streamLimit`, `packetFallback`; README "Stream positions,
    /// session 8").
    let anchored: [Bool]
    /// Per signature (anchored ones): the stream inspection cannot match on bytes that begin
    /// at or past this stream offset (a non-relative content's `offset + depth`; 1 for other
    /// absolute positions, judged only on bytes that begin at the stream's first byte).
    let streamLimit: [Int32]
    /// Per signature: Suricata's `SIG_FLAG_REQUIRE_PACKET` on a stream rule (a non-relative
    /// content with `depth`/`offset`/`startswith`, or `stream_size`, and not
    /// `flow:only_stream`): when the stream does not match, the segment's own bytes are
    /// verified with positions from the segment's first byte.
    let packetFallback: [Bool]

    /// Threshold counters, rate filters and host bits, shared with the other workers' engines
    /// of the same definitions (SharedHostState.swift).
    public let hostState: SharedHostState
    /// threshold.config (EventFilters.swift); nil when none is loaded.
    var eventFilters: EventFilters?
    /// The action a rate_filter gave the match being reported (nil: the signature's own).
    public internal(set) var actionOverride: RuleAction?
    /// The match being reported acts without an alert: a drop/reject rule past its `limit`
    /// (EventFilters.swift, `ThresholdVerdict.silent`).
    public internal(set) var thresholdSilent = false
    /// Set by the engine for a TCP packet whose payload no stream carries: stream rules read
    /// the packet, and what they decide applies to the packet only (RuleScope.swift).
    public var streamAsPacket = false
    /// Set by the engine after a flow direction's first packet: header-only rules are not
    /// evaluated again for that direction (Suricata's IP-only rules).
    public var headerRulesDone = false
    /// The packet serial of the last drop or reject match (RuleScope.swift).
    var dropSerial: UInt64 = 0
    var progressStore: [UInt32]
    /// App-layer events raised where packet rules could not see the flow's protocol, for the
    /// direction's next packet rules (PendingAppEvents.swift).
    var pendingAppEvents: PendingAppEvents
    /// Per flow direction: the HTTP transaction whose body is being inspected, and its bytes so far.
    var bodySequence: [UInt32]
    var bodyBytes: [Int32]
    var alerted: [Bool]
    /// Per flow direction: the header buffers of the transaction whose body is being inspected
    /// (`bodySequence`) gave no body-phase candidate. They do not change while its body
    /// arrives, so later body segments skip rescanning them (26 M of 568 M instructions on
    /// the 10 MB capture were such rescans).
    var headersQuiet: [Bool]
    /// Body bytes the parser delivered during one feed (`collectBody`), as pieces of up to
    /// `bodyPieceLimit` transactions: a feed that ends one body and begins the next keeps both.
    let body: ByteSlab
    var bodyLen = 0
    var pieceTx: [Int32]
    var pieceDirection: [Direction]
    var pieceStart: [Int32]
    var pieceLength: [Int32]
    var pieceEnded: [Bool]
    /// The piece ends where bytes were cut (room of the feed, a gap, the flow's end before
    /// the declared length), not where the body does: `endswith`/`bsize` are not judged on it.
    var pieceTruncated: [Bool]
    var pieceCount = 0
    /// At least two pieces per transaction the HTTP parser holds at once (both directions are
    /// read from one feed at a flow's end), so no transaction's body is cut from a feed
    /// (`reserveBodyPieces`).
    static let bodyPieceLimit = 2 * HTTPConfig().maxPendingTransactions
    var pieceLimit = DetectEngine.bodyPieceLimit
    /// Set by the engine while one feed's pieces are read for both directions (a flow's end).
    public var keepBodyPieces = false
    /// Per-transaction body accumulation (BodyAccumulators.swift): the pool, each flow
    /// direction's accumulator (-1: none), the inspection under way.
    var bodies: BodyAccumulators
    var bodyAcc: [Int32]
    /// Per flow direction: HTTP/2 stream accumulators held (BodyAccumulators.swift).
    var bodyStreamHeld: [UInt8]
    var bodyScope = BodyScope()
    let bodyHeadAnchored: [Bool]
    let bodyTailAnchored: [Bool]
    /// Per signature: a bsize on a body buffer, judged on the body's length (BodyAccumulators.swift).
    let bodySized: [Bool]
    /// Some signature reads a body buffer's end (endswith, bsize).
    let hasTailAnchored: Bool
    /// The body being fed was cut at the inspection limit, not ended: its length is unknown.
    var bodyCutAtLimit = false

    /// `sharing`: another worker's engine state for the same definitions (utmd's workers);
    /// ignored unless it was built for the same rules (`SharedHostState.fits`). A reload
    /// carries the running state over with `hostState.carry(from:now:)`.
    public init(definitions: DetectDefinitions, config: DetectConfig = .init(), sharing: SharedHostState? = nil) {
        defs = definitions
        self.config = config
        // Every transformed list has a derived slot unless the set has more chains than
        // slots, and then `derived` is full: empty means no transforms, no arena.
        verifier = Verifier(derived: DerivedBuffers(arenaBytes: definitions.derived.isEmpty ? 0 : DerivedBuffers.defaultArenaBytes))
        let n = definitions.count
        candidates = []
        candidates.reserveCapacity(n + 1)
        seen = Array(repeating: 0, count: n)
        matchedOn = Array(repeating: 0, count: n)
        portless = definitions.boxes.map { $0.sig.sourcePorts.isAny && $0.sig.destinationPorts.isAny }
        let cap = Swift.max(1, config.flowCapacity)
        flowIDs = Array(repeating: 0, count: cap)
        bits = Array(repeating: FlowBits(), count: cap)
        flowInts = definitions.usesFlowInts ? FlowIntTable(slots: cap) : nil
        usesHeaderBuffers = BufferID.allCases.contains { $0.isPacketHeader && definitions.usesBuffer[Int($0.rawValue)] }
        usesDNSRecordFacts = definitions.boxes.contains { box in
            box.sig.headerMatches.contains {
                switch $0 {
                case .dnsRRType, .dnsRcode: return true
                default: return false
                }
            }
        }
        passed = Array(repeating: false, count: cap)
        states = Array(repeating: MatchState(), count: cap * 2)
        tailSlot = Array(repeating: -1, count: cap * 2)
        pendingAppEvents = PendingAppEvents(directions: cap * 2)
        tailLen = Array(repeating: 0, count: cap * 2)
        afterGap = Array(repeating: false, count: cap * 2)
        rescanTail = Array(repeating: false, count: cap * 2)
        headerRecheck = Array(repeating: false, count: cap * 2)
        addedByUpdate = Array(repeating: false, count: n)
        let slots = Swift.max(0, config.tailSlots)
        tails = ByteSlab(capacity: slots * config.tailBytes)
        freeTails = (0 ..< Int32(slots)).reversed().map { $0 }
        window = ByteSlab(capacity: config.tailBytes + config.maxWindow)
        pendingSig = Array(repeating: -1, count: slots * DetectConfig.pendingPerTail)
        pendingStart = Array(repeating: 0, count: slots * DetectConfig.pendingPerTail)
        hitStart = Array(repeating: 0, count: n)
        hitStamp = Array(repeating: 0, count: n)
        instanceStamp = Array(repeating: 0, count: n)
        anchored = definitions.boxes.map { DetectEngine.isAnchored($0.sig) }
        let positions = definitions.boxes.map { DetectEngine.streamPositions($0.sig) }
        streamLimit = positions.map { $0.limit }
        packetFallback = positions.map { $0.packetFallback }
        if let shared = sharing, shared.fits(definitions) {
            hostState = shared
            // Datasets: this worker's sets forward to the first worker's (one set per
            // definitions set, as Suricata's process-wide sets).
            shared.adoptDatasets(of: definitions)
        } else {
            hostState = SharedHostState(definitions: definitions, config: config)
        }
        progressStore = Array(repeating: 0, count: cap * 2)
        bodySequence = Array(repeating: 0, count: cap * 2)
        bodyBytes = Array(repeating: 0, count: cap * 2)
        alerted = Array(repeating: false, count: cap)
        headersQuiet = Array(repeating: false, count: cap * 2)
        body = ByteSlab(capacity: config.maxWindow)
        pieceTx = Array(repeating: -1, count: DetectEngine.bodyPieceLimit)
        pieceDirection = Array(repeating: .toServer, count: DetectEngine.bodyPieceLimit)
        pieceStart = Array(repeating: 0, count: DetectEngine.bodyPieceLimit)
        pieceLength = Array(repeating: 0, count: DetectEngine.bodyPieceLimit)
        pieceEnded = Array(repeating: false, count: DetectEngine.bodyPieceLimit)
        pieceTruncated = Array(repeating: false, count: DetectEngine.bodyPieceLimit)
        // An accumulator must hold a first inspection's bytes and leave room after its window.
        let accBytes = Swift.max(config.bodyAccumulatorBytes, config.requestBodyMinimal, config.responseBodyMinimal,
                                 Swift.max(config.requestBodyWindow, config.responseBodyWindow) &+ 1024)
        bodies = BodyAccumulators(slots: config.bodyAccumulators, capacity: accBytes, hostBuckets: config.bodyHostBuckets)
        bodyAcc = Array(repeating: -1, count: cap * 2)
        bodyStreamHeld = Array(repeating: 0, count: cap * 2)
        let anchors = definitions.boxes.map { DetectEngine.bodyAnchors($0.sig) }
        bodyHeadAnchored = anchors.map { $0.head }
        bodyTailAnchored = anchors.map { $0.tail }
        bodySized = anchors.map { $0.sized }
        hasTailAnchored = anchors.contains { $0.tail || $0.sized }
        verifier.reserveBase64(definitions.base64Capacity)
        verifier.hostBits = hostState.hostBits
        verifier.flowInts = flowInts
    }

    // MARK: Flow state

    /// Call once per packet before any inspection: starts a new "alert once per packet" scope.
    public func beginPacket() {
        packetSerial &+= 1; matchSerial &+= 1
        if let t = flowInts { stats.flowintOverflows = t.overflows }
    }

    /// A new HTTP transaction (stream) of the packet is inspected: a signature that matched the
    /// previous one may match this one too.
    public func beginTransaction() { matchSerial &+= 1 }

    /// The detection slot of a flow, reset when the table slot now holds a different flow.
    public func flowSlot(index: Int32, flowID: UInt64) -> Int {
        let i = Int(index)
        guard i >= 0 && i < flowIDs.count else { return -1 }
        if flowIDs[i] != flowID {
            flowIDs[i] = flowID
            resetSlot(i)
        }
        return i
    }

    func resetSlot(_ i: Int) {
        bits[i].removeAll()
        flowInts?.reset(i)
        passed[i] = false
        alerted[i] = false
        for d in 0 ..< 2 {
            states[i &* 2 &+ d].reset()
            tailLen[i &* 2 &+ d] = 0
            afterGap[i &* 2 &+ d] = false
            rescanTail[i &* 2 &+ d] = false
            headerRecheck[i &* 2 &+ d] = false
            clearPending(i &* 2 &+ d)
            pendingAppEvents.clear(i &* 2 &+ d)
            progressStore[i &* 2 &+ d] = 0
            bodySequence[i &* 2 &+ d] = 0
            bodyBytes[i &* 2 &+ d] = 0
            headersQuiet[i &* 2 &+ d] = false
            releaseBody(i &* 2 &+ d)
            releaseStreams(i &* 2 &+ d)
        }
    }

    /// The flow ended: give back its tails.
    public func endFlow(index: Int32) {
        let i = Int(index)
        guard i >= 0 && i < flowIDs.count else { return }
        for d in 0 ..< 2 {
            let si = i &* 2 &+ d
            clearPending(si)
            pendingAppEvents.clear(si)
            if tailSlot[si] >= 0 { freeTails.append(tailSlot[si]) }
            tailSlot[si] = -1
            tailLen[si] = 0
            rescanTail[si] = false
            headerRecheck[si] = false
            states[si].reset()
            releaseBody(si)
            releaseStreams(si)
        }
        flowIDs[i] = 0
        passed[i] = false
        bits[i].removeAll()
        flowInts?.reset(i)
    }

    /// A pass rule matched on this (TCP) flow: no more detection for it.
    public func isPassed(_ slot: Int) -> Bool { slot >= 0 && passed[slot] }

    public func flowbits(_ slot: Int) -> FlowBits { slot >= 0 ? bits[slot] : FlowBits() }

    // MARK: Inspection points

    /// Per-packet rules on the packet payload (`payload` may be empty).
    /// `onMatch(signatureIndex, alert)` is called for each matching signature, in evaluation
    /// order; returns true when a pass rule matched.
    @discardableResult
    public func inspectPacket(_ facts: PacketFacts, payload: ByteView, headers: PacketHeaderViews = .none, slot: Int, time: Int64,
                              _ onMatch: (Int, Bool) -> Void) -> Bool {
        if slot >= 0 && passed[slot] { return true }
        // Only with event rules may the facts change (held app events): a copy then; otherwise
        // they are read in place (a mutable copy for every packet cost 3 M instructions on the
        // 10 MB capture).
        if defs.hasEventRules && slot >= 0 {
            var gated = facts
            gateAppEvents(&gated, slot)
            return inspectPacketFacts(gated, payload: payload, headers: headers, slot: slot, time: time, onMatch)
        }
        return inspectPacketFacts(facts, payload: payload, headers: headers, slot: slot, time: time, onMatch)
    }

    @inline(__always)
    func inspectPacketFacts(_ facts: PacketFacts, payload: ByteView, headers: PacketHeaderViews, slot: Int, time: Int64,
                            _ onMatch: (Int, Bool) -> Void) -> Bool {
        beginCandidates()
        let pc = ProtoClass.of(facts.ipProto)
        let tcp = pc == .tcp && !streamAsPacket
        var set: CompiledPatternSet?
        switch pc {
        case .tcp:
            if !tcp {
                set = defs.patternSets[0]
            } else if payload.count > DetectDefinitions.largePayload && facts.direction != nil {
                // A full-size segment: only rules whose dsize and direction admit it.
                set = defs.largePacketSets[facts.direction == .toServer ? 0 : 1]
            } else {
                set = defs.packetPayloadSet
            }
        case .udp:
            // By port (PortPatternSets); the rare packet two keys apply to takes the full set.
            let s = defs.udpPayloadSets.select(source: facts.sourcePort, destination: facts.destinationPort)
            set = s.fallback ? defs.patternSets[0] : s.set
        case .icmp: set = defs.icmpPayloadSet
        case .other: set = defs.patternSets[0]
        }
        if !payload.isEmpty, let set {
            // TCP: only packet-point patterns (stream rules see the payload in `inspectStream`),
            // unless no stream carries this packet (`streamAsPacket`, RuleScope.swift).
            let points = defs.points
            set.scan(payload) { id, _ in
                let i = Int(id)
                let p = points[i]
                if p == .packet || (p == .stream && !tcp) { self.add(i) }
            }
        }
        let dc = DirectionClass.of(facts.direction)
        addGroup(defs.alwaysPacket[pc.rawValue &* DirectionClass.count &+ dc.rawValue], facts)
        if !facts.anomalies.isEmpty { addGroup(defs.eventPacket[pc.rawValue &* DirectionClass.count &+ dc.rawValue], facts) }
        if !tcp { addGroup(defs.alwaysStream[dc.rawValue], facts) }
        guard !candidates.isEmpty else { return false }
        var buffers = InspectionBuffers()
        buffers[.payload] = payload
        if usesHeaderBuffers { headers.fill(&buffers, ipVersion: facts.ipVersion, ipProto: facts.ipProto) }
        var f = facts
        f.isStream = false
        return run(f, buffers, slot: slot, time: time, passOnFlow: tcp, onMatch)
    }

    /// Protocol app-layer events of a packet whose rules see no protocol (IDS mode's hidden
    /// protocol) wait for the direction's next packet that sees it (PendingAppEvents.swift).
    @inline(__always)
    func gateAppEvents(_ f: inout PacketFacts, _ slot: Int) {
        guard let d = f.direction else { return }
        let si = slot &* 2 &+ d.index
        if f.appProto == .unknown {
            let bits = f.anomalies.app & PendingAppEvents.protocolBits
            // Bits whose protocol the engine did not name cannot be read later: not held.
            if bits != 0 && f.anomalies.appRaisedBy != .unknown
                && !pendingAppEvents.hold(si, bits, raisedBy: f.anomalies.appRaisedBy) {
                stats.pendingEventsLost &+= 1
            }
        } else if pendingAppEvents.held > 0 {
            let t = pendingAppEvents.take(si, shown: f.appProto)
            f.anomalies.app |= t.bits
            if t.lost { stats.pendingEventsLost &+= 1 }
        }
    }

    /// A packet the decoder could not read whole: it failed to decode, or is a fragment held
    /// for reassembly. The event rules (`decode-event` on `pkthdr`/`ip` rules) meet it when it
    /// raised anomalies. When its IP header is sound (`headerRules`: a fragment, or a datagram
    /// whose transport header could not be read) so do the packet rules that need no payload
    /// and no ports, as in Suricata, which gives such a packet its IP protocol and no ports or
    /// payload: blocklists (`ip` rules, Suricata's IP-only rules), `fragbits`/`fragoffset`,
    /// `tcp any any` rules. Rules that read a payload or name ports never match it.
    @discardableResult
    public func inspectUndecoded(_ facts: PacketFacts, headerRules: Bool, time: Int64,
                                 _ onMatch: (Int, Bool) -> Void) -> Bool {
        let events = !facts.anomalies.isEmpty && defs.hasEventRules
        guard events || headerRules else { return false }
        beginCandidates()
        let group = ProtoClass.of(facts.ipProto).rawValue &* DirectionClass.count &+ DirectionClass.of(facts.direction).rawValue
        // No ports were read: only rules whose ports are both `any` (Suricata: a fragment meets
        // no rule without SIG_FLAG_SP_ANY and SIG_FLAG_DP_ANY); `any !53` and `0:1023` do not.
        if events { addPortless(defs.eventPacket[group]) }
        if headerRules { addPortless(defs.alwaysPacket[group]) }
        guard !candidates.isEmpty else { return false }
        var f = facts
        f.isStream = false
        return run(f, InspectionBuffers(), slot: -1, time: time, passOnFlow: false, onMatch)
    }

    /// An in-order chunk of one TCP stream direction. The prefilter keeps its state across
    /// chunks. Each candidate is verified on the new bytes; one that does not match there is
    /// verified again over the window: the direction's kept tail (the last `tailBytes`
    /// in-order bytes already inspected) followed by the new bytes, so a match whose parts
    /// lie in different segments is found once (Suricata's inline sliding window). A window
    /// match that the kept bytes alone also give is not reported: those bytes were inspected
    /// before (Suricata's raw progress). Signatures whose prefilter pattern was seen in an
    /// earlier chunk still inside the window are candidates again (`pending`).
    ///
    /// `streamOffset` is the stream offset of the chunk's first byte (`StreamChunk.streamOffset`:
    /// 0 is the first byte after the SYN or the first byte seen midstream, lost bytes count);
    /// rules with absolute positions count them from there (README "Stream positions,
    /// session 8"). nil: the engine counts the bytes it was given, and after a gap the
    /// position is unknown (absolute positions then match only through the packet fallback).
    @discardableResult
    public func inspectStream(_ facts: PacketFacts, chunk: ByteView, gap: Bool, streamOffset: UInt64? = nil,
                              direction: Direction, slot: Int, time: Int64, _ onMatch: (Int, Bool) -> Void) -> Bool {
        guard slot >= 0 else { return false }
        if passed[slot] { return true }
        let si = slot &* 2 &+ direction.index
        if gap {
            states[si].reset()
            tailLen[si] = 0
            afterGap[si] = true
            clearPending(si)
        }
        beginCandidates()
        let chunkStart = states[si].offset
        let tl = Int(tailLen[si])
        // Stream-point patterns of the signatures this direction's ports admit
        // (DetectDefinitions.streamPayloadSets). The choice depends on the ports only, so every
        // chunk of a direction meets the same automaton and its state. When two keys apply
        // (rare) the full payload set runs, filtered to stream-point signatures.
        let sel = defs.streamPayloadSets.select(source: facts.sourcePort, destination: facts.destinationPort)
        if let set = sel.fallback ? defs.patternSets[0] : sel.set {
            let lens = defs.prefilterLength
            let points = defs.points
            let all = sel.fallback
            let st = stamp
            // After a definitions update the kept bytes are scanned first (part 0), from a fresh
            // automaton state at their stream offset; otherwise only the chunk (part 1).
            let kept = rescanTail[si] ? keptBytes(si) : nil
            if kept != nil {
                var fresh = MatchState()
                fresh.skip(chunkStart &- tl)
                states[si] = fresh
            }
            rescanTail[si] = false
            var part = kept == nil ? 1 : 0
            while part < 2 {
                set.scan(part == 0 ? kept ?? chunk : chunk, state: &states[si]) { id, end in
                    let i = Int(id)
                    if all && points[i] != .stream { return }
                    self.add(i)
                    // The last occurrence in the chunk: it stays inside the window longest.
                    self.hitStamp[i] = st
                    self.hitStart[i] = end &- Int(lens[i])
                }
                part &+= 1
            }
        } else {
            // No stream patterns: keep the stream offset counting for the window.
            states[si].skip(chunk.count)
            rescanTail[si] = false
        }
        addPending(si, windowStart: chunkStart &- tl)
        addGroup(defs.alwaysStream[DirectionClass.of(facts.direction).rawValue], facts)
        var passedNow = false
        if !candidates.isEmpty {
            var f = facts
            f.isStream = true
            // One table, its payload view switched between the new bytes, the window and the
            // kept bytes alone (three tables and an optional copy cost ~5 KB of stores a chunk).
            var buffers = InspectionBuffers()
            buffers[.payload] = chunk
            var windowView: ByteView? = nil
            var tailView = ByteView.empty
            if tl > 0 && chunk.count <= config.maxWindow && tailSlot[si] >= 0,
               let tail = tails.view(Int(tailSlot[si]) &* config.tailBytes, tl) {
                window.write(tail, at: 0)
                window.write(chunk, at: tl)
                if let w = window.view(0, tl &+ chunk.count), let t = window.view(0, tl) {
                    windowView = w
                    tailView = t
                }
            }
            // Stream offsets of the new bytes and of the window; past `unknownBase` when a gap
            // of unknown size came (no caller offset).
            let chunkBase: Int
            if let o = streamOffset {
                chunkBase = Int(Swift.min(o, UInt64(DetectEngine.unknownBase)))
            } else {
                chunkBase = afterGap[si] ? DetectEngine.unknownBase : chunkStart
            }
            passedNow = runStream(f, &buffers, chunk: chunk, window: windowView, tail: tailView,
                                  chunkBase: chunkBase, windowBase: Swift.max(0, chunkBase &- tl),
                                  slot: slot, si: si, time: time, onMatch)
        }
        keepTail(si, chunk)
        return passedNow
    }

    /// `run` for a stream chunk: each candidate on the new bytes, then over the window.
    /// A candidate whose prefilter pattern was seen in this chunk and did not match joins
    /// the direction's pending list; one that matched leaves it.
    /// `buffers` holds `chunk` as its payload on entry and on return; `window` (the kept tail
    /// and the chunk) and `tail` (the kept bytes alone) replace it for the window trials.
    func runStream(_ facts: PacketFacts, _ buffers: inout InspectionBuffers, chunk: ByteView, window: ByteView?,
                   tail: ByteView, chunkBase: Int, windowBase: Int,
                   slot: Int, si: Int, time: Int64, _ onMatch: (Int, Bool) -> Void) -> Bool {
        stats.candidates &+= UInt64(candidates.count)
        if candidates.count > 1 { sortCandidates() }
        if window != nil { stats.boundaryWindows &+= 1 }
        var k = 0
        let n = candidates.count
        let boxes = defs.boxes
        let st = stamp
        // Transformed buffers are cached per inspection: computed again when the verified
        // bytes change between the new bytes, the window and the kept bytes.
        var derivedOther = false
        verifier.flowSlot = slot
        // A stream always has its flow: `flowless` is left set by a flowless packet's `run`.
        verifier.flowless = false
        while k < n {
            let i = Int(candidates[k])
            k &+= 1
            if matchedOn[i] == matchSerial { continue }
            if headerOnlyDone(i) { continue }
            let box = boxes[i]
            if derivedOther { verifier.derived.begin(); derivedOther = false }
            // Absolute positions count from the stream's first byte (Suricata's stream
            // inspection): a rule whose positions all lie before these bytes is not verified
            // on them.
            let anchor = anchored[i]
            let limit = anchor ? Int(streamLimit[i]) : Int.max
            var r = VerifyResult.noMatch
            if chunkBase < limit {
                stats.verifications &+= 1
                verifier.streamBase = anchor ? chunkBase : 0
                r = verifier.verify(signature: box, packet: facts, buffers: buffers, flowbits: &bits[slot])
            } else {
                stats.streamPositionSkips &+= 1
            }
            if case .noMatch = r, let wb = window, windowBase < limit {
                stats.verifications &+= 1
                verifier.streamBase = anchor ? windowBase : 0
                verifier.derived.begin()
                derivedOther = true
                // A trial: its flowbit, flowint and host-bit changes are kept only if the match
                // is new (a repeat over the kept bytes must not count a brute-force attempt twice).
                var trial = bits[slot]
                verifier.flowIntChanges = false
                buffers[.payload] = wb
                let w = verifier.verify(signature: box, packet: facts, buffers: buffers, flowbits: &trial)
                if case .match = w {
                    // Already inspected if the kept bytes alone match (flowbits untouched).
                    verifier.derived.begin()
                    var old = bits[slot]
                    buffers[.payload] = tail
                    let repeated = verifier.verify(signature: box, packet: facts, buffers: buffers, flowbits: &old)
                    if case .match = repeated {
                        stats.windowRepeats &+= 1
                    } else {
                        bits[slot] = trial
                        verifier.applyChanges(box, facts)
                        stats.windowMatches &+= 1
                        r = w
                    }
                }
                verifier.flowIntChanges = true
                buffers[.payload] = chunk
            }
            verifier.streamBase = 0
            // Suricata's packet-payload fallback (DetectEngineInspectRulePayloadMatches): a
            // rule with a content depth/offset is also verified on the segment's own bytes
            // counted from their first byte. At the stream's first byte that was done above.
            if case .noMatch = r, anchor, packetFallback[i], chunkBase != 0 {
                stats.verifications &+= 1
                if derivedOther { verifier.derived.begin(); derivedOther = false }
                r = verifier.verify(signature: box, packet: facts, buffers: buffers, flowbits: &bits[slot])
                if case .match = r { stats.packetFallbackMatches &+= 1 }
            }
            guard case .match(let alert) = r else {
                if hitStamp[i] == st { notePending(si, i, start: hitStart[i]) }
                continue
            }
            dropPending(si, i)
            stats.matches &+= 1
            matchedOn[i] = matchSerial
            guard let action = filteredAction(i, box.sig, facts, time) else { stats.suppressed &+= 1; continue }
            if action == .pass {
                if passAppliesToFlow(i, true) { passed[slot] = true }
                return true
            }
            if thresholdSilent { stats.suppressed &+= 1 }
            onMatch(i, alert && !thresholdSilent)
        }
        return false
    }

    /// HTTP, TLS or DNS buffers the caller filled. Every present buffer is scanned with its
    /// automaton; only signatures evaluated at `point` are verified.
    @discardableResult
    public func inspectApp(_ point: InspectionPoint, phase: UInt8 = 1, _ facts: PacketFacts,
                           buffers: InspectionBuffers, slot: Int, time: Int64,
                           _ onMatch: (Int, Bool) -> Void) -> Bool {
        inspectApp(point, phaseMask: phase < 8 ? 1 << phase : 0, facts, buffers: buffers, slot: slot, time: time, onMatch)
    }

    /// The same for several phases at once (bit `1 << phase` each): HTTP headers and a body
    /// that arrive in one feed are scanned once, not once per phase.
    @discardableResult
    public func inspectApp(_ point: InspectionPoint, phaseMask: UInt8, _ facts: PacketFacts,
                           buffers: InspectionBuffers, slot: Int, time: Int64,
                           _ onMatch: (Int, Bool) -> Void) -> Bool {
        if slot >= 0 && passed[slot] { return true }
        beginCandidates()
        let points = defs.points, phases = defs.phases
        // Body phases only (2: request body, 4: response body): only body-phase patterns can
        // make a candidate, in every buffer (DetectDefinitions.bodyPhaseSets).
        let bodyOnly = point == .http && phaseMask & ~UInt8(1 << 2 | 1 << 4) == 0
        // A body segment of a transaction whose header buffers were found quiet (no body-phase
        // candidate) scans the body buffers only. The caller records the body bytes of the
        // transaction (`bodyInspected`) before this call, which keys the flag to it.
        var si = -1
        if bodyOnly && slot >= 0, let d = facts.direction { si = slot &* 2 &+ d.index }
        let skipHeaders = si >= 0 && headersQuiet[si]
        var headerHits = false
        // The buffers the caller filled, in id order (id 0, the payload, is not an app buffer).
        var next = buffers.nextPresent(after: 0)
        while let b = next, b < BufferID.count {
            next = buffers.nextPresent(after: b)
            let isBody = b == DetectEngine.fileDataRaw || b == DetectEngine.serverBodyRaw || b == DetectEngine.clientBodyRaw
            if !(skipHeaders && !isBody), let set = bodyOnly ? defs.bodyPhaseSets[b] : defs.patternSets[b],
               let id = BufferID(rawValue: UInt8(b)), let view = buffers[id] {
                set.scan(view) { id, _ in
                    let i = Int(id)
                    if points[i] == point && (1 << phases[i]) & phaseMask != 0 {
                        self.add(i)
                        if !isBody { headerHits = true }
                    }
                }
            }
        }
        // Derived buffers (a buffer through a transform chain) that carry prefilter patterns:
        // computed here once into the verifier's cache, which verification then reads.
        let derived = defs.derived
        var d = 0
        while d < derived.count {
            let spec = derived[d]
            let raw = Int(spec.buffer.rawValue)
            let isBody = raw == DetectEngine.fileDataRaw || raw == DetectEngine.serverBodyRaw || raw == DetectEngine.clientBodyRaw
            if !(skipHeaders && !isBody), let set = bodyOnly ? defs.bodyPhaseSets[BufferID.count &+ d] : defs.patternSets[BufferID.count &+ d],
               let base = buffers[spec.buffer],
               let view = verifier.derived.view(slot: d &+ 1, base: base, chain: spec.chain) {
                set.scan(view) { id, _ in
                    let i = Int(id)
                    if points[i] == point && (1 << phases[i]) & phaseMask != 0 {
                        self.add(i)
                        if !isBody { headerHits = true }
                    }
                }
            }
            d &+= 1
        }
        if si >= 0 && !skipHeaders && !headerHits { headersQuiet[si] = true }
        let dirs = DirectionClass.count
        let dc = DirectionClass.of(facts.direction).rawValue
        var phase = 1
        // HTTP's file phases 5 and 6 (session 9); other points have phases up to 4.
        let lastPhase = point == .http ? Int(DetectDefinitions.fileClosePhase) : 4
        while phase <= lastPhase {
            if (1 << phase) & Int(phaseMask) != 0 {
                switch point {
                case .http: addGroup(defs.alwaysHTTP[phase &* dirs &+ dc], facts)
                case .tls: addGroup(defs.alwaysTLS[phase &* dirs &+ dc], facts)
                case .dns: addGroup(defs.alwaysDNS[phase &* dirs &+ dc], facts)
                case .ssh: addGroup(defs.alwaysSSH[phase &* dirs &+ dc], facts)
                case .smb: addGroup(defs.alwaysSMB[phase &* dirs &+ dc], facts)
                case .dcerpc: addGroup(defs.alwaysDCERPC[phase &* dirs &+ dc], facts)
                case .smtp: addGroup(defs.alwaysSMTP[phase &* dirs &+ dc], facts)
                case .packet, .stream: break
                }
            }
            phase &+= 1
        }
        guard !candidates.isEmpty else { return false }
        return run(facts, buffers, slot: slot, time: time, passOnFlow: facts.ipProto == 6, onMatch)
    }

    static let fileDataRaw = Int(BufferID.fileData.rawValue)
    static let serverBodyRaw = Int(BufferID.httpServerBody.rawValue)
    static let clientBodyRaw = Int(BufferID.httpClientBody.rawValue)

    /// A multi-buffer message begins: its instances are inspected one by one next.
    public func beginInstances() {
        instanceEpoch &+= 1
        if instanceEpoch == 0 {
            // Wrapped after 2^32 messages: clear so an old stamp cannot equal the new epoch.
            var i = 0
            while i < instanceStamp.count { instanceStamp[i] = 0; i &+= 1 }
            instanceEpoch = 1
        }
    }

    /// Whether signature `i`'s match on this instance is its first in the message (Suricata
    /// alerts once per transaction whichever instances matched); marks it.
    public func firstInstanceMatch(_ i: Int) -> Bool {
        guard i >= 0 && i < instanceStamp.count else { return true }
        if instanceStamp[i] == instanceEpoch { return false }
        instanceStamp[i] = instanceEpoch
        return true
    }

    /// Whether any signature inspects `id` (the engine skips filling unused buffers).
    public func uses(_ id: BufferID) -> Bool { defs.usesBuffer[Int(id.rawValue)] }

    // MARK: Candidates and verification

    @inline(__always)
    func beginCandidates() {
        candidates.removeAll(keepingCapacity: true)
        verifier.derived.begin()
        stamp &+= 1
        if stamp == 0 {
            for i in seen.indices { seen[i] = 0 }
            for i in hitStamp.indices { hitStamp[i] = 0 }
            stamp = 1
        }
        stats.inspections &+= 1
    }

    @inline(__always)
    func add(_ i: Int) {
        if seen[i] != stamp {
            seen[i] = stamp
            candidates.append(Int32(i))
        }
    }

    /// The rules of `g` that name no port (`PortGroup.any` also holds rules whose port lists
    /// cannot be indexed, such as negations: those are left out).
    func addPortless(_ g: PortGroup) {
        let list = g.any
        var k = 0
        while k < list.count {
            let i = Int(list[k])
            if portless[i] { add(i) }
            k &+= 1
        }
    }

    func addAll(_ list: [Int32]) {
        var k = 0
        let n = list.count
        while k < n {
            add(Int(list[k]))
            k &+= 1
        }
    }

    /// Evaluation order without the standard library's sort, which may take a temporary
    /// buffer from the heap: insertion sort for the usual handful, heapsort beyond.
    func sortCandidates() {
        let n = candidates.count
        if n <= 32 {
            var i = 1
            while i < n {
                let v = candidates[i]
                var j = i &- 1
                while j >= 0 && candidates[j] > v {
                    candidates[j &+ 1] = candidates[j]
                    j &-= 1
                }
                candidates[j &+ 1] = v
                i &+= 1
            }
            return
        }
        var start = n / 2 &- 1
        while start >= 0 { siftDown(start, n); start &-= 1 }
        var end = n &- 1
        while end > 0 {
            swapCandidates(0, end)
            siftDown(0, end)
            end &-= 1
        }
    }

    /// Heap sort's step. A method with plain subscript swaps: the nested function and
    /// `Array.swapAt` it used allocated in debug builds (about ten times per candidate on a
    /// packet meeting more than 32 rules, e.g. many decoder event rules).
    func siftDown(_ start: Int, _ end: Int) {
        var root = start
        while true {
            var child = root &* 2 &+ 1
            if child >= end { return }
            if child &+ 1 < end && candidates[child] < candidates[child &+ 1] { child &+= 1 }
            if candidates[root] >= candidates[child] { return }
            swapCandidates(root, child)
            root = child
        }
    }

    @inline(__always)
    func swapCandidates(_ a: Int, _ b: Int) {
        let t = candidates[a]
        candidates[a] = candidates[b]
        candidates[b] = t
    }

    /// The signatures of a group that the packet's ports admit.
    func addGroup(_ g: PortGroup, _ facts: PacketFacts) {
        addAll(g.any)
        if let l = g.byDestination[facts.destinationPort] { addAll(l) }
        if let l = g.bySource[facts.sourcePort] { addAll(l) }
    }

    // MARK: Per-flow app-layer progress and body collection

    /// Per flow slot and direction: a counter the engine keeps for the app layer (HTTP: the
    /// next transaction sequence whose headers are not inspected yet).
    public func progress(_ slot: Int, _ d: Direction) -> UInt32 {
        slot >= 0 ? progressStore[slot &* 2 &+ d.index] : 0
    }

    public func setProgress(_ slot: Int, _ d: Direction, _ v: UInt32) {
        if slot >= 0 { progressStore[slot &* 2 &+ d.index] = v }
    }

    /// How many more body bytes of transaction `sequence` in direction `d` may be inspected
    /// (`bodyInspectLimit` per transaction and direction).
    public func bodyRoom(_ slot: Int, _ d: Direction, sequence: UInt32) -> Int {
        guard slot >= 0 else { return config.bodyInspectLimit }
        let si = slot &* 2 &+ d.index
        if bodySequence[si] != sequence { return config.bodyInspectLimit }
        return config.bodyInspectLimit &- Int(bodyBytes[si])
    }

    /// Records `n` body bytes of transaction `sequence` as inspected.
    public func bodyInspected(_ slot: Int, _ d: Direction, sequence: UInt32, _ n: Int) {
        guard slot >= 0 else { return }
        let si = slot &* 2 &+ d.index
        if bodySequence[si] != sequence {
            bodySequence[si] = sequence
            bodyBytes[si] = 0
            headersQuiet[si] = false
        }
        bodyBytes[si] = Int32(truncatingIfNeeded: Swift.min(Int(Int32.max), Int(bodyBytes[si]) &+ n))
    }

    /// Sizes the piece table for an HTTP parser holding up to `transactions` at once (two
    /// pieces each: one per direction); called when the engine takes the detector, not per packet.
    public func reserveBodyPieces(transactions: Int) {
        let n = Swift.max(DetectEngine.bodyPieceLimit, 2 &* transactions)
        guard n > pieceLimit else { return }
        pieceTx += Array(repeating: -1, count: n &- pieceLimit)
        pieceDirection += Array(repeating: .toServer, count: n &- pieceLimit)
        pieceStart += Array(repeating: 0, count: n &- pieceLimit)
        pieceLength += Array(repeating: 0, count: n &- pieceLimit)
        pieceEnded += Array(repeating: false, count: n &- pieceLimit)
        pieceTruncated += Array(repeating: false, count: n &- pieceLimit)
        pieceLimit = n
    }

    /// Starts collecting body bytes delivered during one parser feed.
    public func beginBody() {
        if keepBodyPieces { return }
        pieceCount = 0
        bodyLen = 0
    }

    /// Keeps body bytes of one transaction and direction (all pieces bounded by `maxWindow`,
    /// bytes past it are not inspected), and notes where a body ends (`ended`, empty bytes).
    public func collectBody(transaction: Int, direction: Direction, _ data: ByteView, ended: Bool = false) {
        var p = pieceCount &- 1
        if p < 0 || Int(pieceTx[p]) != transaction || pieceDirection[p] != direction || pieceEnded[p] {
            guard pieceCount < pieceLimit else { stats.bodyPiecesLost &+= 1; return }
            p = pieceCount
            pieceCount &+= 1
            pieceTx[p] = Int32(truncatingIfNeeded: transaction)
            pieceDirection[p] = direction
            pieceStart[p] = Int32(bodyLen)
            pieceLength[p] = 0
            pieceEnded[p] = false
            pieceTruncated[p] = false
        }
        if ended { pieceEnded[p] = true }
        let room = body.capacity &- bodyLen
        let n = Swift.min(room, data.count)
        // Bytes past the feed's room are not inspected: the body is inspected as if it ended
        // here (and per feed after), so its accumulation never joins bytes across the hole.
        if n < data.count { pieceEnded[p] = true; pieceTruncated[p] = true }
        guard n > 0 else { return }
        body.write(data.prefix(n), at: bodyLen)
        bodyLen &+= n
        pieceLength[p] = Int32(Int(pieceLength[p]) &+ n)
    }

    /// The body bytes of `transaction` in `direction` collected since `beginBody()`, and
    /// whether its body ended (or was cut: `truncated`) in them; nil when none arrived and it did not end.
    public func collectedBody(transaction: Int, direction: Direction) -> (data: ByteView, ended: Bool, truncated: Bool)? {
        var p = 0
        while p < pieceCount {
            if Int(pieceTx[p]) == transaction && pieceDirection[p] == direction {
                let v = body.view(Int(pieceStart[p]), Int(pieceLength[p])) ?? .empty
                return (v, pieceEnded[p], pieceTruncated[p])
            }
            p &+= 1
        }
        return nil
    }

    /// Marks that an alert was written on the flow (EVE `flow.alerted`).
    public func markAlerted(_ slot: Int) { if slot >= 0 { alerted[slot] = true } }
    public func hasAlerted(_ slot: Int) -> Bool { slot >= 0 && alerted[slot] }

    func run(_ facts: PacketFacts, _ buffers: InspectionBuffers, slot: Int, time: Int64, passOnFlow: Bool,
             _ onMatch: (Int, Bool) -> Void) -> Bool {
        stats.candidates &+= UInt64(candidates.count)
        if candidates.count > 1 { sortCandidates() }
        var k = 0
        let n = candidates.count
        let boxes = defs.boxes
        verifier.flowSlot = slot
        verifier.flowless = slot < 0
        while k < n {
            let i = Int(candidates[k])
            k &+= 1
            if matchedOn[i] == matchSerial { continue }
            if headerOnlyDone(i) { continue }
            if bodyScope.active && bodySkips(i) { continue }
            stats.verifications &+= 1
            let box = boxes[i]
            let r: VerifyResult
            if slot >= 0 {
                r = verifier.verify(signature: box, packet: facts, buffers: buffers, flowbits: &bits[slot])
            } else {
                scratchBits.removeAll()
                r = verifier.verify(signature: box, packet: facts, buffers: buffers, flowbits: &scratchBits)
            }
            guard case .match(let alert) = r else { continue }
            stats.matches &+= 1
            matchedOn[i] = matchSerial
            if bodyScope.active { bodyMatched(i) }
            guard let action = filteredAction(i, box.sig, facts, time) else { stats.suppressed &+= 1; continue }
            if action == .pass {
                if slot >= 0 && passAppliesToFlow(i, passOnFlow) { passed[slot] = true }
                return true
            }
            if thresholdSilent { stats.suppressed &+= 1 }
            onMatch(i, alert && !thresholdSilent)
        }
        return false
    }

    /// The rule's own detection_filter and threshold on this match (ThresholdVerdict).
    func thresholdVerdict(_ i: Int, _ sig: Signature, _ p: PacketFacts, _ time: Int64) -> ThresholdVerdict {
        var v = ThresholdVerdict.alert
        if let d = sig.detectionFilter {
            let c = hostState.hit(sig: i, kind: 1, key: trackKey(d.track, p), seconds: d.seconds, now: time, evictions: &stats.thresholdEvictions)
            if c <= d.count { return .none }
        }
        if let t = sig.threshold {
            let c = hostState.hit(sig: i, kind: 0, key: trackKey(t.track, p), seconds: t.seconds, now: time, evictions: &stats.thresholdEvictions)
            v = ThresholdVerdict(t, count: c)
        }
        return v
    }

    func trackKey(_ t: ThresholdSpec.Track, _ p: PacketFacts) -> (IPAddress, IPAddress) {
        switch t {
        case .bySource: return (p.source, .none)
        case .byDestination: return (p.destination, .none)
        case .byRule: return (.none, .none)
        case .byBoth: return (p.source, p.destination)
        }
    }

    // MARK: Pending candidates

    /// Whether a signature's payload list reads an absolute position of its buffer: on a
    /// stream it is verified with the bytes' stream offset (`streamPositions`).
    static func isAnchored(_ sig: Signature) -> Bool {
        for list in sig.lists where list.buffer == .payload {
            for e in list.elements where !e.isRelative {
                switch e {
                case .content(let c):
                    if c.offset != nil || c.depth != nil || c.startsWith || c.endsWith { return true }
                case .pcre: continue
                // The whole inspected buffer's entropy reads no position (session 9); a window
                // from `offset` or of `bytes` does.
                case .entropy(let m): if m.offset > 0 || m.bytes > 0 { return true }
                default: return true
                }
            }
        }
        return false
    }

    /// A stream offset past every rule's positions: the chunk's position is unknown.
    static let unknownBase = Int(Int32.max)

    /// `streamLimit` and `packetFallback` of a signature (Suricata: `SigValidate` in
    /// detect-parse.c sets `REQUIRE_PACKET` beside `REQUIRE_STREAM` for a TCP rule whose payload
    /// contents have a depth or offset, or that uses stream_size; flow:only_stream stops it).
    static func streamPositions(_ sig: Signature) -> (limit: Int32, packetFallback: Bool) {
        var limit = Int(unknownBase)
        var fallback = false
        for list in sig.lists where list.buffer == .payload {
            for e in list.elements where !e.isRelative {
                switch e {
                case .content(let c):
                    guard c.offset != nil || c.depth != nil || c.startsWith else { continue }
                    fallback = true
                    // Positions in a transformed buffer are not the stream's: judged only on
                    // bytes from the stream's first byte.
                    if !list.transforms.isEmpty { limit = 1; continue }
                    var off = 0
                    if let o = c.offset {
                        guard case .constant(let v) = o else { continue }
                        off = Swift.max(0, v)
                    }
                    if c.startsWith {
                        limit = Swift.min(limit, c.pattern.count)
                    } else if case .constant(let d)? = c.depth {
                        // Saturating: a hostile bundle's numbers must not wrap negative.
                        let (sum, over) = off.addingReportingOverflow(Swift.max(0, d))
                        limit = Swift.min(limit, over ? Int.max : sum)
                    }
                case .isDataAt(let d):
                    // The stream keeps having byte N once it had it: only `!isdataat:N` ends.
                    if d.negated, case .constant(let v) = d.value { limit = Swift.min(limit, Swift.max(0, v)) }
                case .pcre, .asn1, .length: continue
                case .entropy(let m) where m.offset <= 0 && m.bytes == 0: continue
                default: limit = Swift.min(limit, 1)
                }
            }
        }
        if sig.headerMatches.contains(where: { if case .streamSize = $0 { return true } else { return false } }) {
            fallback = true
        }
        if sig.flow.contains(.onlyStream) { fallback = false }
        return (Int32(clamping: Swift.max(0, Swift.min(limit, Int(unknownBase)))), fallback)
    }

    func clearPending(_ si: Int) {
        let s = Int(tailSlot[si])
        guard s >= 0 else { return }
        let base = s &* DetectConfig.pendingPerTail
        var k = 0
        while k < DetectConfig.pendingPerTail { pendingSig[base &+ k] = -1; k &+= 1 }
    }

    /// Pending signatures whose pattern began at or after `windowStart` become candidates;
    /// the others have left the window and are forgotten.
    func addPending(_ si: Int, windowStart: Int) {
        let s = Int(tailSlot[si])
        guard s >= 0 else { return }
        let base = s &* DetectConfig.pendingPerTail
        var k = 0
        while k < DetectConfig.pendingPerTail {
            let sig = Int(pendingSig[base &+ k])
            if sig >= 0 {
                if pendingStart[base &+ k] >= windowStart { add(sig) } else { pendingSig[base &+ k] = -1 }
            }
            k &+= 1
        }
    }

    /// Records (or refreshes) a pending signature; when the list is full the entry whose
    /// pattern began earliest (the first to leave the window) is overwritten.
    func notePending(_ si: Int, _ sig: Int, start: Int) {
        guard config.tailBytes > 0 else { return }
        if tailSlot[si] < 0 {
            guard let s = freeTails.popLast() else { stats.tailPoolExhausted &+= 1; return }
            tailSlot[si] = s
            tailLen[si] = 0
            clearPending(si)
        }
        let base = Int(tailSlot[si]) &* DetectConfig.pendingPerTail
        var free = -1, oldest = base
        var k = base
        while k < base &+ DetectConfig.pendingPerTail {
            let v = Int(pendingSig[k])
            if v == sig { pendingStart[k] = Swift.max(pendingStart[k], start); return }
            if v < 0 { if free < 0 { free = k } } else if pendingStart[k] < pendingStart[oldest] || pendingSig[oldest] < 0 { oldest = k }
            k &+= 1
        }
        if free < 0 { stats.pendingOverflows &+= 1; free = oldest }
        pendingSig[free] = Int32(sig)
        pendingStart[free] = start
    }

    func dropPending(_ si: Int, _ sig: Int) {
        let s = Int(tailSlot[si])
        guard s >= 0 else { return }
        let base = s &* DetectConfig.pendingPerTail
        var k = base
        while k < base &+ DetectConfig.pendingPerTail {
            if Int(pendingSig[k]) == sig { pendingSig[k] = -1 }
            k &+= 1
        }
    }

    // MARK: Tails

    /// The bytes kept for flow direction `si` (nil: none).
    func keptBytes(_ si: Int) -> ByteView? {
        let n = Int(tailLen[si]), s = Int(tailSlot[si])
        guard n > 0, s >= 0 else { return nil }
        return tails.view(s &* config.tailBytes, n)
    }

    func keepTail(_ si: Int, _ chunk: ByteView) {
        let size = config.tailBytes
        guard size > 0, !chunk.isEmpty else { return }
        if tailSlot[si] < 0 {
            guard let s = freeTails.popLast() else { stats.tailPoolExhausted &+= 1; return }
            tailSlot[si] = s
            tailLen[si] = 0
            clearPending(si)
        }
        let base = Int(tailSlot[si]) &* size
        if chunk.count >= size {
            tails.write(chunk.dropFirst(chunk.count &- size), at: base)
            tailLen[si] = Int32(size)
            return
        }
        let keep = Swift.min(Int(tailLen[si]), size &- chunk.count)
        if keep > 0 { tails.move(from: base &+ Int(tailLen[si]) &- keep, to: base, count: keep) }
        tails.write(chunk, at: base &+ keep)
        tailLen[si] = Int32(keep &+ chunk.count)
    }
}

/// An entry of the fixed tables keyed by (signature, tracked addresses): free while `sig` is
/// negative, aged by `windowStart`.
protocol TrackedCounter {
    var sig: Int32 { get }
    var a: IPAddress { get }
    var b: IPAddress { get }
    var windowStart: Int64 { get }
    /// The kind mixed into the hash (threshold tables count several kinds per signature).
    var hashKind: UInt8 { get }
}

extension Array where Element: TrackedCounter {
    /// Puts `e` in a free slot of its probe window, or over the window's oldest entry: how a
    /// reload's carried counters enter a fresh table (`SharedHostState.carry`).
    mutating func place(_ e: Element, mask: Int) {
        let h = ThresholdTable.hash(sig: Int(e.sig), kind: e.hashKind, key: (e.a, e.b))
        var slot = Int(truncatingIfNeeded: h) & mask
        for probe in 0 ..< 8 {
            let i = Int(truncatingIfNeeded: h &+ UInt64(probe)) & mask
            if self[i].sig < 0 { slot = i; break }
            if self[i].windowStart < self[slot].windowStart { slot = i }
        }
        self[slot] = e
    }
}

extension ThresholdTable.Entry: TrackedCounter { var hashKind: UInt8 { kind } }
extension RateTable.Entry: TrackedCounter { var hashKind: UInt8 { 0 } }

/// Counters for threshold / detection_filter, keyed by (signature, tracked addresses). Open
/// addressing over a fixed table; a full probe window overwrites its oldest entry.
struct ThresholdTable {
    struct Entry {
        var sig: Int32 = -1
        var kind: UInt8 = 0
        var a: IPAddress = .none
        var b: IPAddress = .none
        var windowStart: Int64 = 0
        var count: Int = 0
    }
    var entries: [Entry]
    let mask: Int

    init(entries n: Int) {
        var size = 16
        while size < n { size <<= 1 }
        entries = Array(repeating: Entry(), count: size)
        mask = size - 1
    }

    @inline(__always)
    static func hash(sig: Int, kind: UInt8, key: (IPAddress, IPAddress)) -> UInt64 {
        var h = UInt64(truncatingIfNeeded: sig) &* 0x9E37_79B9_7F4A_7C15
        h ^= key.0.lo &+ key.0.hi &* 31 &+ (UInt64(kind) << 56)
        h = (h ^ (h >> 29)) &* 0xBF58_476D_1CE4_E5B9
        h ^= key.1.lo &* 0x94D0_49BB_1331_11EB &+ key.1.hi
        h ^= h >> 32
        return h
    }

    /// Puts a carried entry (a reload's, `SharedHostState.carry`) in its probe window.
    mutating func place(_ e: Entry) { entries.place(e, mask: mask) }

    /// Counts one hit and returns the count within the current window.
    mutating func hit(sig: Int, kind: UInt8, key: (IPAddress, IPAddress), seconds: Int, now: Int64,
                      evictions: inout UInt64) -> Int {
        let h = ThresholdTable.hash(sig: sig, kind: kind, key: key)
        var oldest = -1
        var oldestTime = Int64.max
        for probe in 0 ..< 8 {
            let i = Int(truncatingIfNeeded: h &+ UInt64(probe)) & mask
            let e = entries[i]
            if e.sig == Int32(sig) && e.kind == kind && e.a == key.0 && e.b == key.1 {
                if now - e.windowStart >= Int64(seconds) {
                    entries[i].windowStart = now
                    entries[i].count = 1
                } else {
                    entries[i].count &+= 1
                }
                return entries[i].count
            }
            if e.sig < 0 { oldest = i; oldestTime = Int64.min; break }
            if e.windowStart < oldestTime { oldestTime = e.windowStart; oldest = i }
        }
        if oldestTime != Int64.min { evictions &+= 1 }
        entries[oldest] = Entry(sig: Int32(sig), kind: kind, a: key.0, b: key.1, windowStart: now, count: 1)
        return 1
    }
}
