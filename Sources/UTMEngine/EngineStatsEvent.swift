import UTMCore
import UTMDecode
import UTMFlow
import UTMOutput

extension Engine {
    /// Suricata's `stats` event: the counters of this worker, written at the end of a capture
    /// run (and, in the daemon, on a timer). Field names follow Suricata's where it has them.
    public func writeStats() {
        guard eve.isEnabled(.stats) else { return }
        let d = decoder.counters
        let f = flows.counters
        let r = reassembler.counters
        eve.beginGlobal(.stats, time: now)
        eve.json.key("stats"); eve.json.beginObject()
        eve.json.key("decoder"); eve.json.beginObject()
        eve.json.key("pkts"); eve.json.uint(d.packets)
        eve.json.key("bytes"); eve.json.uint(d.bytes)
        eve.json.key("ipv4"); eve.json.uint(d.ipv4)
        eve.json.key("ipv6"); eve.json.uint(d.ipv6)
        eve.json.key("tcp"); eve.json.uint(d.tcp)
        eve.json.key("udp"); eve.json.uint(d.udp)
        eve.json.key("icmp"); eve.json.uint(d.icmp)
        eve.json.key("fragments"); eve.json.uint(d.fragments)
        eve.json.key("reassembled"); eve.json.uint(d.reassembled)
        eve.json.key("invalid"); eve.json.uint(d.invalid)
        eve.json.key("not_ip"); eve.json.uint(d.notIP)
        // Decoder events (decode-event: rules), packets per event: Suricata's
        // `decoder.event.<name>` counters, the name kept whole as the key (README "Decoder
        // events, session 10"). Only events that happened: a stats event every few minutes
        // with a hundred zeros per layer would be mostly zeros.
        eve.json.key("event"); eve.json.beginObject()
        for bit in 0..<DecodeEvents.definedBits where d.events[bit] != 0 {
            guard let name = DecodeEvents.name(ofBit: bit) else { continue }
            eve.json.key(name); eve.json.uint(d.events[bit])
        }
        eve.json.endObject()
        eve.json.endObject()
        eve.json.key("flow"); eve.json.beginObject()
        eve.json.key("total"); eve.json.uint(f.created)
        eve.json.key("active"); eve.json.uint(UInt64(f.active))
        eve.json.key("timeout"); eve.json.uint(f.timedOut)
        eve.json.key("evicted"); eve.json.uint(f.evicted)
        eve.json.key("table_full"); eve.json.uint(f.tableFull)
        // Only when `flow.memcap-policy` dropped some (EngineFlowless.swift).
        if stats.flowTableDrops != 0 { eve.json.key("table_full_dropped"); eve.json.uint(stats.flowTableDrops) }
        eve.json.key("midstream"); eve.json.uint(f.tcpMidstream)
        eve.json.endObject()
        eve.json.key("tcp"); eve.json.beginObject()
        eve.json.key("segments"); eve.json.uint(r.segments)
        eve.json.key("out_of_order"); eve.json.uint(r.outOfOrder)
        eve.json.key("retransmissions"); eve.json.uint(r.retransmissions)
        eve.json.key("overlaps"); eve.json.uint(r.overlaps)
        eve.json.key("overlap_diff_data"); eve.json.uint(r.overlapConflicts)
        eve.json.key("reassembly_gap"); eve.json.uint(r.gaps)
        // Data on SYNs held until the receiver answered (IDS), and how it answered
        // (README "SYN data and retransmissions, session 9").
        eve.json.key("syn_data_held"); eve.json.uint(r.synDataHeld)
        eve.json.key("syn_data_accepted"); eve.json.uint(r.synDataAccepted)
        eve.json.key("tfo_data_ignored"); eve.json.uint(r.synDataIgnored)
        eve.json.endObject()
        // Stream events (stream-event: rules), packets per event as Suricata's `stream.<event>`
        // counters: the state machine's and reassembly's (README "Stream events, session 10").
        eve.json.key("stream"); eve.json.beginObject()
        let fe = flows.streamEventCounts, re = reassembler.eventCounts
        for bit in 0..<StreamEvents.definedBits where fe[bit] &+ re[bit] != 0 {
            guard let name = StreamEvents.name(ofBit: bit) else { continue }
            eve.json.key(name); eve.json.uint(fe[bit] &+ re[bit])
        }
        eve.json.endObject()
        eve.json.key("app_layer"); eve.json.beginObject()
        eve.json.key("flow"); eve.json.beginObject()
        // Every protocol the engine recognises, in raw-value order (http, tls, dns, quic first,
        // as before), so a new parser is counted without touching this writer.
        for app in AppProto.allCases where app != .unknown && app != .failed {
            eve.json.key(app.eveName); eve.json.uint(stats.appDetected[Int(app.rawValue)])
        }
        eve.json.endObject()
        eve.json.key("state_exhausted"); eve.json.uint(stats.appStateExhausted)
        // Flows probed segment by segment because no ProbeBuffers entry was free.
        eve.json.key("probe_exhausted"); eve.json.uint(probes.exhausted)
        // Blank-led first header lines whose Content-Length / Transfer-Encoding was not used
        // for framing (README "HTTP header buffers where session 7 left them, session 8").
        eve.json.key("http_framing_ignored"); eve.json.uint(stats.httpFramingIgnored)
        // Anomaly events raised by the parsers (README "App-layer events, session 10").
        writeAppEventStats()
        eve.json.endObject()
        writeAnomalyLogStats()
        if let d = detect {
            // The stream window's work and its limits (README "Stream window, session 6").
            let s = d.stats
            eve.json.key("detect"); eve.json.beginObject()
            eve.json.key("alert"); eve.json.uint(stats.alerts)
            eve.json.key("suppressed"); eve.json.uint(s.suppressed)
            eve.json.key("window_matches"); eve.json.uint(s.windowMatches)
            eve.json.key("window_repeats"); eve.json.uint(s.windowRepeats)
            eve.json.key("pending_overflows"); eve.json.uint(s.pendingOverflows)
            eve.json.key("tail_pool_exhausted"); eve.json.uint(s.tailPoolExhausted)
            // Threshold / detection_filter counters overwritten in the (shared) table when full.
            eve.json.key("threshold_evictions"); eve.json.uint(s.thresholdEvictions)
            // Stream positions (README "Stream positions, session 8").
            eve.json.key("stream_position_skips"); eve.json.uint(s.streamPositionSkips)
            eve.json.key("packet_fallback_matches"); eve.json.uint(s.packetFallbackMatches)
            eve.json.key("http_header_raw_fallback"); eve.json.uint(stats.httpHeaderRawFallback)
            eve.json.key("http_header_unmerged"); eve.json.uint(stats.httpHeaderUnmerged)
            // HTTP bodies per transaction (BodyAccumulators.swift): inspections, bodies
            // inspected per feed for want of an accumulator, full matched-signature lists.
            eve.json.key("body_inspections"); eve.json.uint(s.bodyInspections)
            eve.json.key("body_pool_exhausted"); eve.json.uint(s.bodyPoolExhausted)
            eve.json.key("body_match_list_full"); eve.json.uint(s.bodyMatchListFull)
            eve.json.key("body_anchored_skips"); eve.json.uint(s.bodyAnchoredSkips)
            eve.json.key("body_pieces_lost"); eve.json.uint(s.bodyPiecesLost)
            eve.json.key("body_ends_recovered"); eve.json.uint(s.bodyEndsRecovered)
            eve.json.key("body_host_capped"); eve.json.uint(s.bodyHostCapped)
            eve.json.key("body_orphans_inspected"); eve.json.uint(s.bodyOrphansInspected)
            // File keywords (EngineDetectFiles.swift, session 9): files followed, files ended and
            // judged, files without a digest context, bodies that never ended.
            let fs = fileDetect.stats
            eve.json.key("files"); eve.json.uint(fs.files)
            eve.json.key("file_close_inspections"); eve.json.uint(fs.closeInspections)
            eve.json.key("file_digest_pool_exhausted"); eve.json.uint(fs.digestPoolExhausted)
            eve.json.key("files_abandoned"); eve.json.uint(fs.abandoned)
            eve.json.key("file_ended_overflow"); eve.json.uint(fs.endedOverflow)
            eve.json.key("file_h2_exhausted"); eve.json.uint(fs.h2TracksExhausted)
            // Datasets (README "Datasets, session 9"): sets, their members, and `set`s refused
            // because a set's reserved room was full (shared by the workers: not a per-worker sum).
            if !d.defs.datasets.isEmpty {
                let c = d.defs.datasetCounts
                eve.json.key("datasets"); eve.json.uint(UInt64(c.sets))
                eve.json.key("dataset_members"); eve.json.uint(UInt64(c.members))
                eve.json.key("dataset_full"); eve.json.uint(UInt64(c.full))
            }
            // flowint changes refused: a flow's FlowInts entries were all taken (session 9).
            eve.json.key("flowint_overflows"); eve.json.uint(s.flowintOverflows)
            eve.json.endObject()
        }
        if let c = firewallCounters { writeFirewallStats(c) }
        eve.json.endObject()
        eve.end()
    }
}
