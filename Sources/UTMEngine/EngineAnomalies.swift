import UTMCore
import UTMDecode
import UTMFlow
import UTMAppLayer
import UTMOutput
import UTMDetect

/// Anomaly events for rules (session 10): `decode-event`, `stream-event` and `app-layer-event`.
///
/// The decoder marks a packet's anomalies in `packet.events`; the TCP layer and the app-layer
/// parsers add theirs to `packetStreamEvents` / `packetAppEvents` while the packet goes
/// through them. Packet rules read the three words (`PacketFacts.anomalies`), and only
/// packets that raised one meet the event rules (`DetectDefinitions.eventPacket`).
///
/// Why a flowless path: the packets Suricata's decoder rules are about (truncated headers,
/// bad lengths, overlapping fragments) often never reach a flow. They are inspected here by
/// the event rules alone: no other rule reads a packet the decoder could not read whole.
extension Engine {
    /// The anomalies of the current packet, for its packet rules.
    @inline(__always)
    func packetAnomalies() -> PacketAnomalies {
        // Stream chunks and app buffers are inspected during the TCP step, where the flow table
        // and the reassembler are exclusively accessed: `process` copies the state machine's
        // events before that step and each delivered chunk brings the reassembler's
        // (`StreamChunk.events`, taken in `streamData`).
        var a = PacketAnomalies(decode: packet.events.rawValue, stream: packetStreamEvents.rawValue,
                                app: packetAppEvents.rawValue)
        a.appRaisedBy = packetAppEventsProto
        return a
    }

    /// A packet that did not decode into a flow (invalid, or a fragment held for reassembly):
    /// the event rules judge it when it raised decoder events; when its IP header is sound (a
    /// fragment, or only its transport header failed: `DecodedPacket.transportInvalid`) so do
    /// the packet rules that need no ports and no payload (DetectEngine.inspectUndecoded). A
    /// drop drops it.
    func detectUndecoded() {
        guard let d = detect else { return }
        let headerRules = packet.transportInvalid || packet.moreFragments || packet.fragmentOffset != 0
        guard headerRules || (d.defs.hasEventRules && packet.events.rawValue != 0) else { return }
        var f = portlessFacts()
        f.anomalies = PacketAnomalies(decode: packet.events.rawValue)
        inspectPortless(d, f, headerRules: headerRules)
    }

    /// The facts of a packet whose transport header was not read (it could not be, or it is in
    /// another fragment): its IP header's, and no ports, flags or payload (`noTransport`: the
    /// TCP and ICMP header keywords fail).
    func portlessFacts() -> PacketFacts {
        var f = packetHeaderFacts(.toServer)
        f.direction = nil
        f.sourcePort = 0
        f.destinationPort = 0
        f.tcpFlags = 0
        f.payloadSize = 0
        f.noTransport = true
        return f
    }

    /// `facts` (of `portlessFacts`) meet the portless rules (DetectEngine.inspectUndecoded) as
    /// a packet without a flow; a drop drops the packet.
    /// `count`: false when the caller counts the frame's verdict itself (the completing
    /// fragment: `process` counts the one frame that carries it and its datagram once).
    func inspectPortless(_ d: DetectEngine, _ f: PacketFacts, headerRules: Bool, count: Bool = true) {
        d.beginPacket()
        detectCursor = DetectCursor()
        d.headerRulesDone = false
        d.streamAsPacket = false
        d.inspectUndecoded(f, headerRules: headerRules, time: packet.timestamp.seconds) { i, alert in
            self.undecodedMatched(d, i, alert, f)
        }
        if count && decision.verdict != .accept { stats.blockedPackets &+= 1 }
    }

    /// The fragment that completed the datagram now in `packet`, as a packet of its own, before
    /// the datagram is processed (session 12). Suricata inspects every fragment as a packet and
    /// the rebuilt datagram too; seen only as the datagram, whose header reports no fragment
    /// bits and offset 0, `fragoffset:>0` or `fragbits:M` would never meet a two-fragment
    /// datagram's last or (out of order) first fragment.
    ///
    /// In Suricata's order: the firewall's packet tables first, portless as for a held fragment
    /// (no port rule accepts it, so a port-only fail-closed firewall drops it as it dropped the
    /// other fragments), then threat detection on what the firewall accepted: the packet rules
    /// that need no ports and no payload (`DetectEngine.inspectUndecoded`). A rule that matches
    /// both the fragment and the datagram (an `ip` blocklist) alerts on each, as Suricata's
    /// does: they are two packets. Its decoder events (those reassembly raised) stay on the
    /// datagram and are matched there once, not twice.
    ///
    /// Returns false when the firewall drops the frame (counted here): the datagram is then
    /// not processed. A threat detection drop of this fragment drops the frame and the datagram
    /// still goes through (its alerts and flow state); `process` counts it once.
    ///
    /// A held fragment that was dropped earlier does not stop the datagram (Suricata's
    /// behaviour, and the reason here): its bytes stay in the reassembly slot, so the box may
    /// inspect a datagram the receiver never rebuilds. Marking the datagram instead (tried in
    /// session 12) let a spoofer who guesses the IP ID drop a real datagram with one forged
    /// fragment that a rule drops (Review12EFragmentTests). The right fix is judging a fragment
    /// before the defragmenter stores it, and storing only accepted ones (README, session 12).
    func completingFragment() -> Bool {
        guard fw.rules != nil || detect != nil else { return true }
        let f = completingFragmentFacts()
        if fw.rules != nil {
            guard firewallFlowless(ports: false, facts: f) else {
                stats.blockedPackets &+= 1
                return false
            }
            // A firewall `pass` skips threat detection for this packet (the fragment); the
            // datagram meets the firewall on its own.
            if fw.passPacket { return true }
        }
        if let d = detect { inspectPortless(d, f, headerRules: true, count: false) }
        return true
    }

    /// The completing fragment's facts: the portless facts of the datagram with the fragment's
    /// own TTL, TOS and fragment word (reserved, DF and MF bits, offset), kept by the decoder
    /// before reassembly replaced the header. Its IP options are still the datagram's (the
    /// first fragment's): a later fragment carries only the copied ones, and no rule seen so
    /// far tells them apart.
    func completingFragmentFacts() -> PacketFacts {
        var f = portlessFacts()
        f.isFragment = false
        f.ttl = packet.fragmentTTL
        let field = packet.fragmentField
        if packet.ipVersion == 4 {
            f.tos = packet.fragmentTOS
            f.ipFragBits = (field & 0x2000 != 0 ? IPFragBits.moreFragments : 0)
                | (field & 0x4000 != 0 ? IPFragBits.dontFragment : 0)
                | (field & 0x8000 != 0 ? IPFragBits.reserved : 0)
            f.ipFragOffset = field & 0x1fff
        } else {
            f.ipFragOffset = UInt16(truncatingIfNeeded: packet.fragmentOffset >> 3)
        }
        return f
    }

    func undecodedMatched(_ d: DetectEngine, _ i: Int, _ alert: Bool, _ f: PacketFacts, canRespond: Bool = false) {
        let e = EVEEndpoints(flowID: 0, src: f.source, srcPort: f.sourcePort, dst: f.destination,
                             dstPort: f.destinationPort, ipProto: f.ipProto, appProto: .unknown,
                             srcMAC: packet.srcMAC, dstMAC: packet.dstMAC)
        // The drop log names every packet the rules dropped, as for packets of a flow.
        flowlessMatched(d, i, alert, e, logDrop: true, canRespond: canRespond)
    }

    /// A match on a packet without a flow (ARP, undecodable, no room in the flow table): its
    /// verdict and alert. A reject resets a TCP sender (ICMP unreachable otherwise) only when
    /// the packet's headers are whole (`canRespond`); without a usable transport header there
    /// is nothing to answer and reject drops it.
    func flowlessMatched(_ d: DetectEngine, _ i: Int, _ alert: Bool, _ e: EVEEndpoints, logDrop: Bool,
                         canRespond: Bool = false) {
        let sig = d.defs.signatureInfo(i)
        let action = config.modes.ids ? .alert : (d.actionOverride ?? sig.action)
        let blocking = action != .alert && action != .pass
        let wasAccepted = decision.verdict == .accept
        if blocking {
            switch action {
            case .reject, .rejectSource, .rejectDestination, .rejectBoth:
                if canRespond {
                    let response: ActiveResponse = packet.ipProto == IPProto.tcp ? .tcpResetBoth : .icmpUnreachable
                    decision.escalate(to: PacketDecision(verdict: .reject, response: response, source: .ips))
                } else {
                    decision.escalate(to: PacketDecision(verdict: .drop, response: .none, source: .ips))
                }
            default:
                decision.escalate(to: PacketDecision(verdict: .drop, response: .none, source: .ips))
            }
        }
        if alert {
            stats.alerts &+= 1
            d.defs.alertTexts.withText(i) { msg, cat, meta in
                let rule = EVEAlertRule(gid: sig.gid, sid: sig.sid, rev: sig.rev, msg: msg,
                                        category: cat, severity: sig.priority,
                                        productSeverity: sig.productSeverity, metadataJSON: meta,
                                        blocked: blocking)
                eve.writeAlert(rule, time: packet.timestamp, e, flow: nil)
            }
        }
        if logDrop && blocking && wasAccepted { eve.writeDrop(packet, e, reason: "rules") }
    }
}
