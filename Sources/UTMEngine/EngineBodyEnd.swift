import UTMCore
import UTMDecode
import UTMFlow
import UTMDetect

/// HTTP bodies still open when their flow ends (timeout, eviction, close, shutdown).
///
/// The parser ends them there (complete when delimited by the close, else truncated) and
/// delivers the end of each; the body accumulation (UTMDetect BodyAccumulators.swift) then
/// inspects what it held and had not inspected: a response cut short by a FIN before its
/// Content-Length, or one smaller than the minimal inspect size that never completed, is
/// inspected at EOF as Suricata does, not dropped unseen.
///
/// Runs inside the flow table's end callback: the flow table must not be touched (exclusive
/// access), so the cursor is built from the ending flow itself. The packet being processed,
/// if any, belongs to another flow: matches alert only and change no verdict
/// (`DetectCursor.atFlowEnd`).
extension Engine {
    /// Prepares detection for flow `ref`'s end; false when it is not to be inspected (no IPS,
    /// detection off or already decided for it). The current cursor is returned to be restored.
    func detectFlowEndBegin(_ ref: FlowRef, _ flow: inout Flow) -> DetectCursor? {
        guard let d = detect, flow.engineFlags & (FlowBits.noDetect | FlowBits.blocked) == 0 else { return nil }
        let saved = detectCursor
        var c = DetectCursor()
        c.flow = flow
        c.ref = ref
        c.slot = d.flowSlot(index: ref.index, flowID: flow.id)
        c.time = flow.lastSeen.seconds
        c.atFlowEnd = true
        var f = PacketFacts()
        f.ipProto = flow.ipProto
        f.source = flow.clientIP
        f.destination = flow.serverIP
        f.sourcePort = flow.clientPort
        f.destinationPort = flow.serverPort
        f.direction = .toServer
        f.established = true
        f.appProto = flow.appProto
        f.time = c.time
        c.facts = f
        detectCursor = c
        d.beginPacket()
        d.beginBody()
        return saved
    }

    /// After the parser's `finish`: both directions' transactions of HTTP parser `i`, then the
    /// cursor of the packet being processed is back.
    func detectFlowEndHTTP(_ i: Int, restoring saved: DetectCursor) {
        detectHTTPBothDirections(i)
        // A body still held now is an abandoned transaction's (no later body handed it back):
        // inspected as a cut body, with its transaction's buffers while the parser has it.
        if let d = detect, detectCursor.slot >= 0 {
            d.flushOrphanedBody(slot: detectCursor.slot, direction: .toServer) { seq, held in
                self.detectHTTPOrphan(d, i, seq, .toServer, held)
            }
            d.flushOrphanedBody(slot: detectCursor.slot, direction: .toClient) { seq, held in
                self.detectHTTPOrphan(d, i, seq, .toClient, held)
            }
        }
        detectCursor = saved
    }

    func detectHTTPBothDirections(_ i: Int) {
        guard let d = detect else { return }
        // `detectHTTP` forgets the collected pieces when it returns: keep them for the second.
        d.keepBodyPieces = true
        detectHTTP(i, .toServer)
        d.keepBodyPieces = false
        detectHTTP(i, .toClient)
    }

    /// HTTP/2 parser `i`: its finish delivers no body ends, so each direction's accumulator
    /// is flushed with the buffers of the stream side it holds (found by its key).
    func detectFlowEndHTTP2(_ i: Int) {
        guard let d = detect, detectCursor.slot >= 0 else { return }
        d.flushBody(slot: detectCursor.slot, direction: .toServer) { key, v in
            let s = self.http2Stream(i, key: key)
            if s >= 0 { self.detectHTTP2Body(d, i, s, false, v) }
        }
        d.flushBody(slot: detectCursor.slot, direction: .toClient) { key, v in
            let s = self.http2Stream(i, key: key)
            if s >= 0 { self.detectHTTP2Body(d, i, s, true, v) }
        }
        // File rules: stream sides still open are cut here (EngineDetectFiles.swift).
        fileDetectHTTP2Close(i, flowEnd: true)
    }

    /// The stream slot of parser `i` whose body key (EngineHTTP2.swift) is `key`, or -1.
    func http2Stream(_ i: Int, key: UInt32) -> Int {
        var s = 0
        let streams = http2.items[i].streams
        while s < streams.count {
            if streams[s].isActive && streams[s].sequence | 0x8000_0000 == key { return s }
            s &+= 1
        }
        return -1
    }
}
