import UTMCore
import UTMDecode

/// Where delivered bytes sit in their direction's stream.
public struct StreamChunk: Sendable, Equatable {
    public var direction: Direction
    /// Bytes before this chunk were lost (not captured, or dropped because the out-of-order
    /// queue was full): parsers must resynchronise rather than read on.
    public var gapBefore: Bool
    /// Offset of the chunk's first byte in the direction's stream; 0 is the first byte after
    /// the SYN (or the first byte seen, midstream). Skipped bytes count.
    public var streamOffset: UInt64
    /// The stream events the reassembler raised on this packet so far: detection reads them
    /// from the chunk, as the reassembler itself is busy (exclusively accessed) while it
    /// delivers.
    public var events: StreamEvents = StreamEvents()

    public init(direction: Direction, gapBefore: Bool, streamOffset: UInt64, events: StreamEvents = StreamEvents()) {
        self.direction = direction
        self.gapBefore = gapBefore
        self.streamOffset = streamOffset
        self.events = events
    }

    /// Chunks are the same bytes' place in the stream; the events are the packet's, not theirs.
    public static func == (a: StreamChunk, b: StreamChunk) -> Bool {
        a.direction == b.direction && a.gapBefore == b.gapBefore && a.streamOffset == b.streamOffset
    }
}

/// Reassembly counters (EVE stats `tcp.*`, and stream events rules can match).
public struct StreamCounters: Sendable, Equatable {
    /// TCP packets given to `process`.
    public internal(set) var segments: UInt64 = 0
    /// Chunks delivered straight from the packet (zero copy).
    public internal(set) var inOrderChunks: UInt64 = 0
    /// Chunks delivered from the out-of-order queue.
    public internal(set) var queuedChunks: UInt64 = 0
    /// Segments that arrived ahead of a hole and were queued.
    public internal(set) var outOfOrder: UInt64 = 0
    /// Segments carrying only bytes already delivered.
    public internal(set) var retransmissions: UInt64 = 0
    /// Segments overlapping queued bytes.
    public internal(set) var overlaps: UInt64 = 0
    /// Overlaps whose bytes differ from the queued ones (evasion attempt; first data wins).
    public internal(set) var overlapConflicts: UInt64 = 0
    /// Holes given up on: the delivered stream skips bytes here.
    public internal(set) var gaps: UInt64 = 0
    /// Of those, holes the receiver acknowledged (the capture missed the bytes).
    public internal(set) var ackedGaps: UInt64 = 0
    /// A flow's out-of-order limit was reached.
    public internal(set) var flowQueueFull: UInt64 = 0
    /// The shared segment pool was exhausted.
    public internal(set) var poolExhausted: UInt64 = 0
    /// Directions that reached `streamDepth`.
    public internal(set) var depthReached: UInt64 = 0
    public internal(set) var zeroWindowProbes: UInt64 = 0
    /// Keep-alives (zero or one byte just below the next expected sequence number).
    public internal(set) var keepAlives: UInt64 = 0
    /// Sequence numbers too far from the stream to be believed.
    public internal(set) var invalidSequence: UInt64 = 0
    /// Data after the FIN, after a RST, or past the depth: not delivered.
    public internal(set) var dataAfterEnd: UInt64 = 0
    /// Directions whose FIN was reached in order.
    public internal(set) var finReached: UInt64 = 0
    /// Flows closed by a RST with data still queued.
    public internal(set) var rstWithQueuedData: UInt64 = 0
    /// SYNs whose data was held aside until the receiver answered (FlowConfig.holdSynData).
    public internal(set) var synDataHeld: UInt64 = 0
    /// Of those, SYN data the receiver acknowledged: added to the stream.
    public internal(set) var synDataAccepted: UInt64 = 0
    /// Of those, SYN data the receiver did not take (its ACK covered only the SYN): dropped
    /// from the stream, the retransmission fills its place (Suricata's tfo_data_ignored).
    public internal(set) var synDataIgnored: UInt64 = 0
    /// Segments from the sender while its SYN's data was unanswered (data or FIN, a SYN
    /// again): not added to the stream.
    public internal(set) var synDataEarlySegments: UInt64 = 0
    /// Receiver ACKs taking part of the SYN's data, or a SYN/ACK taking other than none or
    /// all of it: they resolve nothing.
    public internal(set) var synDataWrongAck: UInt64 = 0
    /// Held SYN data replaced by a SYN retried with a new ISN (the latest SYN counts).
    public internal(set) var synDataRetried: UInt64 = 0
    /// Copies of delivered bytes not kept (the flow's budget or half the pool reached): a
    /// retransmission of those bytes with other content is no longer caught.
    public internal(set) var retainStopped: UInt64 = 0

    public init() {}
}

/// TCP stream reassembly: turns a flow's segments into in-order bytes per direction.
///
/// Why this design: in-order data, the common case, is passed on as a view of the packet
/// itself, without copying. Only bytes that arrive ahead of a hole are copied, into the shared
/// `SegmentPool`, and delivered when the hole fills. Overlaps keep the first bytes seen
/// (Suricata's inline policy), so a later segment cannot rewrite what detection already saw.
/// A hole that cannot be waited for (queue limits, or the receiver acknowledged bytes the box
/// never saw) becomes a gap, flagged on the next chunk so parsers resynchronise.
public struct TCPReassembler: Sendable {
    public let config: FlowConfig
    var pool: SegmentPool
    public private(set) var counters = StreamCounters()
    /// Stream events reassembly raised for the current packet (reset by `beginPacket`).
    public private(set) var packetEvents = StreamEvents()
    /// Packets that raised each of those events (EVE stats `stream.<event>`).
    public private(set) var eventCounts = StreamEventCounts()
    /// The current packet's payload as the stream already has it (inline, `retainUnacked`):
    /// its bytes, with every byte forwarded before put back where it differed.
    let patch: ByteSlab
    var patchLength = -1

    public init(config: FlowConfig = .init()) {
        self.config = config
        pool = SegmentPool(totalBytes: config.segmentPoolBytes, chunkBytes: config.segmentChunkBytes)
        patch = ByteSlab(capacity: config.retainUnacked ? 1 << 16 : 0)
    }

    /// Forgets the previous packet's `conflictPayload`. The engine calls it for every packet.
    @inline(__always)
    public mutating func beginPacket() {
        patchLength = -1
        packetEvents = StreamEvents()
        packetHeldSynData = false
        packetRepeatsSynData = false
    }

    /// The last TCP packet was a SYN whose data is held until the receiver answers
    /// (FlowConfig.holdSynData): its bytes reach stream inspection if the receiver takes them,
    /// so stream rules need not read them as a packet. Valid until the next `beginPacket`.
    public private(set) var packetHeldSynData = false
    /// The last TCP packet added nothing to the stream and repeats bytes of a SYN's data that
    /// were delivered with the SYN, before the session was established: stream rules read it as
    /// a packet, as Suricata inspects a segment it does not add to the stream, or a client
    /// whose TFO data was refused could send its first bytes past every `flow:established`
    /// rule. Valid until the next `beginPacket`.
    public private(set) var packetRepeatsSynData = false

    /// Non-nil when the last TCP packet repeated forwarded bytes with different data (an
    /// overlap evasion attempt, inline): its payload with the forwarded bytes in place, which
    /// is what the receiver keeps. Valid until the next `beginPacket`.
    public var conflictPayload: ByteView? {
        patchLength < 0 ? nil : patch.view(0, patchLength)
    }

    /// Pool chunks holding queued bytes now (all flows).
    public var poolChunksInUse: Int { pool.used }
    /// Pool chunks in all.
    public var poolChunkCount: Int { pool.chunkCount }

    /// Applies TCP packet `p` of the already tracked flow `ref`, travelling in `direction`, and
    /// delivers the bytes that are now in order, oldest first. Delivered views are valid only
    /// during the `deliver` call. `deliver` must not touch `flows` (it is borrowed here): read
    /// what the parsers need from the flow before calling.
    public mutating func process(_ p: DecodedPacket, ref: FlowRef, flows: inout FlowTable,
                                 direction: Direction, deliver: (ByteView, StreamChunk) -> Void) {
        guard p.ipProto == IPProto.tcp, flows.isValid(ref) else { return }
        counters.segments &+= 1
        guard !TCPStateMachine.isInvalid(p.tcpFlags) else { return }
        flows.withFlow(ref) { processFlow(p, &$0, direction, deliver) }
    }

    /// Frees the queued bytes of a flow that is ending. Call it from the `onEnd` handler given
    /// to `FlowTable.track`, `expire` and `removeAll`; otherwise the pool chunks of ended flows
    /// are never reused.
    public mutating func release(_ ref: FlowRef, flow: inout Flow) {
        close(&flow.toServer)
        close(&flow.toClient)
    }

    // MARK: Internals

    /// Raises one stream event for the current packet, counted once per packet.
    @inline(__always)
    mutating func raise(_ e: StreamEvents) {
        guard !packetEvents.contains(e) else { return }
        packetEvents.formUnion(e)
        eventCounts.add(e)
    }

    mutating func close(_ s: inout TCPStream) {
        pool.freeList(s.oooHead)
        s.oooHead = -1
        s.oooChunks = 0
        pool.freeList(s.retHead)
        s.retHead = -1
        s.retTail = -1
        s.retChunks = 0
        s.synData = 0
        s.done = true
    }

    /// Keeps a copy of bytes just delivered at stream offset `offset` (inline). Stops quietly
    /// at the flow's budget or at half the pool.
    mutating func retain(_ s: inout TCPStream, _ v: ByteView, at offset: UInt64) {
        let chunkLimit = config.maxOutOfOrderBytesPerFlow / pool.chunkBytes
        var pos = 0
        while pos < v.count {
            guard Int(s.retChunks) < chunkLimit, pool.used * 2 < pool.chunkCount else {
                counters.retainStopped &+= 1
                return
            }
            let take = Swift.min(pool.chunkBytes, v.count - pos)
            let start = Int64(offset) + Int64(pos)
            guard let bytes = v.slice(pos, take),
                  let n = pool.allocate(offset: start, bytes: bytes, segment: (start, start + Int64(take))) else { return }
            if s.retTail >= 0 { pool.setNext(s.retTail, n) } else { s.retHead = n }
            s.retTail = n
            s.retChunks += 1
            pos += take
        }
    }

    /// The receiver acknowledged everything before `ackOffset`: drop those copies.
    mutating func forgetAcked(_ s: inout TCPStream, _ ack: UInt32) {
        guard s.retHead >= 0 else { return }
        let ackOffset = Int64(s.nextOffset) + Int64(Int32(bitPattern: ack &- s.seq(atOffset: s.nextOffset)))
        var rounds = 0
        while s.retHead >= 0 && pool.nodeEnd(s.retHead) <= ackOffset && rounds <= pool.chunkCount {
            rounds += 1
            s.retHead = pool.free(s.retHead)
            s.retChunks -= 1
        }
        if s.retHead < 0 { s.retTail = -1 }
    }

    /// A segment repeats forwarded bytes (`pktStart` < `nextOffset`): compare them with the
    /// copies; where they differ, build `conflictPayload` with the forwarded bytes in place.
    mutating func checkForwarded(_ s: TCPStream, _ payload: ByteView, _ pktStart: Int64) {
        guard s.retHead >= 0, payload.count <= patch.capacity else { return }
        let end = Swift.min(pktStart + Int64(payload.count), Int64(s.nextOffset))
        var n = s.retHead, rounds = 0, differs = false
        while n >= 0 && rounds <= pool.chunkCount && pool.nodeStart(n) < end {
            rounds += 1
            let a = Swift.max(pktStart, pool.nodeStart(n)), b = Swift.min(end, pool.nodeEnd(n))
            if a < b, let kept = pool.view(n).slice(Int(a - pool.nodeStart(n)), Int(b - a)),
               let fresh = payload.slice(Int(a - pktStart), Int(b - a)), !(kept == fresh) {
                if !differs {
                    differs = true
                    patch.write(payload, at: 0)
                }
                patch.write(kept, at: Int(a - pktStart))
            }
            n = pool.nodeNext(n)
        }
        if differs {
            patchLength = payload.count
            counters.overlapConflicts &+= 1
            raise(.overlapDifferentData)
        }
    }

    mutating func processFlow(_ p: DecodedPacket, _ f: inout Flow, _ d: Direction,
                              _ deliver: (ByteView, StreamChunk) -> Void) {
        let flags = p.tcpFlags
        if flags.contains(.rst) {
            // Only a RST the state machine believed ends the streams.
            if f.rstSeen {
                if f.toServer.oooHead >= 0 || f.toClient.oooHead >= 0 { counters.rstWithQueuedData &+= 1 }
                close(&f.toServer)
                close(&f.toClient)
            }
            if p.payload.count > 0 { counters.dataAfterEnd &+= 1 }
            return
        }
        if f.rstSeen {
            if p.payload.count > 0 { counters.dataAfterEnd &+= 1 }
            return
        }
        if flags.contains(.ack) {
            f.withStream(d.reversed) { s in
                if s.synData > 0 {
                    // The receiver's answer to the SYN's data: what its ACK covers.
                    // An ACK past what the sender sent answers nothing (forged or broken).
                    let taken = Int64(Int32(bitPattern: p.ack &- (s.isn &+ 1)))
                    let plausible = !s.sendNextKnown || Int32(bitPattern: p.ack &- s.sendNext) <= 0
                    // Only the SYN (ISN + 1) or all of its data: a SYN/ACK taking part of it is
                    // invalid (Suricata's SYNACK_WITH_WRONG_ACK) and decides nothing.
                    let whole = flags.contains(.syn) ? taken == Int64(s.synData) : taken >= Int64(s.synData)
                    if plausible && (taken == 0 || whole) {
                        resolveSynData(&s, d.reversed, accepted: taken > 0, deliver)
                    } else {
                        counters.synDataWrongAck &+= 1
                    }
                    // Still unanswered: the held bytes are not in order yet, whatever this ACK covers.
                    if s.synData > 0 { return }
                }
                if s.hold { acknowledged(&s, d.reversed, p.ack, deliver) } else {
                    forgetAcked(&s, p.ack)
                    ackedGap(&s, d.reversed, p.ack, deliver)
                }
            }
        }
        let receiver = d == .toServer ? f.serverIP : f.clientIP
        f.withStreams(d) { s, peer in data(p, &s, peerChunks: Int(peer.oooChunks),
                                           peerWindowZero: peer.sendNextKnown && peer.window == 0,
                                           peerSeen: peer.sendNextKnown, receiver: receiver, d, deliver) }
    }

    /// The receiver answered the SYN's held data (`TCPStream.synData`): accepted, it stays in
    /// the queue and is delivered from stream offset 0; refused, its nodes are freed and the
    /// sender's retransmission takes those offsets.
    mutating func resolveSynData(_ s: inout TCPStream, _ d: Direction, accepted: Bool,
                                 _ deliver: (ByteView, StreamChunk) -> Void) {
        let held = Int64(s.synData)
        s.synData = 0
        if accepted {
            counters.synDataAccepted &+= 1
        } else {
            counters.synDataIgnored &+= 1
            // The state machine raises 3whs_synack_tfo_data_ignored for this SYN/ACK already
            // (raising it here too counted one packet twice).
            // The SYN's nodes were queued first, on an empty queue, and cover [0, held).
            var rounds = 0
            while s.oooHead >= 0 && pool.nodeEnd(s.oooHead) <= held && rounds <= pool.chunkCount {
                rounds += 1
                s.oooHead = pool.free(s.oooHead)
                s.oooChunks -= 1
            }
            if s.oooHead < 0 && s.highestEnd <= UInt64(held) { s.highestEnd = 0 }
        }
        if s.done { return }
        if s.hold { releaseHeld(&s, d, deliver) } else { drain(&s, d, .empty, 0, deliver) }
    }

    /// The receiver acknowledged bytes up to `ack`: if we saw the sender send past a hole that
    /// the ACK covers, the capture missed those bytes and waiting is pointless.
    mutating func ackedGap(_ s: inout TCPStream, _ d: Direction, _ ack: UInt32,
                           _ deliver: (ByteView, StreamChunk) -> Void) {
        guard s.started, !s.done else { return }
        let next = Int64(s.nextOffset)
        let ackOffset = next + Int64(Int32(bitPattern: ack &- s.seq(atOffset: s.nextOffset)))
        let limit = Swift.min(ackOffset, Int64(s.highestEnd))
        guard limit > next else { return }
        counters.ackedGaps &+= 1
        var rounds = 0
        while !s.done && Int64(s.nextOffset) < limit && rounds <= pool.chunkCount {
            rounds += 1
            let head = s.oooHead
            let target = head >= 0 ? Swift.min(limit, pool.nodeStart(head)) : limit
            skip(&s, to: target)
            drain(&s, d, .empty, 0, deliver)
        }
    }

    /// Held bytes (`TCPStream.hold`): the receiver acknowledged up to `ack`; deliver what it
    /// now holds for good.
    mutating func acknowledged(_ s: inout TCPStream, _ d: Direction, _ ack: UInt32,
                               _ deliver: (ByteView, StreamChunk) -> Void) {
        guard s.started, !s.done else { return }
        let next = Int64(s.nextOffset)
        let ackOffset = next + Int64(Int32(bitPattern: ack &- s.seq(atOffset: s.nextOffset)))
        guard ackOffset > Int64(s.ackedOffset) else { return }
        s.ackedOffset = UInt64(ackOffset)
        releaseHeld(&s, d, deliver)
    }

    /// Delivers held nodes the receiver acknowledged, oldest first. A node wholly acknowledged
    /// after a hole means the receiver got bytes the box never saw: the hole becomes a gap.
    mutating func releaseHeld(_ s: inout TCPStream, _ d: Direction, _ deliver: (ByteView, StreamChunk) -> Void) {
        var rounds = 0
        while !s.done && rounds <= pool.chunkCount {
            rounds += 1
            let head = s.oooHead
            guard head >= 0 else { break }
            let nStart = pool.nodeStart(head), nEnd = pool.nodeEnd(head)
            guard nEnd <= Int64(s.ackedOffset) else { break }
            if nStart > Int64(s.nextOffset) {
                skip(&s, to: nStart)
                if s.done { break }
            }
            let next = Int64(s.nextOffset)
            if nEnd > next {
                counters.queuedChunks &+= 1
                emit(&s, d, pool.view(head).dropFirst(Int(next - nStart)), deliver)
            }
            s.oooHead = pool.free(head)
            s.oooChunks -= 1
        }
        if !s.done && s.finOffset != .max && s.nextOffset >= s.finOffset {
            counters.finReached &+= 1
            s.done = true
        }
        if s.done { close(&s) }
    }

    /// The data (and FIN) of one segment in its own direction.
    mutating func data(_ p: DecodedPacket, _ s: inout TCPStream, peerChunks: Int, peerWindowZero: Bool,
                       peerSeen: Bool, receiver: IPAddress, _ d: Direction,
                       _ deliver: (ByteView, StreamChunk) -> Void) {
        let flags = p.tcpFlags
        let syn = flags.contains(.syn), fin = flags.contains(.fin)
        var payload = p.payload
        if s.done {
            if payload.count > 0 { counters.dataAfterEnd &+= 1 }
            return
        }
        if !s.started {
            if s.synSeen {
                s.baseSeq = s.isn &+ 1
            } else if payload.count > 0 || fin {
                s.baseSeq = syn ? p.seq &+ 1 : p.seq
            } else {
                return
            }
            s.started = true
            s.overlapPolicy = config.hostOSPolicies.isEmpty
                ? config.defaultOverlapPolicy
                : (config.hostOSPolicies.policy(for: receiver) ?? config.defaultOverlapPolicy)
            s.hold = config.holdUntilAcked
        }
        // Only a SYN the state machine took as this side's ISN: one it refused (another ISN on
        // a session past its handshake) would move the stream's base to the sender's choice.
        if syn && !flags.contains(.ack) && p.seq &+ 1 != s.baseSeq && s.nextOffset == 0 && s.isn == p.seq
            && (s.synData > 0 || (s.oooHead < 0 && s.highestEnd == 0)) {
            // A SYN retried with a new ISN before any answer: Suricata takes the latest SYN, and
            // so does the stream (its data replaces what the earlier SYN's held).
            if s.synData > 0 {
                pool.freeList(s.oooHead)
                s.oooHead = -1
                s.oooChunks = 0
                s.synData = 0
                s.highestEnd = 0
                counters.synDataRetried &+= 1
            }
            s.baseSeq = p.seq &+ 1
        }
        let dataSeq = syn ? p.seq &+ 1 : p.seq
        let next = Int64(s.nextOffset)
        let rel = Int64(Int32(bitPattern: dataSeq &- s.seq(atOffset: s.nextOffset)))
        if rel > 1 << 30 {
            counters.invalidSequence &+= 1
            return
        }
        var start = next + rel
        if start < 0 {
            // Bytes from before the stream began (midstream pick-up): keep the rest.
            // A 1-byte keep-alive of a side that has sent nothing yet (seq = ISN) is not one.
            if payload.count > 0 && -start >= Int64(payload.count) && !(payload.count == 1 && start == -1 && !syn) {
                raise(.segmentBeforeBaseSeq)
            }
            payload = payload.dropFirst(Int(-start))
            start = 0
        }
        if s.synData > 0 {
            // The SYN's data is not answered yet, and only the receiver's answer resolves it:
            // never the sender's own segments, which an attacker races ahead of the SYN/ACK
            // (Suricata ignores them in SYN_SENT). A real sender sends nothing before the
            // SYN/ACK; what else comes (data, a SYN again) is dropped from the stream, so it
            // can neither outlive a refusal nor, through the overlap policy, rewrite the held
            // bytes (README "SYN data and retransmissions, session 9").
            if payload.count > 0 || fin { counters.synDataEarlySegments &+= 1 }
            return
        }
        var end = start + Int64(payload.count)
        // Only the FIN the state machine recorded: one it rejected (out of window, invalid
        // ACK) would otherwise end the stream at the attacker's offset and cut what follows.
        if fin && s.finOffset == .max && end >= next && s.finSeen
            && p.seq &+ UInt32(truncatingIfNeeded: p.payload.count) &+ (syn ? 1 : 0) == s.finSeq {
            s.finOffset = UInt64(end)
        }
        if s.finOffset != .max && end > Int64(s.finOffset) {
            counters.dataAfterEnd &+= 1
            end = Swift.max(start, Int64(s.finOffset))
            payload = payload.prefix(Int(end - start))
        }
        // Whole packets only (`conflictPayload` stands for the packet's payload).
        if payload.count > 0 && payload.count == p.payload.count && start < next && s.retHead >= 0 {
            checkForwarded(s, payload, start)
        }
        if payload.count > 0 {
            if Int64(s.highestEnd) < end { s.highestEnd = UInt64(end) }
            // Inline: a segment repeating any SYN byte delivered before the handshake, even one
            // going on past them, was never read as an established stream.
            if !syn && start < Int64(s.synDelivered) { packetRepeatsSynData = true }
            if end <= next {
                if payload.count == 1 && start == next - 1 { counters.keepAlives &+= 1 }
                else {
                    counters.retransmissions &+= 1
                    raise(.pktRetransmission)
                }
                payload = .empty
            } else if payload.count == 1 && start == next && peerWindowZero {
                // The receiver has no room: it drops this byte and the sender repeats it.
                counters.zeroWindowProbes &+= 1
                payload = .empty
            }
        } else if start == next - 1 && !fin && !syn {
            counters.keepAlives &+= 1
        }
        if syn && config.holdSynData && payload.count > 0 && start == 0 && s.nextOffset == 0 && s.oooHead < 0 {
            // Data on a SYN: aside until the receiver says whether it took it (FlowConfig.holdSynData).
            if insert(&s, payload, 0, peerChunks: peerChunks) {
                s.synData = UInt32(payload.count)
                counters.synDataHeld &+= 1
                packetHeldSynData = true
                return
            }
            // No room to hold it: delivered as it came, as before (the limit is counted).
            pool.freeList(s.oooHead)
            s.oooHead = -1
            s.oooChunks = 0
        }
        if s.hold {
            // Everything waits for the receiver's ACK; the queue applies the overlap policy.
            if payload.count > 0 {
                if insert(&s, payload, start, peerChunks: peerChunks) {
                    releaseHeld(&s, d, deliver)
                    return
                }
                // Over the budget: this direction is delivered as it arrives from now on.
                s.hold = false
            } else {
                releaseHeld(&s, d, deliver)
                return
            }
        }
        if payload.count > 0 && start > Int64(s.nextOffset) {
            counters.outOfOrder &+= 1
            if !insert(&s, payload, start, peerChunks: peerChunks) {
                // Cannot wait for the hole: skip to the first byte we hold and go on from there.
                let head = s.oooHead
                let target = head >= 0 ? Swift.min((pool.nodeStart(head)), start) : start
                skip(&s, to: target)
                drain(&s, d, payload, start, deliver)
                if !s.done && Int64(s.nextOffset) < start && !insert(&s, payload, start, peerChunks: peerChunks) {
                    skip(&s, to: start)
                }
            }
        }
        drain(&s, d, payload, start, deliver)
        if syn && start == 0 && end > 0 && s.synDelivered == 0 {
            s.synDelivered = UInt16(truncatingIfNeeded: Swift.min(end, Int64(UInt16.max)))
        }
    }

    /// Queues the new bytes of an out-of-order segment. Where queued bytes differ, the
    /// receiver's overlap policy (`TCPStream.overlapPolicy`) decides which stay; conflicts are
    /// counted. Returns false when a limit stopped it (what fit stays queued).
    mutating func insert(_ s: inout TCPStream, _ payload: ByteView, _ pktStart: Int64, peerChunks: Int) -> Bool {
        let end = pktStart + Int64(payload.count)
        var pos = Swift.max(pktStart, Int64(s.nextOffset))
        let chunkLimit = config.maxOutOfOrderBytesPerFlow / pool.chunkBytes
        var prev: Int32 = -1
        var cur = s.oooHead
        var overlapped = false, conflict = false
        defer {
            if overlapped { counters.overlaps &+= 1 }
            if conflict {
                counters.overlapConflicts &+= 1
                raise(.overlapDifferentData)
            }
        }
        while pos < end {
            while cur >= 0 && pool.nodeEnd(cur) <= pos {
                prev = cur
                cur = pool.nodeNext(cur)
            }
            if cur >= 0 && pool.nodeStart(cur) <= pos {
                let nStart = pool.nodeStart(cur)
                let oEnd = Swift.min((pool.nodeEnd(cur)), end)
                overlapped = true
                if let queued = pool.view(cur).slice(Int(pos - nStart), Int(oEnd - pos)),
                   let fresh = payload.slice(Int(pos - pktStart), Int(oEnd - pos)), !(queued == fresh) {
                    conflict = true
                    let old = pool.segment(cur)
                    if s.overlapPolicy.newDataWins(newStart: pktStart, newEnd: end, oldStart: old.0, oldEnd: old.1) {
                        pool.overwrite(cur, at: Int(pos - nStart), fresh)
                    }
                }
                pos = oEnd
                continue
            }
            let gapEnd = cur >= 0 ? Swift.min((pool.nodeStart(cur)), end) : end
            while pos < gapEnd {
                guard Int(s.oooChunks) + peerChunks < chunkLimit else {
                    counters.flowQueueFull &+= 1
                    return false
                }
                let take = Swift.min(Int64(pool.chunkBytes), gapEnd - pos)
                guard let bytes = payload.slice(Int(pos - pktStart), Int(take)),
                      let n = pool.allocate(offset: pos, bytes: bytes, segment: (pktStart, end)) else {
                    counters.poolExhausted &+= 1
                    raise(.noSegment)
                    return false
                }
                pool.setNext(n, cur)
                if prev < 0 { s.oooHead = n } else { pool.setNext(prev, n) }
                prev = n
                s.oooChunks += 1
                pos += take
            }
        }
        return true
    }

    /// Gives up on the bytes before `target`.
    mutating func skip(_ s: inout TCPStream, to target: Int64) {
        guard target > Int64(s.nextOffset) else { return }
        s.nextOffset = UInt64(target)
        s.pendingGap = true
        counters.gaps &+= 1
        raise(.seqGap)
        if s.nextOffset >= UInt64(Swift.max(0, config.streamDepth)) {
            s.done = true
            counters.depthReached &+= 1
            raise(.depthReached)
        }
    }

    /// Delivers everything contiguous at `nextOffset`, merging the queue and the packet (its
    /// byte 0 is at stream offset `pktStart`), queue first where both hold a byte.
    mutating func drain(_ s: inout TCPStream, _ d: Direction, _ payload: ByteView, _ pktStart: Int64,
                        _ deliver: (ByteView, StreamChunk) -> Void) {
        let pktEnd = pktStart + Int64(payload.count)
        // A queued node that differs from the packet is found below only when the queue reaches
        // it, after the packet's bytes before it went out without the event: stream rules on
        // those bytes would miss it. Suricata sets the event before anything is inspected, so
        // look first (only a packet that runs into queued bytes pays the compare twice).
        if s.oooHead >= 0 && !payload.isEmpty && !s.done && pktStart <= Int64(s.nextOffset)
            && !packetEvents.contains(.overlapDifferentData) && queueConflicts(s, payload, pktStart) {
            raise(.overlapDifferentData)
        }
        var rounds = 0
        while !s.done && rounds <= pool.chunkCount + 1 {
            rounds += 1
            let next = Int64(s.nextOffset)
            let head = s.oooHead
            if head >= 0 && pool.nodeStart(head) <= next {
                let nStart = pool.nodeStart(head), nEnd = pool.nodeEnd(head)
                if nEnd > next {
                    let v = pool.view(head).dropFirst(Int(next - nStart))
                    let oStart = Swift.max(next, pktStart), oEnd = Swift.min(nEnd, pktEnd)
                    if oStart < oEnd {
                        counters.overlaps &+= 1
                        if let fresh = payload.slice(Int(oStart - pktStart), Int(oEnd - oStart)),
                           let queued = v.slice(Int(oStart - next), Int(oEnd - oStart)), !(fresh == queued) {
                            counters.overlapConflicts &+= 1
                            raise(.overlapDifferentData)
                        }
                    }
                    counters.queuedChunks &+= 1
                    emit(&s, d, v, deliver)
                }
                s.oooHead = pool.free(head)
                s.oooChunks -= 1
                continue
            }
            if pktStart <= next && next < pktEnd {
                let limit = head >= 0 ? Swift.min(pktEnd, pool.nodeStart(head)) : pktEnd
                if let v = payload.slice(Int(next - pktStart), Int(limit - next)) {
                    counters.inOrderChunks &+= 1
                    emit(&s, d, v, deliver)
                    continue
                }
            }
            break
        }
        if !s.done && s.finOffset != .max && s.nextOffset >= s.finOffset {
            counters.finReached &+= 1
            s.done = true
        }
        if s.done { close(&s) }
    }

    /// Whether a queued node holds other bytes than the packet (its byte 0 at stream offset
    /// `pktStart`) where both cover the stream from `nextOffset` on, below the depth: what
    /// `drain` compares as it merges them.
    func queueConflicts(_ s: TCPStream, _ payload: ByteView, _ pktStart: Int64) -> Bool {
        let next = Int64(s.nextOffset)
        let pktEnd = Swift.min(pktStart + Int64(payload.count), Int64(Swift.max(0, config.streamDepth)))
        var n = s.oooHead
        var rounds = 0
        while n >= 0 && rounds <= pool.chunkCount {
            rounds += 1
            let nStart = pool.nodeStart(n), nEnd = pool.nodeEnd(n)
            if nStart >= pktEnd { return false }
            let oStart = Swift.max(next, Swift.max(nStart, pktStart)), oEnd = Swift.min(nEnd, pktEnd)
            if oStart < oEnd, let fresh = payload.slice(Int(oStart - pktStart), Int(oEnd - oStart)),
               let queued = pool.view(n).slice(Int(oStart - nStart), Int(oEnd - oStart)), !(fresh == queued) {
                return true
            }
            n = pool.nodeNext(n)
        }
        return false
    }

    /// Hands `v` (the bytes at `nextOffset`) to the app layer, up to the stream depth.
    mutating func emit(_ s: inout TCPStream, _ d: Direction, _ v: ByteView,
                       _ deliver: (ByteView, StreamChunk) -> Void) {
        let offset = s.nextOffset
        let depth = UInt64(Swift.max(0, config.streamDepth))
        let room = offset < depth ? depth - offset : 0
        let out = v.prefix(Int(Swift.min(room, UInt64(v.count))))
        // Raised before the chunk goes out: the chunk that reaches the depth carries the event
        // (stream rules with `stream-event:reassembly_depth_reached` read it).
        let reached = offset &+ UInt64(v.count) >= depth
        if reached { raise(.depthReached) }
        if out.count > 0 {
            deliver(out, StreamChunk(direction: d, gapBefore: s.pendingGap, streamOffset: offset, events: packetEvents))
            s.pendingGap = false
        }
        if config.retainUnacked && !s.hold { retain(&s, v, at: offset) }
        s.nextOffset = offset &+ UInt64(v.count)
        if reached {
            s.done = true
            counters.depthReached &+= 1
        }
    }
}
