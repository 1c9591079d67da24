import UTMCore
import UTMDecode

/// Flow table counters (EVE stats `flow.*`, `tcp.*`).
public struct FlowCounters: Sendable, Equatable {
    /// Flows in the table now; never above `FlowConfig.capacity`.
    public internal(set) var active = 0
    public internal(set) var created: UInt64 = 0
    /// Ended idle past the timeout of their state.
    public internal(set) var timedOut: UInt64 = 0
    /// Closed-class TCP sessions (CLOSED, LAST_ACK, TIME_WAIT) that timed out, or sessions
    /// whose ports a new SYN reused.
    public internal(set) var tcpClosed: UInt64 = 0
    /// Pushed out while the table was full.
    public internal(set) var evicted: UInt64 = 0
    public internal(set) var shutdown: UInt64 = 0
    /// Packets that got no flow: table full and nothing evictable.
    public internal(set) var tableFull: UInt64 = 0
    /// Packets without a decoded IP header (`ipVersion` 0): nothing to key on.
    public internal(set) var untracked: UInt64 = 0
    /// TCP flows whose first packet was not a SYN.
    public internal(set) var tcpMidstream: UInt64 = 0
    /// TCP packets with impossible flags, a RST out of window, or a handshake that does not
    /// match: counted, state unchanged.
    public internal(set) var tcpInvalid: UInt64 = 0
    /// New SYNs on the ports of a closing or closed session (the old flow ends, a new one starts).
    public internal(set) var tcpReused: UInt64 = 0

    public init() {}
}

/// The flow table: every flow lives in one slot of an array sized at init.
///
/// Why this shape: a SYN flood must not grow memory, and the packet path must not allocate.
/// Slots are found through hash chains threaded through a parallel index array (`chainNext`);
/// free slots form a list through the same array. A slot's generation is odd while in use and
/// changes on every free, which makes `FlowRef` safe against slot reuse.
public struct FlowTable: Sendable {
    public let config: FlowConfig
    public private(set) var counters = FlowCounters()
    /// Stream events the TCP state machine raised for the packet of the last `track` call
    /// (Suricata's stream-events.rules); empty for any other packet.
    public private(set) var packetStreamEvents = StreamEvents()
    /// Packets that raised each of those events (EVE stats `stream.<event>`).
    public private(set) var streamEventCounts = StreamEventCounts()
    /// Number of slots (the configured capacity, at least 1).
    public let capacity: Int

    /// `@usableFromInline` with the read accessors below `@inlinable`: the engine keeps the
    /// table in a class property, and a non-inlined non-mutating call copied the whole table
    /// struct (~650 bytes, `memcpy`) to pass it, two to six times per packet.
    @usableFromInline var slots: [Flow]
    @usableFromInline var generation: [UInt32]
    var chainNext: [Int32]
    var slotBucket: [Int32]
    var buckets: [Int32]
    let bucketMask: Int
    var freeHead: Int32
    var expireHand = 0
    var evictHand = 0
    var idCounter: UInt64 = 0
    /// Handed out by the subscript for a stale `FlowRef`, so a bad handle never traps and
    /// never reaches a live flow.
    var scratch = Flow()

    /// The slots a table built with `config` has (per-flow tables elsewhere are sized by it).
    public static func capacity(for config: FlowConfig) -> Int {
        Swift.max(1, Swift.min(config.capacity, Int(Int32.max) - 1))
    }

    public init(config: FlowConfig = .init()) {
        self.config = config
        let n = FlowTable.capacity(for: config)
        capacity = n
        slots = Array(repeating: Flow(), count: n)
        generation = Array(repeating: 0, count: n)
        chainNext = (0..<n).map { $0 + 1 < n ? Int32($0 + 1) : -1 }
        slotBucket = Array(repeating: -1, count: n)
        var b = 1
        while b < n { b <<= 1 }
        buckets = Array(repeating: -1, count: b)
        bucketMask = b - 1
        freeHead = 0
    }

    // MARK: Access

    /// True while `ref` names a flow that has not ended.
    @inlinable
    public func isValid(_ ref: FlowRef) -> Bool {
        let i = Int(ref.index)
        return i >= 0 && i < capacity && ref.generation & 1 == 1 && generation[i] == ref.generation
    }

    /// The flow of `ref`, changed in place. A stale handle reads an empty flow and its writes
    /// go nowhere.
    public subscript(ref: FlowRef) -> Flow {
        @inlinable get { isValid(ref) ? slots[Int(ref.index)] : Flow() }
        _modify {
            if isValid(ref) {
                yield &slots[Int(ref.index)]
            } else {
                scratch = Flow()
                yield &scratch
            }
        }
    }

    /// Single fields of a flow, read in place. The subscript returns a copy of the whole `Flow`
    /// (a few hundred bytes); the packet path read it five or six times per packet, mostly for
    /// these (23 M of 530 M instructions on the 10 MB capture). A stale handle reads the
    /// values of a fresh `Flow()`, as the subscript would.
    ///
    /// `mutating` although they only read: the engine holds the table in a class property, and
    /// a non-mutating call (inlined or not) first copied the whole table struct (~650 bytes,
    /// one `memcpy`) to have an immutable `self`; a mutating one is passed the property's
    /// address. 2-6 such copies a packet cost ~9 M instructions on the 10 MB capture.
    @inlinable
    public mutating func engineFlags(_ ref: FlowRef) -> UInt32 {
        isValid(ref) ? slots[Int(ref.index)].engineFlags : 0
    }

    @inlinable
    public mutating func appProto(_ ref: FlowRef) -> AppProto {
        isValid(ref) ? slots[Int(ref.index)].appProto : .unknown
    }

    /// `flows[ref].stream(direction).nextOffset` without the copy.
    @inlinable
    public mutating func nextOffset(_ ref: FlowRef, _ direction: Direction) -> UInt64 {
        guard isValid(ref) else { return 0 }
        let i = Int(ref.index)
        return direction == .toServer ? slots[i].toServer.nextOffset : slots[i].toClient.nextOffset
    }

    /// `flows[ref]` (a copy of the flow) for a caller holding the table in a class property:
    /// `mutating` for the same reason as `engineFlags`, the subscript's getter copied the table
    /// first.
    @inlinable
    public mutating func flow(_ ref: FlowRef) -> Flow {
        isValid(ref) ? slots[Int(ref.index)] : Flow()
    }

    /// Copies the flow of `ref` into `target` (a fresh `Flow()` for a stale handle): one copy
    /// straight into the caller's storage, where `target = flows.flow(ref)` made two.
    @inlinable
    public mutating func copy(_ ref: FlowRef, into target: inout Flow) {
        if isValid(ref) { target = slots[Int(ref.index)] } else { target = Flow() }
    }

    /// `body`'s result on the flow of `ref` read in place (a fresh `Flow()` for a stale
    /// handle): for a caller that needs a few fields of a flow it holds in a class property,
    /// without the ~330-byte copy `flow(_:)` makes. `mutating` for the reason `engineFlags` is.
    @inlinable
    public mutating func reading<R>(_ ref: FlowRef, _ body: (inout Flow) -> R) -> R {
        if isValid(ref) { return body(&slots[Int(ref.index)]) }
        var fresh = Flow()
        return body(&fresh)
    }

    /// Runs `body` on the flow of `ref` in place (a stale handle gets a scratch flow). The
    /// packet path uses this rather than `flows[ref].x = …`: in debug builds the subscript's
    /// `_modify`, which yields through Array's own accessor, heap-allocates its coroutine frame
    /// on every write.
    public mutating func withFlow(_ ref: FlowRef, _ body: (inout Flow) -> Void) {
        if isValid(ref) {
            body(&slots[Int(ref.index)])
        } else {
            scratch = Flow()
            body(&scratch)
        }
    }

    /// Makes the flow's server its client and back (Suricata's midstream flow reversal: a
    /// session picked up on the server's packet, an HTTP response, is found to run the other
    /// way when its protocol is detected). Every per-direction field changes sides together,
    /// the streams with their reassembly state, so the flow reads as if its first packet had
    /// come from the other end. The key is symmetric, so the slot stays in its bucket.
    public mutating func reverse(_ ref: FlowRef) {
        guard isValid(ref) else { return }
        slots[Int(ref.index)].reverse()
    }

    // MARK: Tracking

    /// Finds or creates the flow of `p`, updates its counters, TCP state and `lastSeen`.
    ///
    /// The client is the sender of the first packet, except that a SYN/ACK seen first makes its
    /// sender the server. When the table is full a flow is evicted: one already idle past its
    /// timeout, else a closed or half-open one, else an established one idle longer than
    /// `evictEstablishedIdle`, oldest first, among `evictionSample` slots. When none qualifies,
    /// the packet gets no flow (nil, counted in `tableFull`).
    ///
    /// `onEnd` is called for a flow that ends here (evicted, timed out on its next packet, or a
    /// closing or closed session whose ports a new SYN reuses) before its slot is reused: the engine must pass
    /// the same handler as to `expire`, which logs the flow, frees its parser state and calls
    /// `TCPReassembler.release`.
    public mutating func track(
        _ p: DecodedPacket,
        onEnd: (FlowRef, inout Flow, FlowEndReason) -> Void = { _, _, _ in }
    ) -> (ref: FlowRef, direction: Direction, isNew: Bool)? {
        packetStreamEvents = StreamEvents()
        guard p.ipVersion == 4 || p.ipVersion == 6 else {
            counters.untracked &+= 1
            return nil
        }
        let key = FlowKey(p)
        let bucket = Int(truncatingIfNeeded: key.hash(seed: config.hashSeed)) & bucketMask
        if let i = find(key, bucket) {
            let d = direction(of: p, slot: i)
            let idle = p.timestamp.totalMicros &- slots[i].lastSeen.totalMicros
            let closed = slots[i].tcpState.timeoutClass == .closed
            let reuse = p.ipProto == IPProto.tcp && TCPStateMachine.startsSession(p.tcpFlags)
                && reuseAllowed(old: slots[i], p, direction: d, idle: idle)
            if reuse {
                counters.tcpReused &+= 1
                end(i, .tcpClosed, onEnd)
            } else if idle > config.timeouts.timeout(for: slots[i]) {
                end(i, closed ? .tcpClosed : .timeout, onEnd)
            } else {
                update(i, p, d)
                return (FlowRef(index: Int32(i), generation: generation[i]), d, false)
            }
        }
        guard let i = allocate(now: p.timestamp, onEnd) else {
            counters.tableFull &+= 1
            return nil
        }
        start(i, p)
        link(i, bucket)
        let d = direction(of: p, slot: i)
        update(i, p, d)
        return (FlowRef(index: Int32(i), generation: generation[i]), d, true)
    }

    /// Ends flows idle past their timeout at packet time `now`, looking at no more than
    /// `budget` slots (a clock hand continues where the last call stopped). The engine calls it
    /// with a small budget per packet so expiry costs a bounded amount each time, and with
    /// `Int.max` to sweep the whole table once.
    public mutating func expire(now: Timestamp, budget: Int,
                                onEnd: (FlowRef, inout Flow, FlowEndReason) -> Void) {
        var n = Swift.min(Swift.max(0, budget), capacity)
        let t = now.totalMicros
        while n > 0 {
            n -= 1
            let j = expireHand
            expireHand = j + 1 == capacity ? 0 : j + 1
            guard generation[j] & 1 == 1 else { continue }
            if t &- slots[j].lastSeen.totalMicros > config.timeouts.timeout(for: slots[j]) {
                end(j, slots[j].tcpState.timeoutClass == .closed ? .tcpClosed : .timeout, onEnd)
            }
        }
    }

    /// Ends every flow (end of a capture, shutdown).
    public mutating func removeAll(onEnd: (FlowRef, inout Flow, FlowEndReason) -> Void) {
        for j in 0..<capacity where generation[j] & 1 == 1 {
            end(j, .shutdown, onEnd)
        }
    }

    // MARK: Internals

    /// Whether a SYN that starts a session (`p`, sent in `direction`) on the ports of `old`,
    /// silent for `idle` microseconds, ends it and starts a new one: port reuse as Suricata
    /// decides it (TcpSessionReuseDoneEnoughSyn), made harder to abuse.
    ///
    /// - The state must accept reuse (`TCPState.acceptsReuse`: CLOSE_WAIT, LAST_ACK, CLOSING,
    ///   CLOSED, or no state).
    /// - The client's SYN with the old ISN is a resend (the old session's `shutdown_syn_resend`),
    ///   not a new session. A flow with no TCP state (its packets had impossible flags: Suricata
    ///   has no session for it) is reused by the server's SYN only; the client's SYN starts the
    ///   session in it.
    /// - CLOSE_WAIT: the server may still be sending, so only after `closeWaitReuseIdle` of
    ///   silence (FlowTimeouts.swift).
    /// - LAST_ACK and CLOSING: at once only when each side that sent its FIN has nothing
    ///   missing before it (`finComplete`); otherwise the same silence, whoever sends the SYN.
    ///   Why: a malicious server sends its FIN ahead of a hole (the client queues it), a SYN,
    ///   then the hole's bytes, which the client reads while the box has ended the flow.
    /// A NAT reusing a port whose last ACK was lost is the common legitimate case, and its
    /// streams are complete.
    @inline(__always)
    func reuseAllowed(old f: Flow, _ p: DecodedPacket, direction d: Direction, idle: Int64) -> Bool {
        let state = f.tcpState
        guard state.acceptsReuse else { return false }
        if d == .toServer && (state == .none || (f.toServer.synSeen && f.toServer.isn == p.seq)) { return false }
        switch state {
        case .closeWait:
            return idle >= config.timeouts.closeWaitReuseIdle
        case .lastAck, .closing:
            return (FlowTable.finComplete(f.toServer) && FlowTable.finComplete(f.toClient))
                || idle >= config.timeouts.closeWaitReuseIdle
        default:
            return true
        }
    }

    /// The stream has nothing missing before its FIN: no FIN, or the reassembler delivered
    /// everything up to it (`done`), or it never saw the FIN (the engine does not reassemble
    /// the flow, encrypted TLS: nothing of it would be inspected either way). A FIN ahead of a
    /// hole, or bytes queued out of order or held unacknowledged, are not complete.
    @inline(__always)
    static func finComplete(_ s: TCPStream) -> Bool {
        !s.finSeen || s.done || s.finOffset == .max
    }

    /// Inlined into `track`: called as a function it copied the whole table struct per packet.
    @inline(__always)
    func find(_ key: FlowKey, _ bucket: Int) -> Int? {
        var i = buckets[bucket]
        var steps = 0
        while i >= 0 && steps < capacity {
            let j = Int(i)
            if FlowKey(slots[j]) == key { return j }
            i = chainNext[j]
            steps += 1
        }
        return nil
    }

    /// Reads slot `i` in place (passing `slots[i]` copied the ~330-byte flow).
    @inline(__always)
    func direction(of p: DecodedPacket, slot i: Int) -> Direction {
        let ports = p.ipProto == IPProto.tcp || p.ipProto == IPProto.udp
        let sp = ports ? p.srcPort : 0
        return p.src == slots[i].clientIP && sp == slots[i].clientPort ? .toServer : .toClient
    }

    mutating func link(_ i: Int, _ bucket: Int) {
        slotBucket[i] = Int32(bucket)
        chainNext[i] = buckets[bucket]
        buckets[bucket] = Int32(i)
    }

    mutating func unlink(_ i: Int) {
        let b = Int(slotBucket[i])
        guard b >= 0 && b <= bucketMask else { return }
        var prev: Int32 = -1
        var cur = buckets[b]
        var steps = 0
        while cur >= 0 && steps < capacity {
            if Int(cur) == i {
                if prev < 0 { buckets[b] = chainNext[i] } else { chainNext[Int(prev)] = chainNext[i] }
                break
            }
            prev = cur
            cur = chainNext[Int(cur)]
            steps += 1
        }
        slotBucket[i] = -1
    }

    /// A free slot, evicting a flow when none is free.
    mutating func allocate(now: Timestamp, _ onEnd: (FlowRef, inout Flow, FlowEndReason) -> Void) -> Int? {
        if freeHead < 0 {
            guard let victim = pickVictim(now: now) else { return nil }
            end(victim.index, victim.reason, onEnd)
        }
        let i = Int(freeHead)
        guard i >= 0 && i < capacity else { return nil }
        freeHead = chainNext[i]
        chainNext[i] = -1
        generation[i] &+= 1
        counters.active += 1
        counters.created &+= 1
        return i
    }

    /// Looks at `evictionSample` slots from a rotating hand and picks what to end.
    func pickVictim(now: Timestamp) -> (index: Int, reason: FlowEndReason)? {
        let t = now.totalMicros
        let sample = Swift.min(Swift.max(1, config.evictionSample), capacity)
        var best = -1, bestClass = Int.max, bestSeen = Int64.max
        var j = evictHand
        for _ in 0..<sample {
            defer { j = j + 1 == capacity ? 0 : j + 1 }
            guard generation[j] & 1 == 1 else { continue }
            let seen = slots[j].lastSeen.totalMicros
            let idle = t &- seen
            if idle > config.timeouts.timeout(for: slots[j]) {
                return (j, slots[j].tcpState.timeoutClass == .closed ? .tcpClosed : .timeout)
            }
            let cls: Int
            let isTCP = slots[j].ipProto == IPProto.tcp
            if isTCP && slots[j].tcpState.timeoutClass == .closed {
                cls = 0
            } else if isTCP ? slots[j].tcpState.timeoutClass == .new || (slots[j].midstream && !slots[j].hasBothDirections)
                            : !slots[j].hasBothDirections {
                // Half-open, and sessions picked up midstream that only one side ever spoke in:
                // one forged packet each (an ACK or FIN flood with midstream pickup on would
                // otherwise hold every slot for `evictEstablishedIdle`, and every real new flow
                // meanwhile would get no stream, no parser, no antivirus).
                cls = 1
            } else if idle >= config.timeouts.evictEstablishedIdle {
                cls = 2
            } else {
                continue
            }
            if cls < bestClass || (cls == bestClass && seen < bestSeen) {
                best = j; bestClass = cls; bestSeen = seen
            }
        }
        return best >= 0 ? (best, .evicted) : nil
    }

    /// Moves the eviction hand; separate from `pickVictim` so that stays a pure look.
    mutating func advanceEvictHand() {
        let s = Swift.min(Swift.max(1, config.evictionSample), capacity)
        evictHand = (evictHand + s) % capacity
    }

    mutating func end(_ i: Int, _ reason: FlowEndReason,
                      _ onEnd: (FlowRef, inout Flow, FlowEndReason) -> Void) {
        onEnd(FlowRef(index: Int32(i), generation: generation[i]), &slots[i], reason)
        switch reason {
        case .timeout: counters.timedOut &+= 1
        case .tcpClosed: counters.tcpClosed &+= 1
        case .evicted: counters.evicted &+= 1; advanceEvictHand()
        case .shutdown: counters.shutdown &+= 1
        }
        unlink(i)
        generation[i] &+= 1
        slots[i] = Flow()
        chainNext[i] = freeHead
        freeHead = Int32(i)
        counters.active -= 1
    }

    /// Fills a fresh slot from the flow's first packet.
    mutating func start(_ i: Int, _ p: DecodedPacket) {
        let ports = p.ipProto == IPProto.tcp || p.ipProto == IPProto.udp
        let sp = ports ? p.srcPort : 0, dp = ports ? p.dstPort : 0
        // A SYN/ACK seen first comes from the server.
        let fromServer = p.ipProto == IPProto.tcp && p.tcpFlags.contains(TCPStateMachine.synACK)
            && !TCPStateMachine.isInvalid(p.tcpFlags)
        var f = Flow()
        f.id = nextID()
        f.clientIP = fromServer ? p.dst : p.src
        f.serverIP = fromServer ? p.src : p.dst
        f.clientPort = fromServer ? dp : sp
        f.serverPort = fromServer ? sp : dp
        f.clientMAC = fromServer ? p.dstMAC : p.srcMAC
        f.serverMAC = fromServer ? p.srcMAC : p.dstMAC
        f.ipProto = p.ipProto
        f.vlan = p.vlanCount > 0 ? (p.vlanIDs.0, p.vlanCount > 1 ? p.vlanIDs.1 : 0) : (0, 0)
        f.firstSeen = p.timestamp
        f.lastSeen = p.timestamp
        if p.ipProto == IPProto.tcp && !TCPStateMachine.isInvalid(p.tcpFlags) {
            let s = TCPStateMachine.initialState(p.tcpFlags)
            // A SYN or SYN/ACK moves the state on in `update`; anything else is a pick-up.
            f.tcpState = p.tcpFlags.contains(.syn) ? .none : s.state
            f.midstream = s.midstream
            if s.midstream { counters.tcpMidstream &+= 1 }
        }
        slots[i] = f
    }

    mutating func update(_ i: Int, _ p: DecodedPacket, _ d: Direction) {
        if slots[i].lastSeen < p.timestamp { slots[i].lastSeen = p.timestamp }
        let size = UInt64(Swift.max(0, p.wireLength > 0 ? p.wireLength : p.ipLength))
        if d == .toServer {
            slots[i].packets.0 &+= 1
            slots[i].bytes.0 &+= size
        } else {
            slots[i].packets.1 &+= 1
            slots[i].bytes.1 &+= size
        }
        if p.ipProto == IPProto.tcp {
            var ev = StreamEvents()
            if !TCPStateMachine.update(&slots[i], p, d, &ev) { counters.tcpInvalid &+= 1 }
            if ev.rawValue != 0 {
                packetStreamEvents = ev
                streamEventCounts.add(ev)
            }
        }
    }

    /// Unique, non-zero ids below 2^48: a counter pushed through a keyed bijection of 48-bit
    /// integers, so ids do not reveal how many flows the box has seen.
    mutating func nextID() -> UInt64 {
        let mask: UInt64 = (1 << 48) - 1
        while true {
            idCounter &+= 1
            var x = (idCounter ^ config.hashSeed.0) & mask
            x = (x &* 0x5_DEEC_E66D) & mask
            x ^= x >> 24
            x = (x &* 0x9E37_79B9_7F4B) & mask  // odd: a bijection mod 2^48
            x ^= x >> 20
            x ^= config.hashSeed.1 & mask
            if x != 0 { return x }
        }
    }
}
