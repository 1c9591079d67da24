import UTMCore
import UTMDecode
import UTMFlow
import UTMAppLayer
import UTMOutput
import UTMDetect

extension FlowBits {
    /// The TLS handshake is over: what follows is encrypted records, which content rules do
    /// not inspect (Suricata's default `encryption-handling`), so the IPS no longer
    /// reassembles the flow. Packet rules (header, flags, dsize) still see every packet.
    static let encrypted: UInt32 = 1 << 7
}

/// The packet being inspected, as the detection hooks need it across the engine's stages.
struct DetectCursor {
    /// A drop or reject on this packet that applies to its whole flow (RuleScope.swift).
    var flowScopeDrop = false
    /// Packet rules are being evaluated (after the stream and app layer).
    var inPacketRules = false
    var ref = FlowRef(index: -1, generation: 0)
    var slot = -1
    var facts = PacketFacts()
    var time: Int64 = 0
    /// The flow as it was when the packet arrived: alerts read it while the stream stage holds
    /// the flow table exclusively.
    var flow = Flow()
    /// The HTTP header phase still to inspect for the transaction being inspected (0: none).
    var httpPhase: UInt8 = 0
    /// Inspecting what a flow's end delivered (EngineBodyEnd.swift): alerts only, no verdict
    /// (the packet being processed belongs to another flow, or to none).
    var atFlowEnd = false
    /// While an HTTP/1 transaction's buffers are inspected: its parser and `ready` index, so
    /// an alert carries the transaction's `http` object; -1 otherwise.
    var httpParser = -1
    var httpReady = -1
    /// The same for an HTTP/2 stream: its parser slot and stream index.
    var http2Parser = -1
    var http2Stream = -1
    /// The same for a TLS handshake's inspection (its parser slot) and a DNS query's
    /// question (`dnsQuestion` >= 0: its name as inspected, type and the message id).
    var tlsParser = -1
    var dnsQuestion = -1
    var dnsName = ByteView.empty
    var dnsType: UInt16 = 0
    var dnsID: UInt16 = 0
}

/// IPS wiring: builds `PacketFacts` and inspection buffers from the engine's stages, runs the
/// `DetectEngine` at each inspection point, and turns matches into alerts, drops and rejects.
extension Engine {
    /// Loads (or replaces) the IPS definitions for this worker. `sharing`: the per-host
    /// detection state of the other workers' engines over the same definitions (thresholds
    /// and host bits count a host's flows whichever worker sees them).
    public func loadDetection(_ defs: DetectDefinitions, sharing: SharedHostState? = nil) {
        detect = DetectEngine(definitions: defs, config: Engine.detectConfig(flowCapacity: flows.capacity), sharing: sharing)
        loadFileDetection(defs)
    }

    /// Per packet, after flow tracking: packet-level rules.
    func detectPacket(_ ref: FlowRef, _ direction: Direction) {
        detectBegin(ref, direction)
        detectPacketRules(ref)
    }

    /// Per packet, before the stream and app layer: the facts every inspection point reads.
    func detectBegin(_ ref: FlowRef, _ direction: Direction) {
        guard let d = detect else { return }
        d.beginPacket()
        // The flow is copied once, straight into the cursor, and read there: a local copy and
        // then the cursor built from it copied its ~330 bytes twice per packet.
        flows.copy(ref, into: &detectCursor.flow)
        guard detectCursor.flow.engineFlags & FlowBits.noDetect == 0 else { detectCursor = DetectCursor(); return }
        let slot = d.flowSlot(index: ref.index, flowID: detectCursor.flow.id)
        var f = packetHeaderFacts(direction)
        if packet.ipProto == IPProto.tcp {
            appRevealAcknowledged(ref, direction)
            f.established = Engine.detectEstablished(midstream: detectCursor.flow.midstream,
                                                     state: detectCursor.flow.tcpState,
                                                     completedNow: detectCursor.flow.handshakeCompletedNow,
                                                     packets: detectCursor.flow.packets, modes: config.modes)
        } else {
            f.established = detectCursor.flow.hasBothDirections
        }
        f.appProto = detectCursor.flow.appProto
        if detectCursor.flow.appProto == .ftpData { f.ftpDataCommand = ftpDataCommand(detectCursor.flow.id) }
        f.clientStreamBytes = Int(truncatingIfNeeded: detectCursor.flow.toServer.highestEnd)
        f.serverStreamBytes = Int(truncatingIfNeeded: detectCursor.flow.toClient.highestEnd)
        detectCursor.flowScopeDrop = false
        detectCursor.inPacketRules = false
        detectCursor.ref = ref
        detectCursor.slot = slot
        detectCursor.facts = f
        detectCursor.time = packet.timestamp.seconds
    }

    /// What the packet's own headers say, for threat detection and the firewall alike (the
    /// flow-dependent facts, established and app protocol, are the caller's).
    func packetHeaderFacts(_ direction: Direction) -> PacketFacts {
        var f = PacketFacts()
        f.ipProto = packet.ipProto
        f.source = packet.src
        f.destination = packet.dst
        f.sourcePort = packet.srcPort
        f.destinationPort = packet.dstPort
        f.payloadSize = packet.payload.count
        f.direction = direction
        f.isFragment = packet.reassembled
        f.tcpFlags = packet.tcpFlags.rawValue
        f.icmpType = packet.icmpType
        f.icmpCode = packet.icmpCode
        f.icmpID = packet.icmpID
        f.ipID = UInt16(truncatingIfNeeded: packet.ipID)
        f.ttl = packet.ttl
        f.time = packet.timestamp.seconds
        sessionSixHeaderFacts(&f)
        return f
    }

    /// The header fields of the session 6 keywords (fragbits, fragoffset, tos, ipopts, seq,
    /// ack, window, tcp.mss, icmp_seq). A reassembled datagram reports no fragment bits and
    /// offset 0, as Suricata's rebuilt header does; IPv4 options are walked only when present.
    @inline(__always)
    func sessionSixHeaderFacts(_ f: inout PacketFacts) {
        f.ipVersion = packet.ipVersion
        if packet.ipVersion == 4 {
            f.tos = packet.tos
            if !packet.reassembled, let field = packet.ipPacket.u16(6) {
                f.ipFragBits = (field & 0x2000 != 0 ? IPFragBits.moreFragments : 0)
                    | (field & 0x4000 != 0 ? IPFragBits.dontFragment : 0)
                    | (field & 0x8000 != 0 ? IPFragBits.reserved : 0)
                f.ipFragOffset = field & 0x1fff
            }
            if packet.ipHeaderLength > 20 {
                f.ipOptions = IPOptionFlags.present(in: packet.ipPacket, headerLength: packet.ipHeaderLength)
            }
        } else if !packet.reassembled {
            f.ipFragOffset = UInt16(truncatingIfNeeded: packet.fragmentOffset >> 3)
        }
        if packet.ipProto == 6 {
            f.tcpSeq = packet.seq
            f.tcpAck = packet.ack
            f.tcpWindow = packet.window
            f.tcpMSS = packet.mss
        }
        f.icmpSeq = packet.icmpSeq
    }

    /// Per packet, after the stream and app layer saw it (Suricata's order): packet-level rules,
    /// with the app protocol this packet may just have revealed.
    func detectPacketRules(_ ref: FlowRef) {
        guard let d = detect, detectCursor.slot >= 0 else { return }
        var f = detectCursor.facts
        f.appProto = packetRuleAppProto(ref)
        f.anomalies = packetAnomalies()
        beginRuleScope(d, f)
        // Encrypted TLS records: no payload inspection (Suricata's no-payload-inspection flag
        // for encrypted flows); header, flags and dsize rules still see the packet.
        // Inline, a retransmission that rewrote forwarded bytes is inspected as the receiver
        // keeps it (it is not forwarded); IDS, as it was sent (EngineOverlap.swift).
        let payload = detectCursor.flow.engineFlags & FlowBits.encrypted != 0
            ? ByteView.empty : (config.modes.ids ? packet.payload : (reassembler.conflictPayload ?? packet.payload))
        let headers = PacketHeaderViews(ip: packet.ipPacket, ipHeaderLength: packet.ipHeaderLength,
                                        transportHeaderLength: packet.transportHeaderLength)
        d.inspectPacket(f, payload: payload, headers: headers, slot: detectCursor.slot, time: detectCursor.time) { i, alert in
            self.detectMatched(i, alert, f)
        }
        d.streamAsPacket = false
        detectCursor.inPacketRules = false
    }

    /// Facts for data sent in `direction` of the current flow (stream chunks, app buffers).
    func detectFacts(_ direction: Direction, app: AppProto, stream: Bool) -> PacketFacts {
        var f = detectCursor.facts
        if f.direction != direction {
            swap(&f.source, &f.destination)
            swap(&f.sourcePort, &f.destinationPort)
            f.direction = direction
        }
        f.appProto = app
        f.isStream = stream
        // Stream and app-layer rules with an event keyword test the packet's events too (as
        // Suricata's match list is checked for every inspection of the packet): the decoder's
        // are final, the stream's and parsers' are those raised so far. At a flow's end the
        // packet being processed is another flow's: none of its events.
        f.anomalies = detectCursor.atFlowEnd ? PacketAnomalies() : packetAnomalies()
        return f
    }

    /// An in-order stream chunk (called from `streamData`, with the app protocol known so far).
    func detectStream(_ data: ByteView, _ chunk: StreamChunk, app: AppProto) {
        guard let d = detect, detectCursor.slot >= 0, streamRulesReadStream() else { return }
        packetStreamEvents.formUnion(chunk.events)
        let f = detectFacts(chunk.direction, app: app, stream: true)
        d.inspectStream(f, chunk: data, gap: chunk.gapBefore, streamOffset: chunk.streamOffset,
                        direction: chunk.direction, slot: detectCursor.slot,
                        time: detectCursor.time) { i, alert in
            self.detectMatched(i, alert, f)
        }
    }

    /// The app layer has finished with this TCP flow, but the IPS still reads its stream.
    func detectStreamOnly(_ ref: FlowRef, _ direction: Direction) {
        guard detect != nil, detectCursor.slot >= 0 else { return }
        let app = detectCursor.flow.appProto
        reassembler.process(packet, ref: ref, flows: &flows, direction: direction) { data, chunk in
            self.detectStream(data, chunk, app: app)
        }
    }

    // MARK: HTTP

    /// Body bytes the HTTP parser delivers during a feed, and where a body ends (empty
    /// `isLast` chunk): the accumulation (BodyAccumulators.swift) inspects a body when it ends.
    func detectHTTPBody(_ chunk: HTTPBodyChunk) {
        guard let d = detect, !chunk.data.isEmpty || chunk.isLast else { return }
        fileDetectSync(d)
        fileDetectBody(chunk)
        d.collectBody(transaction: chunk.transaction, direction: chunk.direction, chunk.data, ended: chunk.isLast)
    }

    func detectHTTPBegin() { detect?.beginBody() }

    /// After a feed of HTTP parser `i`: request/response headers that completed, and bodies.
    /// `payload` is the stream chunk that was fed: a rule that mixes bare payload matches with
    /// HTTP buffers (`pcre:"/^GET/"; pcre:"/x/U"`) reads it as its payload, as Suricata
    /// inspects such a rule's payload part on the stream and its URI part on the transaction.
    ///
    /// Body bytes go to the transaction's accumulation (`DetectEngine.feedBody`), which calls
    /// back for each inspection due: when the body ends, reaches the minimal inspect size, or
    /// fills its accumulator. Headers that completed in the same feed are inspected with the
    /// first of those (each buffer scanned once), or alone when no body inspection is due.
    func detectHTTP(_ i: Int, _ direction: Direction, payload: ByteView = .empty) {
        guard let d = detect, detectCursor.slot >= 0 else { return }
        let slot = detectCursor.slot
        let n = http.items[i].pendingCount
        var k = 0
        while k < n {
            let tx = http.items[i].ready(k)
            // Each transaction its own alerts, even when several complete in one packet.
            if k > 0 { d.beginTransaction() }
            let headersDone = direction == .toServer
                ? tx.method.isPresent : (tx.statusLine.isPresent && !tx.flags.contains(.interimResponse))
            let next = d.progress(slot, direction)
            detectCursor.httpPhase = 0
            if headersDone && tx.sequence >= next {
                d.setProgress(slot, direction, tx.sequence &+ 1)
                detectCursor.httpPhase = direction == .toServer ? 1 : 3
            }
            if let piece = d.collectedBody(transaction: k, direction: direction) {
                // Ended by a gap or the flow's end before its length: a cut, not the body's end.
                let cut = piece.truncated || (piece.ended && tx.flags.contains(direction == .toServer ? .requestBodyTruncated : .responseBodyTruncated))
                d.feedBody(slot: slot, direction: direction, sequence: tx.sequence, piece.data, ended: piece.ended,
                           truncated: cut, client: detectCursor.flow.clientIP, orphan: { seq, held in
                    self.detectHTTPOrphan(d, i, seq, direction, held)
                }) { b in
                    self.detectHTTPInspect(d, i, k, tx, direction, body: b, payload: payload)
                }
            }
            if detectCursor.httpPhase != 0 {
                detectHTTPInspect(d, i, k, tx, direction, body: nil, payload: payload)
            }
            // File rules (session 9): a file of this transaction that ended in the feed.
            fileDetectClose(d, i, k, tx, direction)
            k &+= 1
        }
        fileDetectSweep(direction)
        d.beginBody()
    }

    /// One inspection of transaction `tx` (parser `i`'s `ready(k)`): its header phase when
    /// still due (`detectCursor.httpPhase`), and `body` when given.
    func detectHTTPInspect(_ d: DetectEngine, _ i: Int, _ k: Int, _ tx: HTTPTransaction, _ direction: Direction,
                           body: ByteView?, payload: ByteView) {
        let phase = detectCursor.httpPhase
        detectCursor.httpPhase = 0
        var buffers = InspectionBuffers()
        fillHTTP(&buffers, i, tx, response: direction == .toClient)
        if !payload.isEmpty { buffers[.payload] = payload }
        var mask: UInt8 = phase != 0 ? 1 << phase : 0
        if let b = body {
            if direction == .toServer { buffers[.httpClientBody] = b } else {
                buffers[.httpServerBody] = b
                buffers[.fileData] = b
            }
            mask |= direction == .toServer ? 1 << 2 : 1 << 4
            // A file's name rules with its first body inspection (EngineDetectFiles.swift).
            mask |= fileDetectOpen(&buffers, i, k, tx, direction, file: d.fileFacts)
        }
        let f = detectFacts(direction, app: .http, stream: false)
        // One call for the header and body phases: each buffer is scanned once.
        detectCursor.httpParser = i
        detectCursor.httpReady = k
        d.inspectApp(.http, phaseMask: mask, f, buffers: buffers, slot: detectCursor.slot, time: detectCursor.time) { s, alert in
            self.detectMatched(s, alert, f)
        }
        if d.fileFacts.state != .none { d.fileFacts.clear() }
        detectCursor.httpParser = -1
    }

    /// Held body bytes of an earlier transaction (key `sequence`) whose body never ended, handed
    /// back by the accumulation before the next transaction's body takes the accumulator: with
    /// that transaction's buffers while parser `i` still has it, else as the body alone (its
    /// header buffers are gone with it: rules that need them cannot match, body-only rules can).
    /// Never the current transaction's buffers: its headers must not be joined to another body.
    func detectHTTPOrphan(_ d: DetectEngine, _ i: Int, _ sequence: UInt32, _ direction: Direction, _ held: ByteView) {
        let phase = detectCursor.httpPhase
        detectCursor.httpPhase = 0
        d.beginTransaction()
        let n = http.items[i].pendingCount
        var k = 0
        while k < n && http.items[i].ready(k).sequence != sequence { k &+= 1 }
        if k < n {
            detectHTTPInspect(d, i, k, http.items[i].ready(k), direction, body: held, payload: .empty)
        } else {
            var buffers = InspectionBuffers()
            if direction == .toServer { buffers[.httpClientBody] = held } else {
                buffers[.httpServerBody] = held
                buffers[.fileData] = held
            }
            let f = detectFacts(direction, app: .http, stream: false)
            d.inspectApp(.http, phaseMask: direction == .toServer ? 1 << 2 : 1 << 4, f, buffers: buffers,
                         slot: detectCursor.slot, time: detectCursor.time) { s, alert in
                self.detectMatched(s, alert, f)
            }
        }
        d.beginTransaction()
        detectCursor.httpPhase = phase
    }

    func fillHTTP(_ b: inout InspectionBuffers, _ i: Int, _ tx: HTTPTransaction, response: Bool) {
        let p = http.items[i]
        Engine.put(&b, p, .httpURI, tx.uri)
        Engine.put(&b, p, .httpRawURI, tx.uri)
        Engine.put(&b, p, .httpHost, tx.host)
        Engine.put(&b, p, .httpRawHost, tx.host)
        Engine.put(&b, p, .httpMethod, tx.method)
        Engine.put(&b, p, .httpUserAgent, tx.userAgent)
        Engine.put(&b, p, .httpReferer, tx.referer)
        Engine.put(&b, p, .httpProtocol, tx.protocolName)
        if response {
            // http.header (and the header instances, http.cookie from Set-Cookie, joined
            // values) are then replaced by their normalized form in `fillHTTPComposed`; the
            // block as sent stays http.raw_header's, and http.header's when it cannot be composed.
            Engine.put(&b, p, .httpHeader, tx.responseHeaders)
            Engine.put(&b, p, .httpRawHeader, tx.responseHeaders)
            Engine.put(&b, p, .httpContentType, tx.responseContentType)
            Engine.put(&b, p, .httpStatMsg, tx.statusMessage)
            Engine.put(&b, p, .httpResponseLine, tx.statusLine)
            if tx.status > 0 { Engine.put(&b, p, .httpStatCode, statusField(tx)) }
            // Session 6 header keywords: the header lines as http.response_header's instances.
            Engine.put(&b, p, .httpResponseHeader, tx.responseHeaders)
            Engine.put(&b, p, .httpLocation, tx.location)
        } else {
            Engine.put(&b, p, .httpHeader, tx.requestHeaders)
            Engine.put(&b, p, .httpRawHeader, tx.requestHeaders)
            Engine.put(&b, p, .httpCookie, tx.cookie)
            Engine.put(&b, p, .httpContentType, tx.requestContentType)
            Engine.put(&b, p, .httpRequestHeader, tx.requestHeaders)
        }
        // header_names, start, request_line, accept*, connection, content_len, normalized host.
        fillHTTPComposed(&b, p, tx, response: response)
    }

    /// Lends parser field `field` as buffer `id` (nothing when absent). A static method, not a
    /// nested function: one capturing `b` is boxed on the heap in debug builds, per packet.
    @inline(__always)
    static func put(_ b: inout InspectionBuffers, _ p: HTTPParser, _ id: BufferID, _ field: Field) {
        guard field.isPresent else { return }
        b[id] = p.withField(field) { $0 }
    }

    /// The status code digits inside the status line ("HTTP/1.1 200 OK" → "200").
    func statusField(_ tx: HTTPTransaction) -> Field {
        var f = tx.statusLine
        let protoLen = tx.responseProtocol.isPresent ? Int(tx.responseProtocol.length) : 8
        f.offset = f.offset &+ Int32(protoLen &+ 1)
        f.length = 3
        return f
    }

    // MARK: TLS, DNS

    func detectTLS(_ i: Int, _ events: TLSEvents) {
        guard let d = detect, detectCursor.slot >= 0 else { return }
        let p = tls.items[i]
        detectCursor.tlsParser = i
        defer { detectCursor.tlsParser = -1 }
        if events.contains(.clientHelloDone), let ch = p.clientHello {
            var buffers = InspectionBuffers()
            if ch.sni.isPresent { p.withField(ch.sni) { buffers[.tlsSNI] = $0 } }
            if ch.ja3.isPresent { p.withField(ch.ja3) { buffers[.ja3String] = $0 } }
            if ch.ja3Hash.isPresent { p.withField(ch.ja3Hash) { buffers[.ja3Hash] = $0 } }
            fillClientHelloSession7(&buffers, d, p, ch)
            var f = detectFacts(.toServer, app: .tls, stream: false)
            f.tlsVersion = ch.legacyVersion
            f.tlsStates = TLSStates.clientHello
            d.inspectApp(.tls, phase: 1, f, buffers: buffers, slot: detectCursor.slot, time: detectCursor.time) { s, alert in
                self.detectMatched(s, alert, f)
            }
            if d.uses(.tlsALPN) { detectClientALPN(d, p, ch, buffers, f) }
        }
        if events.contains(.serverHelloDone), let sh = p.serverHello {
            var buffers = InspectionBuffers()
            if sh.ja3s.isPresent { p.withField(sh.ja3s) { buffers[.ja3sString] = $0 } }
            if sh.ja3sHash.isPresent { p.withField(sh.ja3sHash) { buffers[.ja3sHash] = $0 } }
            if sh.random.isPresent { p.withField(sh.random) { Engine.putRandom(&buffers, d, $0) } }
            var f = detectFacts(.toClient, app: .tls, stream: false)
            // The negotiated version (supported_versions), for tls.version / ssl_version.
            f.tlsVersion = sh.version != 0 ? sh.version : sh.legacyVersion
            d.inspectApp(.tls, phase: 2, f, buffers: buffers, slot: detectCursor.slot, time: detectCursor.time) { s, alert in
                self.detectMatched(s, alert, f)
            }
            if sh.alpn.isPresent && d.uses(.tlsALPN) {
                p.withField(sh.alpn) { buffers[.tlsALPN] = $0 }
                d.inspectApp(.tls, phase: 4, f, buffers: buffers, slot: detectCursor.slot, time: detectCursor.time) { s, alert in
                    self.detectMatched(s, alert, f)
                }
            }
        }
        // Session 7: the server's certificates (tls.certs, tls.cert_chain_len).
        if events.contains(.certificateDone) { detectCertificates(d, i) }
    }

    func detectDNS(_ parser: DNSParser, _ direction: Direction) {
        guard let d = detect, detectCursor.slot >= 0 else { return }
        if parser.message.flags.qr {
            // Responses: only `dns.opcode` rules with flow:to_client (phase 2) inspect them.
            var f = detectFacts(direction, app: .dns, stream: false)
            f.dnsOpcode = parser.message.flags.opcode
            // Session 9: dns.rrtype (the answers' types) and dns.rcode.
            if d.usesDNSRecordFacts { Engine.fillDNSFacts(&f, parser.message) }
            d.inspectApp(.dns, phase: 2, f, buffers: InspectionBuffers(), slot: detectCursor.slot, time: detectCursor.time) { s, alert in
                self.detectMatched(s, alert, f)
            }
            detectDNSNames(d, parser, direction)
            return
        }
        let n = parser.message.questionCount
        var q = 0
        while q < n {
            if let question = parser.message.question(q), question.name.isPresent {
                var buffers = InspectionBuffers()
                parser.withField(question.name) { buffers[.dnsQuery] = $0 }
                detectCursor.dnsName = buffers[.dnsQuery] ?? .empty
                detectCursor.dnsType = question.type
                detectCursor.dnsID = parser.message.id
                var f = detectFacts(direction, app: .dns, stream: false)
                f.dnsOpcode = parser.message.flags.opcode
                f.dnsRcode = parser.message.flags.rcode
                f.dnsRRTypes.add(question.type)
                detectCursor.dnsQuestion = q
                d.inspectApp(.dns, phase: 1, f, buffers: buffers, slot: detectCursor.slot, time: detectCursor.time) { s, alert in
                    self.detectMatched(s, alert, f)
                }
                detectCursor.dnsQuestion = -1
            }
            q &+= 1
        }
        detectDNSNames(d, parser, direction)
    }

    // MARK: Actions

    /// A signature matched: the verdict for drop/reject, then the alert (and drop) events.
    func detectMatched(_ i: Int, _ alert: Bool, _ f: PacketFacts) {
        guard let d = detect else { return }
        let sig = d.defs.signatureInfo(i)
        var blocking = false
        let wasAccepted = decision.verdict == .accept
        // At a flow's end there is no packet of it to drop: the match alerts only.
        let ending = detectCursor.atFlowEnd
        switch config.modes.ids || ending ? .alert : (d.actionOverride ?? sig.action) {
        case .drop:
            decision.escalate(to: PacketDecision(verdict: .drop, response: .none, source: .ips))
            blocking = true
        case .reject, .rejectSource, .rejectDestination, .rejectBoth:
            let response: ActiveResponse = packet.ipProto == IPProto.tcp ? .tcpResetBoth : .icmpUnreachable
            decision.escalate(to: PacketDecision(verdict: .reject, response: response, source: .ips))
            blocking = true
        case .alert, .pass:
            break
        }
        // IDS mode: a drop rule alerts, and (flow-scoped) still marks the flow dropped, as
        // Suricata's RuleActionToFlow does whatever the mode; its detection ends with this
        // packet (DetectFlow skips a dropped flow), so it alerts once (drop-protocol-change).
        if config.modes.ids && !ending && sig.action != .alert && sig.action != .pass && d.actionOverride == nil {
            noteDropScope(d, i)
        }
        let flow = detectCursor.flow
        // The flow as the packet found it: the packet that reveals the protocol (a ClientHello,
        // an SSH banner) matches with it already known to the inspection, as in Suricata.
        let app = flow.appProto == .unknown ? f.appProto : flow.appProto
        let e = EVEEndpoints(flowID: flow.id, src: f.source, srcPort: f.sourcePort, dst: f.destination,
                             dstPort: f.destinationPort, ipProto: f.ipProto, appProto: app)
        if alert {
            stats.alerts &+= 1
            d.markAlerted(detectCursor.slot)
            // At a flow's end the alert is the flow's, at its last packet's time.
            let time = ending ? flow.lastSeen : packet.timestamp
            d.defs.alertTexts.withText(i) { msg, cat, meta in
                let rule = EVEAlertRule(gid: sig.gid, sid: sig.sid, rev: sig.rev, msg: msg,
                                        category: cat, severity: sig.priority,
                                        productSeverity: sig.productSeverity, metadataJSON: meta,
                                        blocked: blocking)
                let tx = alertTxSlot()
                if tx >= 0 {
                    eve.writeAlert(rule, time: time, e, flow: flow, tls: tls.items[tx])
                } else if detectCursor.tlsParser >= 0 {
                    eve.writeAlert(rule, time: time, e, flow: flow, tls: tls.items[detectCursor.tlsParser])
                } else if detectCursor.dnsQuestion >= 0 {
                    let c = detectCursor
                    eve.writeAlert(rule, time: time, e, flow: flow,
                                   dns: EVEAlertDNS(id: c.dnsID, rrname: c.dnsName, rrtype: c.dnsType))
                } else if detectCursor.http2Parser >= 0 {
                    eve.writeAlert(rule, time: time, e, flow: flow,
                                   http2: (http2.items[detectCursor.http2Parser], detectCursor.http2Stream))
                } else if detectCursor.httpParser >= 0 {
                    let p = http.items[detectCursor.httpParser]
                    eve.writeAlert(rule, time: time, e, flow: flow, http: (p.ready(detectCursor.httpReady), p))
                } else {
                    eve.writeAlert(rule, time: time, e, flow: flow)
                }
            }
        }
        if blocking { noteDropScope(d, i) }
        if blocking && wasAccepted {
            eve.writeDrop(packet, e, reason: "rules")
        }
    }

    /// A flow ends: whether it alerted (for the flow event), and its detection state is freed.
    func detectEndFlow(_ ref: FlowRef) -> Bool {
        guard let d = detect else { return false }
        let alerted = d.hasAlerted(Int(ref.index))
        d.endFlow(index: ref.index)
        return alerted
    }
}
