import UTMCore
import UTMDecode
import UTMFlow
import UTMAppLayer
import UTMCrypto
import UTMOutput
import UTMDetect

/// Per-worker counters for the replay summary and `utmctl status`.
public struct EngineStats: Sendable {
    public var packets: UInt64 = 0
    public var bytes: UInt64 = 0
    public var untracked: UInt64 = 0
    /// Of those, dropped or rejected by `EngineModes.flowTablePolicy` (EngineFlowless.swift).
    public var flowTableDrops: UInt64 = 0
    public var appDetected: [UInt64] = Array(repeating: 0, count: 256)
    public var appStateExhausted: UInt64 = 0
    public var dnsParseFailures: UInt64 = 0
    public var alerts: UInt64 = 0
    /// Packets dropped or rejected by a module's decision (not counting later packets of the
    /// flow, which are dropped as `flowBlocked`).
    public var blockedPackets: UInt64 = 0
    /// HTTP/1 header blocks whose normalized http.header did not fit the composer's scratch
    /// store: inspected as sent (README "http.header normalization, session 7").
    public var httpHeaderRawFallback: UInt64 = 0
    /// HTTP/1 header blocks of more than `HTTPBufferComposer.mergeLineLimit` lines: normalized
    /// line by line, repeated headers not joined.
    public var httpHeaderUnmerged: UInt64 = 0
    /// HTTP/1 feeds where a Content-Length / Transfer-Encoding on a blank-led first header
    /// line was not used for framing (`HTTPTxFlags.ignoredFraming`, a smuggling indicator).
    public var httpFramingIgnored: UInt64 = 0
    /// App-layer anomaly events raised, per protocol and event (EngineAppEvents.swift).
    public var appEvents = AppEventCounters()
    public init() {}
}

/// Bits of `Flow.engineFlags`.
enum FlowBits {
    /// The tls/quic event of this flow has been written.
    static let helloLogged: UInt32 = 1 << 0
    /// The app layer has nothing more to read (encrypted, gave up): skip reassembly.
    static let appDone: UInt32 = 1 << 1
    /// A module blocked this flow: every later packet is dropped without inspection.
    static let blocked: UInt32 = 1 << 2
    /// Probe attempts, four bits per direction.
    static let probeShift: UInt32 = 8
}

/// A QUIC flow's two parsers: packet protection, and the TLS handshake inside CRYPTO frames.
/// A class so the QUIC parser can feed the TLS parser while both are being mutated; one is
/// created per pool slot at warm-up, never per packet.
final class QUICFlowState {
    var quic: QUICParser
    var tls: TLSParser
    init(quic: QUICParser, tls: TLSParser) {
        self.quic = quic
        self.tls = tls
    }
}

/// One flow worker: decode → flow → stream → app layer → EVE, for every frame it is given.
///
/// Why a class: it is the long-lived owner of every pool of the worker and is handed around by
/// reference (capture loop, control socket). Its per-packet path allocates nothing once the
/// pools are warm; the allocation test in UTMEngineTests holds it to that.
public final class Engine {
    /// Its definition fields (rules' companions: web filter, app restrictions, antivirus,
    /// firewall) change when the engine adopts an update (`adopt`, EngineDefinitions.swift).
    public internal(set) var config: EngineConfig
    public private(set) var decoder: Decoder
    public internal(set) var flows: FlowTable
    public internal(set) var reassembler: TCPReassembler
    public var eve: EVEWriter
    public internal(set) var stats = EngineStats()

    var packet = DecodedPacket()
    var http: SlotPool<HTTPParser>
    var tls: SlotPool<TLSParser>
    var quic: SlotPool<QUICFlowState>
    var dnsTCP: SlotPool<DNSParser>
    var http2: SlotPool<HTTP2Parser>
    /// Reused list of an HTTP/2 parser's finished streams (EngineHTTP2.swift).
    var http2Ready: [Int] = []
    /// HTTP/2 body bytes collected during one feed, and where each stream side's piece lies
    /// (EngineHTTP2.swift): inspected after the feed, which must not be re-entered.
    var http2Body: [UInt8] = []
    var http2BodyPieces: [HTTP2BodyPiece] = []
    /// Composed HTTP buffers of the transaction side being inspected (EngineHTTPBuffers.swift,
    /// UTMAppLayer/HTTPBufferComposer.swift), reserved here once.
    var httpCompose = HTTPBufferComposer()
    var pgsql: SlotPool<PgSQLParser>
    var smb: SlotPool<SMBParser>
    var dcerpc: SlotPool<DCERPCParser>
    /// DCE/RPC over SMB named pipes (EngineDCERPC.swift): a parser slot per SMB slot that
    /// carried pipe data (-1: none), and the pipe (FileId) it follows.
    var smbPipes: SlotPool<DCERPCParser>
    var smbPipeSlot: [Int32]
    var smbPipeFile: [UInt64]
    var sipTCP: SlotPool<SIPStream>
    var ssh: SlotPool<SSHParser>
    var ftp: SlotPool<FTPParser>
    var smtp: SlotPool<SMTPParser>
    /// Per SMTP slot: the MIME decoding of its messages for `file_data` (EngineSMTPFiles.swift),
    /// grown with the pool at warm-up.
    var smtpFiles: [SMTPFiles] = []
    /// First bytes of TCP flows whose protocol is not known yet (ProbeBuffers.swift).
    var probes: ProbeBuffers
    /// FTP data connections announced on control channels (EngineFTPData.swift).
    var ftpExpect = FTPExpectations()
    var dns: DNSParser
    /// The decision for the packet being processed (reset for each packet).
    public internal(set) var decision = PacketDecision()
    /// The IPS (nil until rules are loaded) and the packet it is inspecting (EngineDetect.swift).
    public internal(set) var detect: DetectEngine? {
        /// Every pending HTTP transaction's body must fit the detector's per-feed piece table.
        didSet { detect?.reserveBodyPieces(transactions: config.http.maxPendingTransactions) }
    }
    var detectCursor = DetectCursor()
    /// Anomalies raised while this packet went through the TCP state machine/reassembler and
    /// the app-layer parsers (reset per packet in `process`): packet rules with `stream-event:`
    /// or `app-layer-event:` read them (EngineAnomalies.swift).
    var packetStreamEvents = StreamEvents()
    var packetAppEvents = AppLayerEvents()
    /// The protocol whose parser raised `packetAppEvents`' protocol bits (PacketAnomalies.appRaisedBy).
    var packetAppEventsProto: AppProto = .unknown
    /// Time of the newest packet seen, for ending flows at shutdown.
    public private(set) var now: Timestamp = .zero
    /// The last packet's flow and whether that packet started it: the daemon keys its own
    /// per-flow data (the zone pair) by the slot.
    public internal(set) var lastFlow = FlowRef(index: -1, generation: 0)
    public internal(set) var lastFlowIsNew = false
    /// Web filter and App-ID state (EngineWebFilter.swift, EngineAppID.swift).
    var webFilter: EngineWebFilterStage
    var appID: EngineAppIDStage
    /// Antivirus state (EngineAntivirus.swift).
    var av: EngineAVStage
    /// Firewall mode (EngineFirewall.swift): nil rules when off.
    var fw: EngineFirewallStage
    /// File tracking for the file keywords (EngineDetectFiles.swift, session 9).
    var fileDetect = EngineFileDetectStage()
    /// Per flow slot: flow id << 16 | alerts that carried its transaction (EngineAlertTx.swift).
    var alertTxLogged: [UInt64] = []
    /// Per flow slot: DNS over UDP's unanswered queries (`DNSTransactionCount`, EngineAppEvents.swift).
    var dnsUDPTransactions: [UInt16] = []
    /// EVE anomaly log: what each flow slot has logged, the budgets per event (EngineAnomalyLog.swift).
    var anomalyLog = AnomalyLogState()

    /// `definitions`: built for this configuration's flow table (`EngineDefinitions(config:
    /// flowCapacity: Engine.flowCapacity(config))`), taken as they are; nil: the
    /// configuration's own, without IPS rules (`loadDetection`).
    public init(config: EngineConfig = .init(), definitions: EngineDefinitions? = nil) {
        self.config = config
        decoder = Decoder(config: config.decoder)
        flows = FlowTable(config: config.flow)
        var streamConfig = config.flow
        // IDS with per-host overlap policies: judge overlaps before inspecting, as the
        // receiver will (FlowConfig.holdUntilAcked). Inline, the first bytes seen are the ones
        // forwarded, so they win and nothing waits.
        if config.modes.ids && !streamConfig.hostOSPolicies.isEmpty { streamConfig.holdUntilAcked = true }
        // Inline, a retransmission must not carry other bytes than those inspected and
        // forwarded: keep copies until acknowledged to check (EngineOverlap.swift). IDS keeps
        // them too, to know a retransmission whose bytes differ from the stream's: the receiver
        // may read those, so stream rules read it as a packet.
        streamConfig.retainUnacked = true
        // IDS, data on a SYN joins the stream only once the receiver acknowledges it (the
        // receiver may refuse it and read a retransmission with other bytes instead); inline it
        // is inspected before the SYN is forwarded (FlowConfig.holdSynData).
        if config.modes.ids { streamConfig.holdSynData = true }
        reassembler = TCPReassembler(config: streamConfig)
        eve = EVEWriter()
        let c = config
        http = SlotPool(limit: c.maxHTTPStates) { HTTPParser(config: c.http) }
        probes = ProbeBuffers(slots: c.maxProbeBuffers)
        tls = SlotPool(limit: c.maxTLSStates) { TLSParser(config: c.tls) }
        let crypto = QUICInitialCrypto()
        var quicTLSConfig = c.tls
        quicTLSConfig.isQUIC = true
        quic = SlotPool(limit: c.maxQUICStates) {
            QUICFlowState(quic: QUICParser(config: c.quic, crypto: crypto),
                          tls: TLSParser(config: quicTLSConfig))
        }
        dnsTCP = SlotPool(limit: c.maxDNSTCPStates) { DNSParser(config: c.dns) }
        http2 = SlotPool(limit: c.maxHTTP2States) { HTTP2Parser(config: c.http2) }
        http2Ready.reserveCapacity(c.http2.maxStreams)
        http2Body.reserveCapacity(Engine.http2BodyCapacity)
        http2BodyPieces.reserveCapacity(Engine.http2BodyPieceCapacity)
        pgsql = SlotPool(limit: c.maxPgSQLStates) { PgSQLParser(config: c.pgsql) }
        smb = SlotPool(limit: c.maxSMBStates) { SMBParser(config: c.smb) }
        dcerpc = SlotPool(limit: c.maxDCERPCStates) { DCERPCParser(config: c.dcerpc) }
        smbPipes = SlotPool(limit: c.maxSMBPipeStates) { DCERPCParser(config: c.smbPipeDCERPC) }
        smbPipeSlot = [Int32](repeating: -1, count: max(0, c.maxSMBStates))
        smbPipeFile = [UInt64](repeating: 0, count: max(0, c.maxSMBStates))
        sipTCP = SlotPool(limit: c.maxSIPTCPStates) { SIPStream() }
        ssh = SlotPool(limit: c.maxSSHStates) { SSHParser(config: c.ssh) }
        ftp = SlotPool(limit: c.maxFTPStates) { FTPParser(config: c.ftp) }
        smtp = SlotPool(limit: c.maxSMTPStates) { SMTPParser(config: c.smtp) }
        dns = DNSParser(config: c.dns)
        let capacity = flows.capacity
        let given = definitions.flatMap { $0.flowCapacity == capacity ? $0 : nil }
        let stages = given ?? EngineDefinitions(config: c, flowCapacity: capacity)
        webFilter = stages.webFilter
        appID = stages.appID
        av = stages.av
        fw = stages.fw
        alertTxLogged = Array(repeating: 0, count: flows.capacity)
        dnsUDPTransactions = Array(repeating: 0, count: flows.capacity)
        anomalyLog = AnomalyLogState(c.anomalyLog, flowSlots: capacity)
        guard given != nil else { return }
        detect = stages.detect
        // Observers do not run in an initializer: what `detect`'s didSet does.
        detect?.reserveBodyPieces(transactions: config.http.maxPendingTransactions)
        self.config.webFilter = stages.webFilterPolicy
        self.config.appID = stages.appIDSettings
        self.config.antivirus = stages.antivirus
        self.config.firewall = stages.firewall
    }

    // MARK: Per packet

    /// Runs one captured frame through the engine. Events go to `eve`'s buffer; the caller
    /// flushes it when it likes.
    @discardableResult
    public func process(frame: ByteView, linkType: LinkType, timestamp: Timestamp, wireLength: Int,
                        sourceMAC: MACAddress = .none) -> PacketDecision {
        process(frame: frame, rawLinkType: linkType.rawValue, timestamp: timestamp, wireLength: wireLength,
                sourceMAC: sourceMAC)
    }

    /// The same, for a link type as pcap numbers it (capture files).
    @discardableResult
    ///
    /// `sourceMAC`: the sender's MAC when the frame has no Ethernet header but the capture knows
    /// it (NFQUEUE's NFQA_HWADDR); used only when the frame itself carries none.
    public func process(frame: ByteView, rawLinkType: UInt32, timestamp: Timestamp, wireLength: Int,
                        sourceMAC: MACAddress = .none) -> PacketDecision {
        decision = PacketDecision()
        lastFlowIsNew = false
        packetStreamEvents = StreamEvents()
        packetAppEvents = AppLayerEvents()
        packetAppEventsProto = .unknown
        stats.packets &+= 1
        stats.bytes &+= UInt64(wireLength)
        if now < timestamp { now = timestamp }
        let decoded = decoder.decode(frame, rawLinkType: rawLinkType, timestamp: timestamp, into: &packet)
        // Before the decode verdict: alerts on packets that reach no flow name the sender too.
        if !packet.srcMAC.isPresent { packet.srcMAC = sourceMAC }
        eve.packetEther = EVEPacketEther(src: packet.src, srcPort: packet.srcPort,
                                         srcMAC: packet.srcMAC, dstMAC: packet.dstMAC)
        guard decoded == .decoded else {
            // Ports of a header that failed to decode are not the packet's: no event reports them.
            if packet.transportInvalid {
                packet.srcPort = 0
                packet.dstPort = 0
            }
            logFlowlessAnomalies()
            // A rebuilt datagram whose transport header is broken: its completing fragment is a
            // packet too, judged first (`completingFragment`).
            if packet.reassembled && !completingFragment() { return decision }
            if packet.arpOpcode != 0 {
                if detect != nil { detectARP() }
                return decision
            }
            // A fail-closed firewall must not forward what it cannot read: an invalid packet
            // meets the packet tables, and so does a held fragment (session 12): it is forwarded
            // now, before its datagram is judged, and Suricata's packet tables see every
            // fragment. Without ports, it passes only a rule that accepts it by address or
            // fragment bits (EngineFirewall.swift).
            if decoded == .invalid || decoded == .fragmentHeld, fw.rules != nil {
                guard firewallFlowless(ports: !packet.transportInvalid && decoded != .fragmentHeld) else {
                    stats.blockedPackets &+= 1
                    return decision
                }
                if fw.passPacket { return decision }
            }
            if detect != nil { detectUndecoded() }
            return decision
        }
        // The fragment that completed this datagram is a packet too, judged by the firewall and
        // the rules before the datagram (EngineAnomalies.swift).
        if packet.reassembled && !completingFragment() { return decision }
        flows.expire(now: now, budget: config.expiryBudgetPerPacket) { ref, flow, reason in
            self.endFlow(ref, &flow, reason)
        }
        if packet.tunnelProto != 0 { trackTunnelLayer() }
        guard var tracked = flows.track(packet, onEnd: { ref, flow, reason in
            self.endFlow(ref, &flow, reason)
        }) else {
            logFlowlessAnomalies()
            untrackedPacket()
            return decision
        }
        lastFlow = tracked.ref
        lastFlowIsNew = tracked.isNew
        if midstreamReverses(tracked.ref, tracked.direction) {
            flows.reverse(tracked.ref)
            tracked.direction = .toClient
        }
        if tracked.isNew {
            appIDFlowStarted(tracked.ref)
            firewallFlowStarted(tracked.ref)
            ftpFlowStarted(tracked.ref)
        }
        if flows.engineFlags(tracked.ref) & FlowBits.blocked != 0 {
            decision = PacketDecision(verdict: .drop, response: .none, source: .flowBlocked)
            blockedFlowPacket(tracked.ref)
            firewallCount(tracked.ref, flowBlocked: true)
            return decision
        }
        if midstreamRefused(tracked.ref, tracked.direction) { return decision }
        if fw.rules != nil && !firewallPacket(tracked.ref, tracked.direction) {
            firewallCount(tracked.ref, flowBlocked: false)
            stats.blockedPackets &+= 1
            if fw.flowDrop { flows.withFlow(tracked.ref) { $0.engineFlags |= FlowBits.blocked | FlowBits.ipsBlocked } }
            return decision
        }
        if detect != nil {
            detectBegin(tracked.ref, tracked.direction)
            if fw.passPacket { detectCursor = DetectCursor() }
        }
        reassembler.beginPacket()
        switch packet.ipProto {
        case IPProto.tcp:
            // The state machine's events (raised in `track`) before the TCP step inspects.
            packetStreamEvents.formUnion(flows.packetStreamEvents)
            processTCP(tracked.ref, tracked.direction)
            // Reassembly's events, for the packet rules (the state machine's are in already).
            packetStreamEvents.formUnion(reassembler.packetEvents)
            forwardedOverlapConflict()
        case IPProto.udp: processUDP(tracked.ref, tracked.direction)
        default: break
        }
        if detect != nil && !fw.dropped { detectPacketRules(tracked.ref) }
        logAnomalies(tracked.ref, tracked.direction)
        if fw.rules != nil {
            firewallCount(tracked.ref, flowBlocked: false)
            if fw.passFlow { flows.withFlow(tracked.ref) { $0.engineFlags |= FlowBits.noDetect } }
        }
        if decision.verdict != .accept {
            stats.blockedPackets &+= 1
            let bits = flowBlockBits()
            if bits != 0 { flows.withFlow(tracked.ref) { $0.engineFlags |= bits } }
        } else {
            if detectCursor.flowScopeDrop && config.modes.ids {
                // A flow-scoped drop rule matched in IDS mode: no more detection on this flow.
                flows.withFlow(tracked.ref) { $0.engineFlags |= FlowBits.noDetect }
            }
            checkBypass(tracked.ref, tracked.direction)
        }
        return decision
    }

    /// Ends every flow (end of a capture, shutdown): pending transactions and flow events are
    /// written, then the final stats event.
    public func finish() {
        flows.removeAll { ref, flow, reason in self.endFlow(ref, &flow, reason) }
        decoder.expireFragments(now: Timestamp(seconds: Int64.max / 2_000_000, micros: 0))
        writeStats()
    }

    // MARK: TCP

    func processTCP(_ ref: FlowRef, _ direction: Direction) {
        // Flows the app layer is done with (encrypted TLS, most packets) need no copy of the flow.
        let done = flows.engineFlags(ref)
        if done & FlowBits.appDone != 0 {
            if done & FlowBits.encrypted == 0 { detectStreamOnly(ref, direction) }
            return
        }
        // The fields read in place: `flows.flow(ref)` copied the whole flow per packet.
        let (startBits, startApp, startSlot, meta) = flows.reading(ref) { f in
            (f.engineFlags, f.appProto, f.appSlot, Engine.endpoints(&f))
        }
        var bits = startBits
        var app = startApp
        var slot = startSlot
        let time = packet.timestamp
        reassembler.process(packet, ref: ref, flows: &flows, direction: direction) { data, chunk in
            self.streamData(ref, data, chunk, meta: meta, time: time, app: &app, slot: &slot, bits: &bits)
        }
        if bits & FlowBits.parserDone != 0 && appIDDone(ref) && !avFollowsStream(ref) { bits |= FlowBits.appDone }
        // withFlow, not `flows[ref].x = …`: the subscript's _modify allocates in debug builds.
        flows.withFlow(ref) { f in
            f.appProto = app
            f.appSlot = slot
            f.engineFlags = bits
        }
    }

    /// In-order stream bytes of one direction of a TCP flow.
    func streamData(_ ref: FlowRef, _ data: ByteView, _ chunk: StreamChunk, meta: EVEEndpoints, time: Timestamp,
                    app: inout AppProto, slot: inout Int32, bits: inout UInt32) {
        let wasEncrypted = bits & FlowBits.encrypted != 0
        // Reassembly's events of this packet so far, for the inspections below.
        packetStreamEvents.formUnion(chunk.events)
        defer { if detect != nil && !wasEncrypted && !fw.dropped { detectStream(data, chunk, app: app) } }
        appIDPayload(ref, data, chunk.direction, meta)
        avMailData(ref, data, chunk, meta)
        if bits & FlowBits.parserDone != 0 { return }
        if app == .unknown {
            // The probe reads this direction's undecided bytes so far followed by this chunk
            // (ProbeBuffers: a request sent a byte or three per segment is still recognised).
            var entry = ProbeBuffers.entry(ofAppSlot: slot)
            if let e = entry, chunk.gapBefore { probes.clear(e, chunk.direction) }
            if entry == nil, let e = probes.acquire() {
                entry = e
                slot = ProbeBuffers.appSlot(ofEntry: e)
            }
            var heldBefore = 0
            var probe = data
            if let e = entry {
                heldBefore = probes.append(e, chunk.direction, data)
                if heldBefore > 0, let all = probes.view(e, chunk.direction) { probe = all }
            }
            app = detectTCP(probe, chunk.direction, meta: meta, bits: &bits)
            guard app != .unknown else { return }
            // Decided: the entry goes back once its bytes are fed; the parser takes the slot.
            slot = -1
            defer { if let e = entry { probes.release(e) } }
            if app == .failed { bits |= FlowBits.parserDone; return }
            stats.appDetected[Int(app.rawValue)] &+= 1
            appRevealed(by: chunk.direction, bits: &bits)
            guard let s = acquire(app) else {
                app = .failed
                bits |= FlowBits.parserDone
                return
            }
            slot = s
            if let e = entry {
                // The parser starts at the stream's first byte: the other side's kept bytes
                // (they came before this chunk), then this side's, then the chunk.
                let other: Direction = chunk.direction == .toServer ? .toClient : .toServer
                if chunk.direction == .toServer && heldBefore == 0 && AppLayerDetect.clientSpeaksFirst(app)
                    && probes.view(e, other) != nil {
                    // The server spoke before the client on a protocol whose client speaks
                    // first (Suricata's applayer_wrong_direction_first_data).
                    raiseAppEvents(AppLayerEvents.Generic.wrongDirectionFirstData, app)
                }
                if let held = probes.view(e, other) {
                    feedApp(ref, held, StreamChunk(direction: other, gapBefore: false, streamOffset: 0),
                            meta: meta, time: time, app: &app, slot: &slot, bits: &bits)
                }
                if heldBefore > 0, let held = probes.view(e, chunk.direction, count: heldBefore) {
                    var first = chunk
                    first.streamOffset = chunk.streamOffset &- UInt64(heldBefore)
                    feedApp(ref, held, first, meta: meta, time: time, app: &app, slot: &slot, bits: &bits)
                }
            }
        }
        feedApp(ref, data, chunk, meta: meta, time: time, app: &app, slot: &slot, bits: &bits)
    }

    /// In-order bytes of one direction to the flow's parser (its protocol is known).
    func feedApp(_ ref: FlowRef, _ data: ByteView, _ chunk: StreamChunk, meta: EVEEndpoints, time: Timestamp,
                 app: inout AppProto, slot: inout Int32, bits: inout UInt32) {
        guard slot >= 0 else { return }
        var m = meta
        m.appProto = app
        let i = Int(slot)
        switch app {
        case .http:
            if detect != nil { detectHTTPBegin() }
            let firstSeq = http.items[i].feedStartSequence(chunk.direction)
            feedHTTP(ref, i, data, chunk, m)
            if http.items[i].events.contains(.framingIgnored) { stats.httpFramingIgnored &+= 1 }
            if !http.items[i].appEvents.isEmpty {
                // The parser's events are one word per feed: a feed that crossed a message
                // boundary (pipelined requests) cannot say whose they are, so no `tx_id` then.
                let lastSeq = http.items[i].messageSequence(chunk.direction)
                raiseAppEvents(http.items[i].appEvents, .http, tx: firstSeq == lastSeq ? UInt64(lastSeq) : nil)
            }
            if fw.rules != nil && !firewallHTTP(ref, i, chunk.direction) { return }
            if detect != nil { detectHTTP(i, chunk.direction, payload: data) }
            if chunk.direction == .toServer { httpRequests(ref, i, m) }
            let h2 = http.items[i].events.contains(.tunnel) ? prepareHTTP2Upgrade(i) : nil
            logHTTP(i, time: time, m)
            if let h2 { upgradeToHTTP2(ref, i, h2, data, chunk, m, time: time, app: &app, slot: &slot) }
        case .tls:
            tls.items[i].feed(data, direction: chunk.direction, gap: chunk.gapBefore)
            let events = tls.items[i].takeEvents()
            let anomalies = tls.items[i].takeAppEvents()
            if !anomalies.isEmpty { raiseAppEvents(anomalies, .tls) }
            if bits & FlowBits.helloChecked == 0 && tls.items[i].clientHello != nil {
                bits |= FlowBits.helloChecked
                clientHello(ref, tls.items[i], quic: false, m)
            }
            if fw.rules != nil && !firewallTLS(ref, i, chunk.direction) { return }
            if detect != nil { detectTLS(i, events) }
            if events.contains(.serverHelloDone) && bits & FlowBits.helloLogged == 0 {
                eve.writeTLS(tls.items[i], time: time, m, webFilter: helloWebFilter(tls.items[i]))
                bits |= FlowBits.helloLogged
            }
            if tls.items[i].encrypted { bits |= FlowBits.parserDone | FlowBits.encrypted }
        case .http2:
            http2Data(ref, i, data, chunk, m, time: time)
        case .dns:
            if fw.rules != nil && !firewallMessage(ref, .dns, chunk.direction) { return }
            dnsTCP.items[i].feedStream(data, direction: chunk.direction, gap: chunk.gapBefore) { dir, parser in
                let wf = self.dnsMessage(ref, parser, m)
                if self.detect != nil { self.detectDNS(parser, dir) }
                self.eve.writeDNS(parser, time: time, dir == .toServer ? m : m.reversed, webFilter: wf)
            }
            let anomalies = dnsTCP.items[i].takeAppEvents()
            if !anomalies.isEmpty { raiseAppEvents(anomalies, .dns) }
        case .pgsql:
            pgsqlData(i, data, chunk, m, time: time, bits: &bits)
        case .smb:
            smbData(i, data, chunk, m, time: time)
        case .dcerpc:
            dcerpcData(i, data, chunk, m, time: time)
        case .ssh:
            sshData(i, data, chunk, m, time: time, bits: &bits, slot: &slot)
        case .ftp:
            ftpData(i, data, chunk, m, time: time, bits: &bits)
        case .smtp:
            smtpData(ref, i, data, chunk, m, time: time, app: &app, slot: &slot, bits: &bits)
        case .sip:
            sipTCP.items[i].feed(data, direction: chunk.direction, gap: chunk.gapBefore) { dir, msg in
                if let s = SIP.parse(msg) { self.eve.writeSIP(s, datagram: msg, time: time, dir == .toServer ? m : m.reversed) }
            }
        default:
            break
        }
    }

    func detectTCP(_ data: ByteView, _ direction: Direction, meta: EVEEndpoints, bits: inout UInt32) -> AppProto {
        let shift = FlowBits.probeShift + (direction == .toServer ? 0 : 4)
        let tries = (bits >> shift) & 0xf
        let serverPort = meta.dstPort, clientPort = meta.srcPort
        let result = AppLayerDetect.probeTCP(data, direction: direction, serverPort: serverPort,
                                             clientPort: clientPort)
        if result == .failed {
            // The other direction may still tell (server-first protocols), up to the limit.
            let next = tries + 1
            bits = (bits & ~(0xf << shift)) | (min(next, 15) << shift)
            let other = (bits >> (FlowBits.probeShift + (direction == .toServer ? 4 : 0))) & 0xf
            if next >= UInt32(config.detectionChunks) && other >= UInt32(config.detectionChunks) {
                return .failed
            }
            if next >= UInt32(config.detectionChunks) * 2 { return .failed }
            return .unknown
        }
        return result
    }

    func logHTTP(_ i: Int, time: Timestamp, _ m: EVEEndpoints) {
        let n = http.items[i].readyCount
        guard n > 0 else { return }
        for k in 0..<n {
            let tx = http.items[i].ready(k)
            eve.writeHTTP(tx, parser: http.items[i], time: time, m, webFilter: httpWebFilter(http.items[i], tx))
        }
        http.items[i].consumeReady()
    }

    // MARK: UDP

    func processUDP(_ ref: FlowRef, _ direction: Direction) {
        if flows.engineFlags(ref) & FlowBits.appDone != 0 { return }
        // The fields read in place: `flows.flow(ref)` copied the whole flow per packet.
        let (startBits, startApp, startSlot, meta) = flows.reading(ref) { f in
            (f.engineFlags, f.appProto, f.appSlot, Engine.endpoints(&f))
        }
        var bits = startBits
        var app = startApp
        var m = meta
        let payload = packet.payload
        let time = packet.timestamp
        appIDPayload(ref, payload, direction, m)
        if bits & FlowBits.parserDone != 0 {
            if appIDDone(ref) { flows.withFlow(ref) { $0.engineFlags |= FlowBits.appDone } }
            return
        }
        if app == .unknown {
            if DHCP.isDHCPPorts(m.srcPort, m.dstPort) {
                app = .dhcp
            } else if AppLayerDetect.isDNSPort(m.srcPort) || AppLayerDetect.isDNSPort(m.dstPort) {
                app = .dns
            } else if QUICParser.probe(payload) {
                guard let s = acquire(.quic) else {
                    flows.withFlow(ref) { f in
                        f.appProto = .failed
                        f.engineFlags = bits | FlowBits.parserDone
                    }
                    return
                }
                app = .quic
                flows.withFlow(ref) { $0.appSlot = s }
            } else if dns.parse(payload), AppLayerDetect.looksLikeDNS(dns.message, length: payload.count) {
                app = .dns
            } else if SIP.probe(payload) {
                app = .sip
            } else {
                let tries = ((bits >> FlowBits.probeShift) & 0xf) + 1
                bits = (bits & ~(0xf << FlowBits.probeShift)) | (min(tries, 15) << FlowBits.probeShift)
                if tries >= UInt32(config.detectionDatagrams) {
                    app = .failed
                    bits |= FlowBits.parserDone
                }
                flows.withFlow(ref) { f in
                    f.appProto = app
                    f.engineFlags = bits
                }
                return
            }
            stats.appDetected[Int(app.rawValue)] &+= 1
            flows.withFlow(ref) { $0.appProto = app }
        }
        m.appProto = app
        if fw.rules != nil && !firewallMessage(ref, app, direction) { return }
        switch app {
        case .dns:
            // The parser is shared by every UDP flow (and probed other flows' datagrams).
            dns.appEvents = []
            if startApp != .dns { dnsUDPFlowStarted(ref) }
            defer {
                let anomalies = dns.takeAppEvents()
                if !anomalies.isEmpty { raiseAppEvents(anomalies, .dns) }
            }
            if dns.parse(payload) {
                dns.noteDirection(direction)
                dnsUDPTransaction(ref, direction)
                // One copy into a local: passing the class property `dns` to each of the three
                // copied the parser (five array retains and releases) per call.
                let parser = dns
                let wf = dnsMessage(ref, parser, m)
                if detect != nil { detectDNS(parser, direction) }
                eve.writeDNS(parser, time: time, direction == .toServer ? m : m.reversed, webFilter: wf)
            } else {
                stats.dnsParseFailures &+= 1
            }
        case .dhcp:
            // One message per datagram: nothing kept between packets (the device table is
            // built from the events).
            if let msg = DHCP.parse(payload) {
                eve.writeDHCP(msg, datagram: payload, time: time, direction == .toServer ? m : m.reversed)
            }
        case .sip:
            // One message per datagram, like DHCP: nothing kept between packets.
            if let msg = SIP.parse(payload) {
                eve.writeSIP(msg, datagram: payload, time: time, direction == .toServer ? m : m.reversed)
            }
        case .quic:
            let slot = startSlot >= 0 ? startSlot : flows.flow(ref).appSlot
            guard slot >= 0 else { return }
            let state = quic.items[Int(slot)]
            state.quic.feed(payload, direction: direction) { crypto, dir in
                state.tls.feedHandshake(crypto, direction: dir)
            }
            if state.tls.clientHello != nil && bits & FlowBits.helloLogged == 0 {
                clientHello(ref, state.tls, quic: true, m)
                eve.writeQUIC(version: state.quic.version, tls: state.tls, time: time, m,
                              webFilter: helloWebFilter(state.tls))
                bits |= FlowBits.helloLogged
            }
            if detect != nil { detectQUIC(state) }
            if state.quic.done { bits |= FlowBits.parserDone }
            flows.withFlow(ref) { $0.engineFlags = bits }
        default:
            break
        }
    }

    // MARK: Slots and flow end

    func acquire(_ app: AppProto) -> Int32? {
        var slot: Int32?
        switch app {
        case .http:
            slot = http.acquire()
            if let s = slot { http.items[Int(s)].reset() }
        case .tls:
            slot = tls.acquire()
            if let s = slot { tls.items[Int(s)].reset() }
        case .quic:
            slot = quic.acquire()
            if let s = slot {
                let state = quic.items[Int(s)]
                state.quic.reset()
                state.tls.reset()
            }
        case .dns:
            slot = dnsTCP.acquire()
            if let s = slot { dnsTCP.items[Int(s)].reset() }
        case .http2:
            slot = http2.acquire()
            if let s = slot { http2.items[Int(s)].reset() }
        case .pgsql:
            slot = pgsql.acquire()
            if let s = slot { pgsql.items[Int(s)].reset() }
        case .smb:
            slot = smb.acquire()
            if let s = slot { smb.items[Int(s)].reset() }
        case .dcerpc:
            slot = dcerpc.acquire()
            if let s = slot { dcerpc.items[Int(s)].reset() }
        case .sip:
            slot = sipTCP.acquire()
            if let s = slot { sipTCP.items[Int(s)].reset() }
        case .ssh:
            slot = ssh.acquire()
            if let s = slot { ssh.items[Int(s)].reset() }
        case .ftp:
            slot = ftp.acquire()
            if let s = slot { ftp.items[Int(s)].reset() }
        case .smtp:
            slot = smtp.acquire()
            if let s = slot { smtp.items[Int(s)].reset(); smtpFilesReset(Int(s)) }
        default:
            return nil
        }
        if slot == nil { stats.appStateExhausted &+= 1 }
        return slot
    }

    /// A flow is ending (timeout, eviction, close, shutdown): write what its parsers still
    /// hold, give back its parser slot and stream storage, write the flow event.
    func endFlow(_ ref: FlowRef, _ flow: inout Flow, _ reason: FlowEndReason) {
        let slot = flow.appSlot
        var m = endpoints(flow)
        m.appProto = flow.appProto
        if slot >= 0 {
            let i = Int(slot)
            switch flow.appProto {
            case .http:
                // Bodies the end closes are inspected (EngineBodyEnd.swift).
                let saved = detectFlowEndBegin(ref, &flow)
                finishHTTP(ref, i, m, time: flow.lastSeen, ips: saved != nil)
                if let saved { detectFlowEndHTTP(i, restoring: saved) }
                if flow.engineFlags & FlowBits.ipsBlocked == 0 { logHTTP(i, time: flow.lastSeen, m) }
                http.release(slot)
            case .tls:
                if flow.engineFlags & FlowBits.helloLogged == 0 && tls.items[i].clientHello != nil {
                    eve.writeTLS(tls.items[i], time: flow.lastSeen, m, webFilter: helloWebFilter(tls.items[i]))
                }
                tls.release(slot)
            case .quic:
                quic.release(slot)
            case .dns:
                dnsTCP.release(slot)
            case .http2:
                if let saved = detectFlowEndBegin(ref, &flow) {
                    detectFlowEndHTTP2(i)
                    detectCursor = saved
                }
                http2.items[i].finish()
                if av.scanner != nil { avSettleHTTP2(Int(ref.index), i, m, time: flow.lastSeen, enforce: false) }
                if flow.engineFlags & FlowBits.ipsBlocked == 0 { logHTTP2(i, time: flow.lastSeen, m) }
                http2.release(slot)
            case .pgsql:
                pgsqlEnd(i, flow, m)
                pgsql.release(slot)
            case .smb:
                smbEnd(i, flow, m)
                smbPipeRelease(i)
                smb.release(slot)
            case .dcerpc:
                dcerpcEnd(i, flow, m)
                dcerpc.release(slot)
            case .sip:
                // A message still incomplete at the end is not logged (no framing to trust).
                sipTCP.release(slot)
            case .ssh:
                sshEnd(i, flow, m)
                ssh.release(slot)
            case .ftp:
                ftpEnd(i, flow, m)
                ftp.release(slot)
            case .smtp:
                smtpEnd(i, flow, m)
                smtp.release(slot)
            default:
                break
            }
            flow.appSlot = -1
        } else if let e = ProbeBuffers.entry(ofAppSlot: slot) {
            probes.release(e)
            flow.appSlot = -1
        }
        avFlowEnded(ref, m, time: flow.lastSeen)
        drainHeldAppEvents(ref, &flow)
        if flow.appProto == .ftpData { ftpDataFlowEnded(flow) }
        reassembler.release(ref, flow: &flow)
        writeFlowEvent(ref, flow, reason, alerted: detectEndFlow(ref))
    }

    func endpoints(_ f: Flow) -> EVEEndpoints {
        var flow = f
        return Engine.endpoints(&flow)
    }

    /// The same as a static function taking the flow `inout` (read only), so a caller reading
    /// it in place through `FlowTable.reading` does not copy it.
    @inline(__always)
    static func endpoints(_ f: inout Flow) -> EVEEndpoints {
        EVEEndpoints(flowID: f.id, src: f.clientIP, srcPort: f.clientPort, dst: f.serverIP,
                     dstPort: f.serverPort, ipProto: f.ipProto, appProto: f.appProto,
                     srcMAC: f.clientMAC, dstMAC: f.serverMAC)
    }
}
