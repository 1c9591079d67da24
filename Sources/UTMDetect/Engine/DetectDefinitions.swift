import UTMCore
import UTMMatch
import UTMCrypto

/// Where in the packet path a signature is evaluated.
public enum InspectionPoint: UInt8, Sendable {
    /// Per packet: header-only rules, UDP/ICMP payload, and TCP payload rules that are
    /// packet-only (`tcp-pkt`, `flow:no_stream`, `dsize`).
    case packet = 0
    /// TCP in-order stream chunks (payload rules on TCP that are not packet-only).
    case stream = 1
    /// HTTP transaction buffers (headers complete, bodies).
    case http = 2
    /// TLS ClientHello / ServerHello buffers.
    case tls = 3
    /// DNS query names.
    case dns = 4
    /// SSH banners (phase 1) and KEXINITs (phase 2, the HASSH buffers), per direction.
    case ssh = 5
    /// SMB transactions (session 7: `smb.share`, `smb.named_pipe`), once per request/response pair.
    case smb = 6
    /// DCE/RPC calls (session 12): a request when its last fragment came, the response side
    /// when the call completes.
    case dcerpc = 7
    /// SMTP transactions (session 12: `smtp.*`, `email.*`): phase 1 the single buffers, 2 per
    /// body URL (`email.url`), 3 per recipient (`smtp.rcpt_to`), 4 per Received header
    /// (`email.received`).
    case smtp = 8
}

/// Transport class of the per-protocol "always" lists (signatures without a prefilter).
@usableFromInline
enum ProtoClass: Int, CaseIterable, Sendable {
    case tcp = 0, udp, icmp, other

    @inlinable
    static func of(_ ipProto: UInt8) -> ProtoClass {
        switch ipProto {
        case 6: return .tcp
        case 17: return .udp
        case 1, 58: return .icmp
        default: return .other
        }
    }
}

/// Which packets of a flow a signature group serves: a rule with `flow:to_server` never meets
/// a reply, one with `to_client` never a request, and a packet without a flow only rules
/// with neither.
enum DirectionClass: Int, CaseIterable, Sendable {
    case toServer = 0, toClient, none

    /// `allCases.count` as a constant: `allCases` builds an array on every call.
    static let count = 3

    static func of(_ d: Direction?) -> DirectionClass {
        switch d {
        case .toServer?: return .toServer
        case .toClient?: return .toClient
        case nil: return .none
        }
    }

    func admits(_ f: FlowMatch) -> Bool {
        switch self {
        case .toServer: return !f.contains(.toClient)
        case .toClient: return !f.contains(.toServer)
        case .none: return !f.contains(.toClient) && !f.contains(.toServer)
        }
    }
}

/// Signatures of one group split by port, so a packet to port 443 does not meet the rules
/// written for port 445. A rule whose destination ports are few (≤ `maxPorts`) is listed under
/// each of them; else under its source ports when those are few; else it meets every packet.
/// Bidirectional (`<>`) rules always meet every packet. Lists keep evaluation order.
///
/// A class: the engine reads a group out of an array per packet and inspection point, and a
/// struct copy retained each of its arrays.
final class PortGroup: Sendable {
    static let maxPorts = 64
    let any: [Int32]
    let byDestination: PortIndex
    let bySource: PortIndex
    var isEmpty: Bool { any.isEmpty && byDestination.isEmpty && bySource.isEmpty }

    init(any: [Int32], byDestination: PortIndex, bySource: PortIndex) {
        self.any = any
        self.byDestination = byDestination
        self.bySource = bySource
    }

    struct Builder {
        var any: [Int32] = []
        var byDestination: [UInt16: [Int32]] = [:]
        var bySource: [UInt16: [Int32]] = [:]

        mutating func add(_ i: Int32, _ s: Signature) {
            if !s.bidirectional, let ports = Builder.few(s.destinationPorts) {
                for p in ports { byDestination[p, default: []].append(i) }
            } else if !s.bidirectional, let ports = Builder.few(s.sourcePorts) {
                for p in ports { bySource[p, default: []].append(i) }
            } else {
                any.append(i)
            }
        }

        static func few(_ p: PortSet) -> [UInt16]? {
            var n = 0
            for r in p.ranges { n += Int(r.upperBound) - Int(r.lowerBound) + 1 }
            guard n > 0 && n <= PortGroup.maxPorts else { return nil }
            var out: [UInt16] = []
            for r in p.ranges { for v in r { out.append(v) } }
            return out
        }

        func build() -> PortGroup {
            PortGroup(any: any, byDestination: PortIndex(byDestination), bySource: PortIndex(bySource))
        }
    }
}

/// What an alert or a verdict needs of a signature, precomputed at load (the product severity
/// reads the metadata with `lowercased()`, which allocates).
public struct SignatureInfo: Sendable {
    public var action: RuleAction
    public var gid: UInt32
    public var sid: UInt32
    public var rev: UInt32
    public var priority: Int
    public var productSeverity: Int
}

/// A signature in a class box: the verifier borrows it through the reference (one retain)
/// instead of copying the struct per candidate.
final class SignatureBox: Sendable {
    let sig: Signature
    init(_ s: Signature) { sig = s }
}

/// What an alert event says about a signature, rendered once at load so writing an alert copies
/// bytes and never builds a `String`.
public struct AlertText: Sendable {
    public var msg: [UInt8]
    /// The classtype's description ("" when none).
    public var category: [UInt8]
    /// Suricata's `alert.metadata` object (`{"key":["v1","v2"]}`), "" when the rule has none.
    public var metadataJSON: [UInt8]
}

/// Every signature's alert text in one byte arena: message, category and metadata JSON back to
/// back, found by offsets. Why: three small arrays per rule (54,600 with ET) cost a header and a
/// heap block each, ~3 MB more than the bytes themselves, against the 128 MB RSS target.
public struct AlertTexts: Sendable {
    let bytes: [UInt8]
    /// Per signature `i`: `starts[3i]` message, `3i+1` category, `3i+2` metadata; the next
    /// entry (or `bytes.count`) ends the last part.
    let starts: [UInt32]

    init(_ texts: [AlertText]) {
        var b: [UInt8] = []
        b.reserveCapacity(texts.reduce(0) { $0 + $1.msg.count + $1.category.count + $1.metadataJSON.count })
        var st: [UInt32] = []
        st.reserveCapacity(texts.count * 3 + 1)
        for t in texts {
            st.append(UInt32(b.count)); b.append(contentsOf: t.msg)
            st.append(UInt32(b.count)); b.append(contentsOf: t.category)
            st.append(UInt32(b.count)); b.append(contentsOf: t.metadataJSON)
        }
        st.append(UInt32(b.count))
        bytes = b
        starts = st
    }

    public var count: Int { (starts.count - 1) / 3 }

    /// Calls `body(msg, category, metadataJSON)` with views valid for the call only.
    public func withText<R>(_ i: Int, _ body: (ByteView, ByteView, ByteView) -> R) -> R {
        bytes.withUnsafeBytes { raw in
            func part(_ k: Int) -> ByteView {
                let a = Int(starts[k]), e = Int(starts[k &+ 1])
                return ByteView(UnsafeRawBufferPointer(rebasing: raw[a ..< e]))
            }
            return body(part(i &* 3), part(i &* 3 &+ 1), part(i &* 3 &+ 2))
        }
    }
}

/// The compiled IPS definitions: signatures in evaluation order, one prefilter automaton per
/// buffer, and the short lists of signatures without a prefilter. Immutable and shared by
/// every worker; each worker owns a `DetectEngine` (its per-flow and scratch state).
public final class DetectDefinitions: @unchecked Sendable {
    /// Evaluation order: drop, reject, pass, alert (what Suricata 7's util-action tests show); within an
    /// action, rules that only set flowbits before rules that test them; then file order.
    /// A copy built on each call (load-time users: the bundle writer, event filters); the
    /// signatures are stored once, in `boxes`, which is what saved ~6 MiB with ET.
    public var signatures: [Signature] { boxes.map(\.sig) }

    /// Signature `i` in evaluation order (no array copy).
    public func signature(_ i: Int) -> Signature { boxes[i].sig }
    public let flowbitNames: FlowbitNames
    /// Alert texts of every signature, in one arena (`AlertTexts`).
    public let alertTexts: AlertTexts
    /// Prefilter automaton per `BufferID.rawValue`, then one per derived buffer
    /// (`BufferID.count + slot - 1`); ids are signature indices.
    public let patternSets: [CompiledPatternSet?]
    /// The distinct (buffer, transform chain) pairs of the rule set: derived buffer `slot` is
    /// `derived[slot - 1]` (Suricata registers each as its own inspection buffer, so the
    /// prefilter sees the transformed bytes). Numbered in evaluation order at load, so a bundle
    /// and the rules it was compiled from number them alike.
    public let derived: [DerivedBufferSpec]
    /// The payload patterns of packet-point signatures only. A TCP packet's payload is
    /// scanned with this small set; the full payload set runs once over the reassembled stream
    /// (before, every TCP payload was scanned with the full set twice: packet and stream).
    ///
    /// Only signatures whose protocol admits TCP: the UDP and ICMP rules (1,600 DNS patterns
    /// with ET) are packet-point too, and scanning every TCP payload with them only made
    /// candidates the verifier then dropped on the protocol.
    let packetPayloadSet: CompiledPatternSet?
    /// TCP packets with more than `largePayload` bytes, per `DirectionClass` (to server, to
    /// client): the packet-point payload patterns of signatures that admit that direction and
    /// whose `dsize` admits such a size. Most packet-point TCP rules are `dsize`-bounded
    /// (`dsize:<500`, `dsize:48`) and written for one direction, so the full-size segments of a
    /// download meet a dozen patterns instead of 480 (ET).
    let largePacketSets: [CompiledPatternSet?]
    static let largePayload = 1024
    /// The payload patterns of stream-point signatures only: the reassembled stream is scanned
    /// with these, so the packet-point (mostly UDP/ICMP) patterns no longer cost prefilter
    /// and confirm work on every stream chunk only to be filtered out by `points`. Split by
    /// the ports the signatures name (PortPatternSets.swift): an HTTP response no longer meets
    /// the `GET ` of the rules to port 80.
    let streamPayloadSets: PortPatternSets
    /// The payload patterns a UDP (ICMP) packet can need: packet- and stream-point signatures
    /// whose protocol admits UDP (ICMP). The verifier rejects the others on the protocol
    /// anyway, and a UDP payload (QUIC, DNS) scanned with the TCP rules' many short patterns
    /// was most of the per-packet prefilter cost. UDP is split by port like the stream: a DNS
    /// response meets neither the 1,300 query rules (to port 53) nor TFTP's `|00 01|`.
    let udpPayloadSets: PortPatternSets
    let icmpPayloadSet: CompiledPatternSet?
    /// Per `BufferID.rawValue`: the patterns of HTTP signatures that wait for a body (phase 2
    /// or 4). An HTTP body segment arrives with the transaction's header buffers filled again;
    /// scanning those with their full automata (the header-phase rules ran already) was most
    /// of the HTTP inspection cost. A body-only call scans them with these small sets.
    let bodyPhaseSets: [CompiledPatternSet?]
    /// Per signature: where it is evaluated.
    public let points: [InspectionPoint]
    /// Per signature: how far before the end of its prefilter hit a match may begin (0 = no
    /// prefilter), for the segment-boundary test: the pattern's length, or "anywhere in the
    /// kept tail" when payload elements come before the prefilter content (`matchReach`).
    let prefilterLength: [Int32]
    /// Signatures without a prefilter hit to wait for, grouped like Suricata's signature group
    /// heads so that a packet only meets the ones its protocol, direction and ports admit.
    /// Packet point: per `ProtoClass` × `DirectionClass`; stream: per `DirectionClass`; app
    /// points: per phase (1...4) × `DirectionClass`.
    let alwaysPacket: [PortGroup]
    /// Packet-point signatures without a prefilter that need an anomaly event (decode-event,
    /// stream-event, app-layer-event; session 10), grouped like `alwaysPacket`: met only by
    /// packets that raised an event, so Suricata's several hundred event rules cost clean
    /// traffic nothing.
    let eventPacket: [PortGroup]
    /// Whether any signature needs an anomaly event (the engine then inspects packets that
    /// fail to decode, and held fragments, for them).
    public let hasEventRules: Bool
    let alwaysStream: [PortGroup]
    let alwaysHTTP: [PortGroup]
    let alwaysTLS: [PortGroup]
    let alwaysDNS: [PortGroup]
    let alwaysSSH: [PortGroup]
    let alwaysSMB: [PortGroup]
    let alwaysDCERPC: [PortGroup]
    let alwaysSMTP: [PortGroup]
    /// The signatures themselves, boxed: verification borrows one per candidate instead of
    /// copying the struct (and retaining its ~20 arrays and strings).
    let boxes: [SignatureBox]
    let infos: [SignatureInfo]
    /// Buffers some signature inspects, per point (so the engine fills only those).
    public let usesBuffer: [Bool]
    /// Signatures with a threshold or detection_filter.
    public let thresholdCount: Int
    /// Per signature: the phase of its inspection point it waits for (HTTP: 1 request
    /// headers, 2 request body, 3 response headers, 4 response body; TLS: 1 client hello,
    /// 2 server hello, 3 each server certificate (session 7); DNS: 1 request, 2 response, 3
    /// each question name, 4 each answer name (session 7); others 1).
    public let phases: [UInt8]
    /// Some rule waits for a file's first inspection (phase 5) / its end (phase 6); the
    /// digests the hash rules need, the only ones the engine computes (session 9).
    public let hasFileOpenRules: Bool
    public let hasFileCloseRules: Bool
    public let fileDigests: DigestKinds

    public var count: Int { boxes.count }
    /// The datasets the signatures use (session 9), each once, reserved for the run
    /// (`Dataset.reserve`): shared by every engine built over these definitions.
    public let datasets: [Dataset]

    /// Action, ids and severities of signature `i` (no copy of the signature).
    public func signatureInfo(_ i: Int) -> SignatureInfo { infos[i] }

    /// Shortest prefilter pattern that goes into an automaton. One-byte patterns (`|00|`,
    /// `|0d|`...) hit every few bytes of real traffic and made the automaton call back for most
    /// positions; their rules are verified directly instead, in their signature group.
    public static let minimumPrefilterLength = 2

    /// The automaton a prefilter pattern goes into. `http.response_body` is the same bytes as
    /// `file_data` in a response (the engine fills both from one view), so its patterns join
    /// the `file_data` automaton: a response body is scanned once, not twice.
    static func automatonBuffer(_ b: BufferID) -> BufferID { b == .httpServerBody ? .fileData : b }

    /// Whether `s`'s prefilter pattern goes into the automaton of its buffer. A pattern of a
    /// transformed list needs its derived slot (payload lists take no transforms).
    static func usesAutomaton(_ s: Signature) -> Bool {
        guard let p = s.prefilter, DetectDefinitions.point(of: s) != nil else { return false }
        if let src = s.prefilterSource, src.list < s.lists.count, !s.lists[src.list].transforms.isEmpty {
            if s.lists[src.list].derivedSlot == 0 || p.buffer == .payload { return false }
        }
        return p.pattern.count >= minimumPrefilterLength
    }

    /// The automaton index of `s`'s prefilter: its buffer's, or its derived buffer's.
    static func automatonIndex(_ s: Signature) -> Int {
        if let src = s.prefilterSource, src.list < s.lists.count, s.lists[src.list].derivedSlot > 0 {
            return BufferID.count + Int(s.lists[src.list].derivedSlot) - 1
        }
        return Int(automatonBuffer(s.prefilter?.buffer ?? .payload).rawValue)
    }

    /// Numbers the distinct (buffer, chain) pairs in evaluation order and stores each list's
    /// slot; pairs beyond `DerivedBuffers.maxSlots` keep slot 0 (verified, never prefiltered).
    static func assignDerivedSlots(_ sigs: inout [Signature]) -> [DerivedBufferSpec] {
        var table: [DerivedBufferSpec] = []
        for i in sigs.indices {
            for li in sigs[i].lists.indices where !sigs[i].lists[li].transforms.isEmpty {
                let l = sigs[i].lists[li]
                var slot = 0
                if let k = table.firstIndex(where: { $0.buffer == l.buffer && $0.chain == l.transforms }) {
                    slot = k + 1
                } else if table.count < DerivedBuffers.maxSlots {
                    table.append(DerivedBufferSpec(buffer: l.buffer, chain: l.transforms))
                    slot = table.count
                }
                sigs[i].lists[li].derivedSlot = UInt16(slot)
            }
        }
        return table
    }

    /// Orders and classifies the rule set and compiles one automaton per buffer.
    public convenience init(ruleSet: RuleSet, actionOrder: ActionOrder = .standard) {
        var ordered = DetectDefinitions.evaluationOrder(ruleSet.signatures, actionOrder)
        let derived = DetectDefinitions.assignDerivedSlots(&ordered)
        var builders = [PatternSetBuilder](repeating: PatternSetBuilder(), count: BufferID.count + derived.count)
        for (i, s) in ordered.enumerated() {
            if DetectDefinitions.usesAutomaton(s), let p = s.prefilter {
                builders[DetectDefinitions.automatonIndex(s)].add(p.pattern, nocase: p.nocase, id: UInt32(i))
            }
        }
        let sets: [CompiledPatternSet?] = builders.map { $0.count > 0 ? $0.compile() : nil }
        self.init(ordered: ordered, flowbitNames: ruleSet.flowbitNames, patternSets: sets)
    }

    /// Used by the bundle loader: signatures already in evaluation order, automata already built.
    init(ordered input: [Signature], flowbitNames: FlowbitNames, patternSets inputSets: [CompiledPatternSet?]) {
        var ordered = input
        let derivedTable = DetectDefinitions.assignDerivedSlots(&ordered)
        var patternSets = inputSets
        let setCount = BufferID.count + derivedTable.count
        if patternSets.count < setCount { patternSets += [CompiledPatternSet?](repeating: nil, count: setCount - patternSets.count) }
        if patternSets.count > setCount { patternSets.removeLast(patternSets.count - setCount) }
        self.derived = derivedTable
        self.flowbitNames = flowbitNames
        self.patternSets = patternSets
        self.datasets = DetectDefinitions.reservedDatasets(ordered)
        var points: [InspectionPoint] = []
        var prefLen: [Int32] = []
        let dirs = DirectionClass.count
        var aPacket = [PortGroup.Builder](repeating: .init(), count: ProtoClass.allCases.count * dirs)
        var ePacket = aPacket
        var eventRules = false
        var aStream = [PortGroup.Builder](repeating: .init(), count: dirs)
        // Phases 0...6: HTTP's file phases 5 and 6 (session 9) are the highest.
        var aHTTP = [PortGroup.Builder](repeating: .init(), count: 7 * dirs)
        var aTLS = aHTTP, aDNS = aHTTP, aSSH = aHTTP, aSMB = aHTTP
        var aDCERPC = aHTTP
        var aSMTP = aHTTP
        var uses = [Bool](repeating: false, count: BufferID.count)
        var texts: [AlertText] = []
        var thresholds = 0
        var phases: [UInt8] = []
        var fileOpen = false, fileClose = false
        var digestKinds: DigestKinds = []
        var packetPayload = PatternSetBuilder()
        var largePacket = [PatternSetBuilder](repeating: PatternSetBuilder(), count: 2)
        var streamPayload: [(id: UInt32, sig: Signature, pattern: [UInt8], nocase: Bool)] = []
        var udpPayload = streamPayload
        var icmpPayload = PatternSetBuilder()
        var bodyPhase = [PatternSetBuilder](repeating: PatternSetBuilder(), count: setCount)
        points.reserveCapacity(ordered.count)
        for (i, s) in ordered.enumerated() {
            let pt = DetectDefinitions.point(of: s) ?? .packet
            let phase = DetectDefinitions.phase(of: s, pt)
            points.append(pt)
            phases.append(phase)
            if pt == .http && phase == DetectDefinitions.fileOpenPhase { fileOpen = true }
            if pt == .http && phase == DetectDefinitions.fileClosePhase { fileClose = true }
            for case .fileHash(let l) in s.headerMatches {
                digestKinds.insert(l.kind == .md5 ? .md5 : l.kind == .sha1 ? .sha1 : .sha256)
            }
            let hasPrefilter = DetectDefinitions.usesAutomaton(s)
                && patternSets[DetectDefinitions.automatonIndex(s)] != nil
            prefLen.append(hasPrefilter ? DetectDefinitions.matchReach(s) : 0)
            for l in s.lists { uses[Int(l.buffer.rawValue)] = true }
            if s.threshold != nil || s.detectionFilter != nil { thresholds += 1 }
            texts.append(DetectDefinitions.render(s))
            if hasPrefilter {
                if pt == .packet, let p = s.prefilter, p.buffer == .payload {
                    if DetectDefinitions.admits(s, .tcp) {
                        packetPayload.add(p.pattern, nocase: p.nocase, id: UInt32(i))
                        if s.dsize.map({ DetectDefinitions.admitsAbove($0, DetectDefinitions.largePayload) }) ?? true {
                            for d in [DirectionClass.toServer, .toClient] where d.admits(s.flow) {
                                largePacket[d.rawValue].add(p.pattern, nocase: p.nocase, id: UInt32(i))
                            }
                        }
                    }
                }
                if pt == .stream, let p = s.prefilter, p.buffer == .payload {
                    streamPayload.append((UInt32(i), s, p.pattern, p.nocase))
                }
                if pt == .http && (phase == 2 || phase == 4), let p = s.prefilter {
                    // A body segment meets the rule through a content of its body when it has
                    // one (DetectDefinitions.bodyContent), else through its fast pattern.
                    if let c = DetectDefinitions.bodyContent(s, phase: phase) {
                        bodyPhase[Int(DetectDefinitions.automatonBuffer(c.buffer).rawValue)]
                            .add(c.pattern, nocase: c.nocase, id: UInt32(i))
                    } else {
                        bodyPhase[DetectDefinitions.automatonIndex(s)]
                            .add(p.pattern, nocase: p.nocase, id: UInt32(i))
                    }
                }
                if pt == .packet || pt == .stream, let p = s.prefilter, p.buffer == .payload {
                    if DetectDefinitions.admits(s, .udp) { udpPayload.append((UInt32(i), s, p.pattern, p.nocase)) }
                    if DetectDefinitions.admits(s, .icmp) { icmpPayload.add(p.pattern, nocase: p.nocase, id: UInt32(i)) }
                }
                continue
            }
            let idx = Int32(i)
            let needsEvent = DetectDefinitions.needsAnomaly(s)
            if needsEvent { eventRules = true }
            for d in DirectionClass.allCases where d.admits(s.flow) {
                switch pt {
                case .packet:
                    for c in ProtoClass.allCases where DetectDefinitions.admits(s, c) {
                        if needsEvent {
                            ePacket[c.rawValue * dirs + d.rawValue].add(idx, s)
                        } else {
                            aPacket[c.rawValue * dirs + d.rawValue].add(idx, s)
                        }
                    }
                case .stream: aStream[d.rawValue].add(idx, s)
                case .http: aHTTP[Int(phase) * dirs + d.rawValue].add(idx, s)
                case .tls: aTLS[Int(phase) * dirs + d.rawValue].add(idx, s)
                case .dns: aDNS[Int(phase) * dirs + d.rawValue].add(idx, s)
                case .ssh: aSSH[Int(phase) * dirs + d.rawValue].add(idx, s)
                case .smb: aSMB[Int(phase) * dirs + d.rawValue].add(idx, s)
                case .dcerpc: aDCERPC[Int(phase) * dirs + d.rawValue].add(idx, s)
                case .smtp: aSMTP[Int(phase) * dirs + d.rawValue].add(idx, s)
                }
            }
        }
        self.points = points
        packetPayloadSet = packetPayload.count > 0 ? packetPayload.compile() : nil
        largePacketSets = largePacket.map { $0.count > 0 ? $0.compile() : nil }
        streamPayloadSets = PortPatternSets(streamPayload)
        udpPayloadSets = PortPatternSets(udpPayload)
        icmpPayloadSet = icmpPayload.count > 0 ? icmpPayload.compile() : nil
        bodyPhaseSets = bodyPhase.map { $0.count > 0 ? $0.compile() : nil }
        prefilterLength = prefLen
        alwaysPacket = aPacket.map { $0.build() }
        eventPacket = ePacket.map { $0.build() }
        hasEventRules = eventRules
        alwaysStream = aStream.map { $0.build() }
        alwaysHTTP = aHTTP.map { $0.build() }
        alwaysTLS = aTLS.map { $0.build() }
        alwaysDNS = aDNS.map { $0.build() }
        alwaysSSH = aSSH.map { $0.build() }
        alwaysSMB = aSMB.map { $0.build() }
        alwaysDCERPC = aDCERPC.map { $0.build() }
        alwaysSMTP = aSMTP.map { $0.build() }
        boxes = ordered.map { SignatureBox($0) }
        infos = ordered.map {
            SignatureInfo(action: $0.action, gid: $0.gid, sid: $0.sid, rev: $0.rev, priority: $0.priority,
                          productSeverity: $0.productSeverity)
        }
        usesBuffer = uses
        alertTexts = AlertTexts(texts)
        thresholdCount = thresholds
        self.phases = phases
        hasFileOpenRules = fileOpen
        hasFileCloseRules = fileClose
        fileDigests = digestKinds
    }

    /// HTTP file phases (session 9): 5 when a file's first bytes are inspected (name rules,
    /// with the body's first inspection), 6 when it ends (size and hash rules).
    public static let fileOpenPhase: UInt8 = 5
    public static let fileClosePhase: UInt8 = 6

    /// The latest message part a signature needs (see `phases`).
    static func phase(of s: Signature, _ pt: InspectionPoint) -> UInt8 {
        var p: UInt8 = 1
        for l in s.lists {
            let b: UInt8
            switch l.buffer {
            case .httpClientBody: b = 2
            case .httpStatCode, .httpStatMsg, .httpResponseLine: b = 3
            // Session 6 header keywords: request header lines with the request, response ones
            // (and the Server and Location values) with the response.
            case .httpResponseHeader, .httpServer, .httpLocation: b = 3
            case .httpServerBody, .fileData: b = 4
            // http.cookie with flow:to_client reads the response's Set-Cookie (Suricata).
            case .httpHeader, .httpRawHeader, .httpHeaderNames, .httpContentLen, .httpContentType,
                 .httpConnection, .httpStart, .httpProtocol, .httpCookie:
                b = s.flow.contains(.toClient) ? 3 : 1
            case .ja3sHash, .ja3sString:
                b = 2
            // The server certificate's fields come with its Certificate message (session 7:
            // they were phase 2, with the ServerHello, and never filled).
            case .tlsCertSubject, .tlsCertIssuer, .tlsCertSerial, .tlsCertFingerprint, .tlsSubjectAltName:
                b = 3
            case .sshHassh, .sshHasshString, .sshHasshServer, .sshHasshServerString:
                b = 2
            // Session 7: the certificates are a phase of their own (3), after the ServerHello;
            // the hello randoms and the QUIC version follow the rule's side like tls.version;
            // the DNS multi-buffers run per name, questions (3) and answers (4), apart from the
            // per-message phases so rules without them are not run once per name.
            case .tlsCerts: b = 3
            case .tlsRandom, .tlsRandomTime, .tlsRandomBytes, .quicVersion:
                b = s.flow.contains(.toClient) ? 2 : 1
            case .dnsQueriesRRName: b = 3
            // tls.alpn's instances: a phase of their own (4), after the hellos they come from.
            case .tlsALPN: b = 4
            case .dnsAnswersRRName: b = 4
            // SMTP multi-buffers: per recipient (3) and per Received header (4).
            case .smtpRcptTo: b = 3
            case .emailReceived: b = 4
            case .emailURL: b = 2
            default: b = 1
            }
            p = Swift.max(p, b)
        }
        // File rules (session 9): a file's name with its first inspection, size and digests at
        // its end (above every other HTTP phase).
        if pt == .http && s.isFileRule { p = s.needsCompleteFile ? fileClosePhase : Swift.max(p, fileOpenPhase) }
        // tls.version with flow:to_client tests the server's (negotiated) version.
        if pt == .tls && s.flow.contains(.toClient) && hasTLSVersion(s) { p = Swift.max(p, 2) }
        // dns.opcode with flow:to_client runs with the responses (phase 2), else the requests.
        if pt == .dns && s.flow.contains(.toClient) && hasDNSOpcode(s) { p = Swift.max(p, 2) }
        // dns.rcode without a direction: with the responses too. Suricata inspects both ways;
        // a rule has one phase here, and requests carry rcode 0, so `dns.rcode:nxdomain` with
        // no flow keyword would never fire on the requests (review finding, session 9).
        if pt == .dns && !s.flow.contains(.toServer) && !s.flow.contains(.toClient) && hasDNSRcode(s) { p = Swift.max(p, 2) }
        // tls.cert_chain_len is a fact of the Certificate message (phase 3).
        if pt == .tls && hasCertChainLen(s) { p = Swift.max(p, 3) }
        return p
    }

    /// The boundary reach of a prefilter hit. When the prefilter content is not the first
    /// element of its list, an earlier content may sit in the previous stream chunk even
    /// though the hit lies wholly in this one (an SMTP attachment's `|0D 0A 0D 0A|TV` at the
    /// end of one segment, the `AAAA…` prefilter in the next: suricata-verify issue-4220), so
    /// the verification must see the kept tail as well; Suricata's raw stream inspection
    /// re-reads the data before the new segment the same way.
    static func matchReach(_ s: Signature) -> Int32 {
        guard let p = s.prefilter else { return 0 }
        if let src = s.prefilterSource, src.element > 0 { return Int32(1) << 30 }
        return Int32(p.pattern.count)
    }

    /// For an HTTP rule that waits for a body (phase 2 or 4) whose fast pattern is in a header
    /// buffer: its longest positive content in the body buffer, which a body segment must
    /// contain for the rule to match (the verifier checks every content of every list on the
    /// same views). Why: body segments are scanned with `bodyPhaseSets`, and a header fast
    /// pattern (a URI's `.php`, a `Content-Type`) made the rule a candidate again on every
    /// segment of the transaction, verified and dropped each time. Nil when the fast pattern is
    /// already in the body or the body list has no such content (pcre or byte tests only).
    static func bodyContent(_ s: Signature, phase: UInt8) -> (buffer: BufferID, pattern: [UInt8], nocase: Bool)? {
        func isBody(_ b: BufferID) -> Bool {
            phase == 2 ? b == .httpClientBody : (b == .fileData || b == .httpServerBody)
        }
        guard let p = s.prefilter, !isBody(p.buffer) else { return nil }
        var best: (buffer: BufferID, pattern: [UInt8], nocase: Bool)?
        // Untransformed lists only: a body segment is scanned as it is.
        for l in s.lists where isBody(l.buffer) && l.transforms.isEmpty {
            for e in l.elements {
                guard case .content(let c) = e, !c.negated, c.pattern.count >= minimumPrefilterLength else { continue }
                if let b = best, b.pattern.count >= c.pattern.count { continue }
                best = (l.buffer, c.pattern, c.nocase)
            }
        }
        return best
    }

    /// Whether a `dsize` test admits some payload size above `limit`.
    static func admitsAbove(_ m: IntMatch, _ limit: Int) -> Bool {
        switch m.mode {
        case .equal, .lessEqual: return m.a > limit
        case .less: return m.a &- 1 > limit
        case .range: return m.b &- 1 > limit && m.b &- 1 > m.a
        case .notEqual, .greater, .greaterEqual, .notRange: return true
        }
    }

    static func admits(_ s: Signature, _ c: ProtoClass) -> Bool {
        switch c {
        case .tcp: return s.proto.admits(ipProto: 6)
        case .udp: return s.proto.admits(ipProto: 17)
        case .icmp: return s.proto.admits(ipProto: 1) || s.proto.admits(ipProto: 58)
        // ARP packets are in this class too (PacketFacts.ipProto 0): `arp` rules wait here.
        case .other: return s.proto.ipProto == nil
        }
    }

    /// Where a signature is evaluated; nil when it inspects buffers the engine cannot fill
    /// together (it is still kept, as a packet rule that never matches its buffers).
    public static func point(of s: Signature) -> InspectionPoint? {
        var http = false, tls = false, dns = false, ssh = false, smb = false, payload = false, header = false
        var dcerpc = false
        var smtp = false
        for l in s.lists {
            if l.buffer == .payload { payload = true }
            else if l.buffer.isPacketHeader { header = true }
            else if l.buffer.isHTTP || l.buffer == .fileData || l.buffer == .fileName { http = true }
            else if l.buffer.isTLS { tls = true }
            else if l.buffer.isDNS { dns = true }
            else if l.buffer.isSSH { ssh = true }
            else if l.buffer.isSMB { smb = true }
            else if l.buffer == .dcerpcStubData { dcerpc = true }
            else if l.buffer.isSMTP { smtp = true }
        }
        // File rules are judged on HTTP files (the files the engine follows for detection).
        if http || s.isFileRule { return .http }
        if tls { return .tls }
        if dns { return .dns }
        if ssh { return .ssh }
        if smb { return .smb }
        // DCE/RPC: the stub buffer, or iface/opnum facts of a call (byte keywords with `dce`
        // on the raw payload stay stream rules, as Suricata's).
        if dcerpc || (s.proto.app == .dcerpc && hasDCERPCCall(s) && !payload && !header) { return .dcerpc }
        if smtp { return .smtp }
        // Packet header buffers exist on packets only (session 9): the payload is then the packet's.
        if header { return .packet }
        if payload {
            return isPacketOnly(s) || !s.proto.admits(ipProto: 6) ? .packet : .stream
        }
        if s.proto.app == .http && !s.flowbits.isEmpty && s.lists.isEmpty { return .packet }
        // tls.version is a fact of a hello: the rule is evaluated with the TLS hellos.
        if s.proto.app == .tls && hasTLSVersion(s) { return .tls }
        if s.proto.app == .dns && hasDNSOpcode(s) { return .dns }
        if s.proto.app == .tls && hasCertChainLen(s) { return .tls }
        return .packet
    }

    /// Whether `s` has an event keyword (it can match only on a packet that raised an event).
    static func needsAnomaly(_ s: Signature) -> Bool {
        s.headerMatches.contains { if case .anomaly = $0 { return true } else { return false } }
    }

    static func hasDNSOpcode(_ s: Signature) -> Bool {
        // Session 9: dns.rrtype and dns.rcode are facts of the same messages.
        s.headerMatches.contains {
            switch $0 {
            case .dnsOpcode, .dnsRRType, .dnsRcode: return true
            default: return false
            }
        }
    }

    static func hasDNSRcode(_ s: Signature) -> Bool {
        s.headerMatches.contains { if case .dnsRcode = $0 { return true } else { return false } }
    }

    /// tls.cert_chain_len and the certificate validity keywords: facts of the Certificate message.
    static func hasCertChainLen(_ s: Signature) -> Bool {
        s.headerMatches.contains {
            switch $0 {
            case .tlsCertChainLen, .tlsCertValidity: return true
            default: return false
            }
        }
    }

    static func hasDCERPCCall(_ s: Signature) -> Bool {
        s.headerMatches.contains {
            switch $0 {
            case .dcerpcIface, .dcerpcOpnum: return true
            default: return false
            }
        }
    }

    static func hasTLSVersion(_ s: Signature) -> Bool {
        s.headerMatches.contains { if case .tlsVersion = $0 { return true } else { return false } }
    }

    /// TCP payload rules Suricata evaluates on the packet rather than the stream.
    public static func isPacketOnly(_ s: Signature) -> Bool {
        s.proto.packetOnly || s.flow.contains(.noStream) || s.dsize != nil
    }

    static func actionRank(_ a: RuleAction) -> Int {
        switch a {
        case .drop: return 0
        case .reject, .rejectSource, .rejectDestination, .rejectBoth: return 1
        case .pass: return 2
        case .alert: return 3
        }
    }

    static func flowbitRank(_ s: Signature) -> Int {
        var sets = false, tests = false
        for op in s.flowbits {
            switch op.kind {
            case .set, .unset, .toggle: sets = true
            case .isSet, .isNotSet: tests = true
            }
        }
        if sets && !tests { return 0 }
        if sets && tests { return 1 }
        if tests { return 2 }
        return 1
    }

    /// Suricata orders flowint writers before readers too (after flowbits): a counting rule
    /// then sees the count the same packet's increment left (session 9).
    static func flowintRank(_ s: Signature) -> Int {
        var sets = false, tests = false
        for case .flowInt(let op) in s.headerMatches {
            if op.isChange { sets = true } else { tests = true }
        }
        if sets && !tests { return 0 }
        if sets && tests { return 1 }
        if tests { return 2 }
        return 1
    }

    static func evaluationOrder(_ sigs: [Signature], _ actions: ActionOrder = .standard) -> [Signature] {
        let keyed = sigs.enumerated().map { (i, s) in (actions.rank(s.action), flowbitRank(s), flowintRank(s), i) }
        let order = keyed.sorted { a, b in
            if a.0 != b.0 { return a.0 < b.0 }
            if a.1 != b.1 { return a.1 < b.1 }
            if a.2 != b.2 { return a.2 < b.2 }
            return a.3 < b.3
        }
        return order.map { sigs[$0.3] }
    }

    /// Renders the alert text once at load. Plain loops over the few metadata pairs (no
    /// dictionaries): this runs for all 18k ET rules on every load.
    static func render(_ s: Signature) -> AlertText {
        var meta: [UInt8] = []
        let pairs = s.metadata
        if !pairs.isEmpty {
            // Suricata groups values by key, keys in first-seen order.
            meta.append(UInt8(ascii: "{"))
            var first = true
            for (ki, (k, _)) in pairs.enumerated() {
                var seenBefore = false
                var j = 0
                while j < ki { if pairs[j].key == k { seenBefore = true; break }; j += 1 }
                if seenBefore { continue }
                if !first { meta.append(UInt8(ascii: ",")) }
                first = false
                appendJSONString(k, to: &meta)
                meta.append(UInt8(ascii: ":"))
                meta.append(UInt8(ascii: "["))
                var firstValue = true
                for m in ki ..< pairs.count where pairs[m].key == k {
                    if !firstValue { meta.append(UInt8(ascii: ",")) }
                    firstValue = false
                    appendJSONString(pairs[m].value, to: &meta)
                }
                meta.append(UInt8(ascii: "]"))
            }
            meta.append(UInt8(ascii: "}"))
        }
        return AlertText(msg: Array(s.msg.utf8), category: Array((s.classtype?.description ?? "").utf8),
                         metadataJSON: meta)
    }

    static func appendJSONString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(92); out.append(34)
            case UInt8(ascii: "\\"): out.append(92); out.append(92)
            case 0 ..< 0x20:
                out.append(92); out.append(UInt8(ascii: "u")); out.append(48); out.append(48)
                out.append(hexDigit(b >> 4)); out.append(hexDigit(b & 15))
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 48 &+ v : 87 &+ v }
}

/// One derived inspection buffer: a buffer and the transforms applied to it.
public struct DerivedBufferSpec: Sendable {
    public var buffer: BufferID
    public var chain: [Transform]
}
