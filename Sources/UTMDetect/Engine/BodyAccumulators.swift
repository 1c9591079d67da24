import UTMCore

/// HTTP bodies inspected per transaction, not per parser feed (README "HTTP body inspection
/// per transaction, session 7").
///
/// Each segment's body bytes used to be inspected alone: a pattern split over two segments
/// was missed (a server writing its response in small segments evaded every file_data rule),
/// `depth`/`offset`/`startswith` counted from the segment's first byte (`file_data;
/// content:"MZ"; depth:2;` fired on any later segment starting with "MZ"), and one signature
/// alerted once per segment. Suricata keeps the body per transaction and inspects it when it
/// is complete or reaches `*-body-minimal-inspect-size`, then (the last `*-body-inspect-window`
/// bytes already inspected) + the new bytes. This does the same with a fixed pool:
///
/// - A body that completes in the feed that began it (the common case) is inspected in place,
///   never copied here.
/// - Otherwise an accumulator holds its bytes until the body ends, the minimal size is reached
///   or the accumulator is full; after that first inspection it keeps the last `window` bytes
///   and inspects again when it is full (a step of `capacity - window` new bytes), or the body
///   ends. Re-inspecting window + new bytes on every segment would be quadratic. Sizes as in
///   Suricata's shipped suricata.yaml: requests 32 KiB minimal / 4 KiB window, responses
///   40 KiB / 16 KiB (its random variation of them is not done: a pattern shorter than the
///   window is found whatever the step boundaries, so knowing them gains an evader nothing).
/// - A signature that matched a transaction's body is not verified on it again (a small
///   list per accumulator; when it is full, counted, and a repeat alert is possible).
/// - Positions are body-relative: a signature with an absolute position in a body buffer
///   (offset, depth, startswith, byte_test without relative...) is verified only on an
///   inspection that begins at the body's first byte, one that reads the buffer's end
///   (endswith) only on the inspection that ends with the body (a cut at the inspection
///   limit is not its end), and a `bsize` after a transform only on an inspection that covers
///   the whole body (both). That is stricter than Suricata, which verifies them on any
///   inspection and so can both miss and misfire.
/// - No accumulator free: the transaction is inspected per feed as before, counted
///   (`detect.body_pool_exhausted`). One client host may hold at most
///   `DetectConfig.bodyAccumulatorsPerHost` at once (a quarter of the pool by default): a
///   host opening many slow bodies gets per-feed inspection for the rest of them, counted
///   (`detect.body_host_capped`), and cannot empty the pool for every other host. Nor may a
///   host hold more than is left free, and IPv6 clients count per /64.
/// - A held body whose transaction the parser gave up before its end (the next transaction's
///   body arrives instead) is inspected as a cut body before its accumulator is reused, never
///   dropped unseen (`detect.body_orphans_inspected`).
/// - `bsize` on a body reads the body's length, not the inspected bytes' (Suricata passes
///   the body offset of the inspection's end): judged on the body's end, and earlier only when
///   a lower bound (`bsize:>N`) is already met (the length only grows).
///
/// Memory: `slots * capacity` bytes reserved once (default 256 x 40 KiB = 10 MiB of address
/// space); a page is resident only once a body has been held in it.
struct BodyAccumulators {
    /// Signatures remembered per accumulator as having matched its transaction.
    static let matchedPerBody = 8

    let capacity: Int
    let slab: ByteSlab
    /// Per accumulator: the flow direction holding it (slot * 2 + direction), or -1 when free.
    var owner: [Int32]
    var sequence: [UInt32]
    /// Bytes held, and how many of them (at the end) are not inspected yet.
    var length: [Int32]
    var fresh: [Int32]
    /// The first inspection (the one that began at the body's first byte) is done.
    var inspected: [Bool]
    /// Held for an HTTP/2 stream side (found by owner and key), not as the direction's one
    /// HTTP/1 body (`DetectEngine.bodyAcc`).
    var stream: [Bool]
    /// The body offset just after the bytes held: a piece that does not begin there left a
    /// hole (bytes the engine did not keep) and is not joined to them.
    var next: [Int]
    var matched: [Int32]
    var free: [Int32]
    /// Per accumulator: the client-host bucket it is charged to (-1: none), and per bucket how
    /// many accumulators its hosts hold. A bucket is a seeded hash of the client address, so
    /// hosts sharing one share its cap (1,024 buckets: rare, and not steerable by an attacker).
    var host: [Int32]
    var hostHeld: [UInt16]

    init(slots: Int, capacity: Int, hostBuckets: Int = 1024) {
        let n = Swift.max(0, slots)
        self.capacity = Swift.max(1, capacity)
        slab = ByteSlab(capacity: n * self.capacity)
        owner = Array(repeating: -1, count: n)
        sequence = Array(repeating: 0, count: n)
        length = Array(repeating: 0, count: n)
        fresh = Array(repeating: 0, count: n)
        inspected = Array(repeating: false, count: n)
        stream = Array(repeating: false, count: n)
        next = Array(repeating: 0, count: n)
        matched = Array(repeating: -1, count: n * BodyAccumulators.matchedPerBody)
        free = (0 ..< Int32(n)).reversed().map { $0 }
        host = Array(repeating: -1, count: n)
        hostHeld = Array(repeating: 0, count: Swift.max(1, hostBuckets))
    }

    /// Accumulators the hosts of `bucket` hold (0 for no bucket).
    func held(byHost bucket: Int) -> Int {
        bucket >= 0 && bucket < hostHeld.count ? Int(hostHeld[bucket]) : 0
    }

    /// A free accumulator for flow direction `si`'s transaction `seq`, or -1 (pool empty).
    mutating func acquire(_ si: Int, _ seq: UInt32, host bucket: Int = -1) -> Int {
        guard let a32 = free.popLast() else { return -1 }
        let a = Int(a32)
        if bucket >= 0 && bucket < hostHeld.count {
            host[a] = Int32(bucket)
            hostHeld[bucket] &+= 1
        } else {
            host[a] = -1
        }
        owner[a] = Int32(truncatingIfNeeded: si)
        sequence[a] = seq
        length[a] = 0
        fresh[a] = 0
        inspected[a] = false
        next[a] = 0
        let base = a &* BodyAccumulators.matchedPerBody
        var k = 0
        while k < BodyAccumulators.matchedPerBody { matched[base &+ k] = -1; k &+= 1 }
        return a
    }

    mutating func release(_ a: Int) {
        guard a >= 0 && a < owner.count && owner[a] >= 0 else { return }
        owner[a] = -1
        let b = Int(host[a])
        if b >= 0 && hostHeld[b] > 0 { hostHeld[b] &-= 1 }
        host[a] = -1
        free.append(Int32(a))
    }

    func view(_ a: Int) -> ByteView? {
        slab.view(a &* capacity, Int(length[a]))
    }

    /// Appends bytes that fit (the caller cuts `bytes` to `capacity - length`).
    mutating func append(_ a: Int, _ bytes: ByteView) {
        let held = Int(length[a])
        let n = Swift.min(bytes.count, capacity &- held)
        guard n > 0 else { return }
        slab.write(bytes.prefix(n), at: a &* capacity &+ held)
        length[a] = Int32(held &+ n)
        fresh[a] = Int32(Int(fresh[a]) &+ n)
    }

    /// After an inspection: only the last `window` bytes stay, all of them inspected.
    mutating func keepLast(_ a: Int, _ window: Int) {
        let held = Int(length[a])
        let keep = Swift.min(held, Swift.max(0, window))
        if keep > 0 && keep < held { slab.move(from: a &* capacity &+ held &- keep, to: a &* capacity, count: keep) }
        length[a] = Int32(keep)
        fresh[a] = 0
        inspected[a] = true
    }

    /// Keeps the last `window` bytes of `bytes`, inspected in place, as the accumulator's content.
    mutating func keepLast(_ a: Int, of bytes: ByteView, _ window: Int) {
        let keep = Swift.min(bytes.count, Swift.max(0, Swift.min(window, capacity)))
        if keep > 0 { slab.write(bytes.dropFirst(bytes.count &- keep), at: a &* capacity) }
        length[a] = Int32(keep)
        fresh[a] = 0
        inspected[a] = true
    }

    func hasMatched(_ a: Int, _ sig: Int) -> Bool {
        let base = a &* BodyAccumulators.matchedPerBody
        var k = 0
        while k < BodyAccumulators.matchedPerBody {
            let v = matched[base &+ k]
            if v < 0 { return false }
            if Int(v) == sig { return true }
            k &+= 1
        }
        return false
    }

    /// Remembers a match; false when the list is full.
    mutating func noteMatched(_ a: Int, _ sig: Int) -> Bool {
        let base = a &* BodyAccumulators.matchedPerBody
        var k = 0
        while k < BodyAccumulators.matchedPerBody {
            let v = matched[base &+ k]
            if Int(v) == sig { return true }
            if v < 0 { matched[base &+ k] = Int32(truncatingIfNeeded: sig); return true }
            k &+= 1
        }
        return false
    }
}

/// The body inspection under way, read by `run` (DetectEngine.swift).
struct BodyScope {
    /// An inspection of an HTTP body is running.
    var active = false
    /// Its accumulator (-1: inspected in place or per feed, no matched list).
    var accumulator = -1
    /// The inspected bytes begin at the body's first byte.
    var fromStart = true
    /// The inspected bytes end where the body ends (complete, cut at the limit, or flow end).
    var final = true
    /// Only end-anchored signatures: the body ended right after bytes an earlier, non-final
    /// inspection covered, so only they have something new to judge (the held window).
    var tailOnly = false
}

extension DetectEngine {
    /// Whether a signature's body lists read an absolute position from the buffer's start
    /// (`head`) or its end (`tail`). Relative elements follow an earlier match in the same
    /// inspection, so they are not positions in the body.
    /// `sized`: a `bsize` on an untransformed body list, judged on the body's length (which the
    /// verifier is given), so on any inspection, but one the body's end can still decide.
    static func bodyAnchors(_ sig: Signature) -> (head: Bool, tail: Bool, sized: Bool) {
        var head = false, tail = false, sized = false
        for list in sig.lists where list.buffer == .fileData || list.buffer == .httpServerBody || list.buffer == .httpClientBody {
            for e in list.elements {
                switch e {
                case .content(let c):
                    if c.endsWith { tail = true }
                    if !c.isRelative && (c.offset != nil || c.depth != nil || c.startsWith) { head = true }
                case .length:
                    if list.transforms.isEmpty {
                        // The verifier reads the body's length, not the window's (Verifier
                        // `bodyLength`): no position to anchor, but the end decides.
                        sized = true
                    } else {
                        // The transformed window's length is not the transformed body's:
                        // judged only on an inspection covering the whole body.
                        head = true
                        tail = true
                    }
                case .pcre, .base64Decode:
                    continue
                default:
                    if !e.isRelative { head = true }
                }
            }
        }
        return (head, tail, sized)
    }

    /// Body bytes of HTTP transaction `sequence` in `direction`, in order (already de-chunked
    /// and decompressed by the parser); `ended`: the body ends with them. Calls `inspect` for
    /// each inspection due (zero, one, or more for a feed larger than an accumulator), with
    /// `bodyScope` set for `run`. Nothing here allocates: the pool was reserved at init.
    /// `truncated`: the body was cut there (gap, flow end before its length, feed room), so
    /// its bytes are inspected and released as at an end, but end-anchored rules are not judged.
    /// `client`: the flow's client address, whose host is charged the accumulator
    /// (`bodyAccumulatorsPerHost`). `orphan`: called with the key and held bytes of an earlier
    /// transaction of this direction whose body never ended (see below); the engine inspects
    /// them with that transaction's buffers when its parser still has it, else body only.
    public func feedBody(slot: Int, direction: Direction, sequence: UInt32, _ data: ByteView, ended: Bool,
                         truncated: Bool = false, client: IPAddress = .none,
                         orphan: (UInt32, ByteView) -> Void = { _, _ in }, _ inspect: (ByteView) -> Void) {
        guard slot >= 0 && slot < flowIDs.count else { return }
        let si = slot &* 2 &+ direction.index
        let request = direction == .toServer
        var a = Int(bodyAcc[si])
        if a >= 0 && bodies.sequence[a] != sequence {
            // The previous transaction's body never ended here (its parser let it go: a gap in
            // the other direction with a full queue, a resync): what it held is inspected as a
            // cut body (end-anchored rules not judged) before the accumulator is reused.
            if bodies.fresh[a] > 0 { stats.bodyOrphansInspected &+= 1 }
            flushOne(slot, direction, a, final: false, orphan)
            releaseBody(si)
            a = -1
        }
        // Suricata's request/response-body-limit: bodies are inspected up to a bound.
        let room = bodyRoom(slot, direction, sequence: sequence)
        var bytes = data
        var final = ended
        if room <= 0 {
            // The limit was reached earlier; that inspection was the body's last.
            if a >= 0 { releaseBody(si) }
            return
        }
        if bytes.count >= room {
            // The body continues past the limit unless it ends exactly there: neither `bsize`
            // nor `endswith` is judged on the limit as if it were the body's end.
            bodyCutAtLimit = !(ended && data.count == room)
            bytes = bytes.prefix(room)
            final = true
        }
        // Always, even with no bytes (a body's end): keys `headersQuiet` to this transaction.
        bodyInspected(slot, direction, sequence: sequence, bytes.count)
        accumulate(si, sequence, bytes, start: Int(bodyBytes[si]) &- bytes.count, final: final, held: a, request: request,
                   truncated: (truncated && ended) || bodyCutAtLimit, client: client, inspect)
        bodyCutAtLimit = false
    }

    /// The per-host bucket of client address `ip` (-1: none given). Hasher is seeded per
    /// process, so which hosts share a bucket cannot be chosen from outside.
    func hostBucket(_ ip: IPAddress) -> Int {
        guard ip != .none, !bodies.hostHeld.isEmpty else { return -1 }
        var h = Hasher()
        if ip.isV6 {
            // One IPv6 machine has a whole /64 (SLAAC privacy addresses, or any address it
            // likes): counted per /64, or a new source address per body would dodge the cap.
            h.combine(true)
            h.combine(ip.hi)
        } else {
            h.combine(ip)
        }
        return Int(UInt(bitPattern: h.finalize()) % UInt(bodies.hostHeld.count))
    }

    /// HTTP/2: body bytes of one stream side (`sequence`: the engine's key for it), `offset`
    /// bytes into that body (the parser counts them). Streams of one direction interleave, so
    /// a direction may hold up to `DetectConfig.bodyStreamsPerDirection` accumulators at once
    /// (found by owner and key; one connection cannot take the whole pool); a body that began
    /// when none was left is inspected per feed (counted as `bodyPoolExhausted`).
    public func feedStreamBody(slot: Int, direction: Direction, sequence: UInt32, offset: Int64, _ data: ByteView,
                               ended: Bool, client: IPAddress = .none, _ inspect: (ByteView) -> Void) {
        guard slot >= 0 && slot < flowIDs.count else { return }
        let si = slot &* 2 &+ direction.index
        let a = bodyStreamHeld[si] > 0 ? streamAccumulator(si, sequence) : -1
        let limit = Int64(config.bodyInspectLimit)
        guard offset >= 0 && offset < limit else {
            if a >= 0 { releaseStream(si, a) }
            return
        }
        var bytes = data
        var final = ended
        if Int64(bytes.count) >= limit &- offset {
            bodyCutAtLimit = !(ended && Int64(data.count) == limit &- offset)
            bytes = bytes.prefix(Int(limit &- offset))
            final = true
        }
        // Keys `headersQuiet` to this stream (its header buffers are the ones inspected), also
        // for an empty DATA frame that only ends the body: another stream's quiet headers
        // must not hide this one's header-prefiltered body rules.
        bodyInspected(slot, direction, sequence: sequence, bytes.count)
        accumulate(si, sequence, bytes, start: Int(offset), final: final, held: a,
                   request: direction == .toServer, stream: true, truncated: bodyCutAtLimit, client: client, inspect)
        bodyCutAtLimit = false
    }

    /// The accumulator flow direction `si` holds for HTTP/2 stream side `key`, or -1.
    func streamAccumulator(_ si: Int, _ key: UInt32) -> Int {
        var a = 0
        let n = bodies.owner.count
        while a < n {
            if Int(bodies.owner[a]) == si && bodies.sequence[a] == key && bodies.stream[a] { return a }
            a &+= 1
        }
        return -1
    }

    func releaseStream(_ si: Int, _ a: Int) {
        guard Int(bodies.owner[a]) == si else { return }
        bodies.release(a)
        bodyStreamHeld[si] &-= 1
    }

    /// HTTP/2: stream side `key` is finished and its stream is about to be freed. What its
    /// accumulator still holds is inspected as the body's end and the accumulator given back:
    /// a body whose end marker the engine could not keep (piece table full) is neither left
    /// unseen (no stream to flush at the flow's end) nor held against the per-direction cap.
    public func endStreamBody(slot: Int, direction: Direction, key: UInt32, _ inspect: (ByteView) -> Void) {
        guard slot >= 0 && slot < flowIDs.count else { return }
        let si = slot &* 2 &+ direction.index
        guard bodyStreamHeld[si] > 0 else { return }
        let a = streamAccumulator(si, key)
        guard a >= 0 else { return }
        stats.bodyEndsRecovered &+= 1
        flushOne(slot, direction, a, final: true) { _, v in inspect(v) }
        releaseStream(si, a)
    }

    /// Gives back every HTTP/2 accumulator of flow direction `si` (its flow ended).
    func releaseStreams(_ si: Int) {
        guard bodyStreamHeld[si] > 0 else { return }
        var a = 0
        while a < bodies.owner.count {
            if Int(bodies.owner[a]) == si && bodies.stream[a] { bodies.release(a) }
            a &+= 1
        }
        bodyStreamHeld[si] = 0
    }

    /// The accumulation itself: `bytes` begin `start` bytes into the body; `held` is the
    /// accumulator already serving it (-1: none).
    /// `truncated`: `final` is a cut, not the body's end (inspected without judging the end).
    /// `client`: the flow's client address, whose host (`hostBucket`, hashed only when an
    /// accumulator is to be taken) is charged for it.
    func accumulate(_ si: Int, _ sequence: UInt32, _ bytes: ByteView, start: Int, final: Bool, held: Int, request: Bool,
                    stream: Bool = false, truncated: Bool = false, client: IPAddress = .none, _ inspect: (ByteView) -> Void) {
        let atEnd = final && !truncated
        let minimal = request ? config.requestBodyMinimal : config.responseBodyMinimal
        let window = request ? config.requestBodyWindow : config.responseBodyWindow
        var a = held
        if a >= 0 && start != bodies.next[a] {
            // A hole before these bytes: what was held is inspected now, this body goes on per feed.
            if bodies.fresh[a] > 0, let v = bodies.view(a) {
                runBody(v, accumulator: a, fromStart: !bodies.inspected[a], final: false, end: bodies.next[a], inspect)
            }
            if stream { releaseStream(si, a) } else { releaseBody(si) }
            a = -1
        }
        if a >= 0 { bodies.next[a] = start &+ bytes.count }
        if a < 0 {
            guard !bytes.isEmpty else { return }
            if start > 0 {
                // Earlier bytes of this body went by without an accumulator: per feed.
                runBody(bytes, accumulator: -1, fromStart: start == 0, final: atEnd, end: start &+ bytes.count, inspect)
                return
            }
            if final {
                // The whole body in one feed: inspected in place, never copied.
                runBody(bytes, accumulator: -1, fromStart: true, final: atEnd, end: bytes.count, inspect)
                return
            }
            let capped = stream && Int(bodyStreamHeld[si]) >= config.bodyStreamsPerDirection
            // One client host may not take more than its share of the pool (a host opening
            // hundreds of slow bodies would otherwise leave every other host per-feed inspection).
            let host = capped ? -1 : hostBucket(client)
            // Also never more than is left free: with the fixed cap alone four hosts (64 of 256
            // each) emptied the pool; now each further host gets at most half of what remains,
            // so a handful of hosts leave some for the rest (about a dozen can still empty it).
            let hostHeld = host >= 0 ? bodies.held(byHost: host) : 0
            // (An empty pool is counted as exhausted, not as this host's cap.)
            let hostFull = host >= 0 && !bodies.free.isEmpty
                && (hostHeld >= config.bodyAccumulatorsPerHost || hostHeld >= bodies.free.count)
            a = capped || hostFull ? -1 : bodies.acquire(si, sequence, host: host)
            if a < 0 {
                if hostFull && !capped { stats.bodyHostCapped &+= 1 } else { stats.bodyPoolExhausted &+= 1 }
                runBody(bytes, accumulator: -1, fromStart: true, final: false, end: bytes.count, inspect)
                return
            }
            bodies.stream[a] = stream
            if stream { bodyStreamHeld[si] &+= 1 } else { bodyAcc[si] = Int32(a) }
            bodies.next[a] = bytes.count
            if bytes.count >= minimal || bytes.count >= bodies.capacity {
                // Enough for a first inspection already: in place, then keep the window.
                runBody(bytes, accumulator: a, fromStart: true, final: false, end: bytes.count, inspect)
                bodies.keepLast(a, of: bytes, window)
                return
            }
            bodies.append(a, bytes)
            return
        }
        var rest = bytes
        while true {
            let space = bodies.capacity &- Int(bodies.length[a])
            if rest.count <= space {
                bodies.append(a, rest)
                let held = Int(bodies.length[a])
                let first = !bodies.inspected[a]
                let due = final ? bodies.fresh[a] > 0 : (held >= bodies.capacity || (first && held >= minimal))
                if due, let v = bodies.view(a) {
                    runBody(v, accumulator: a, fromStart: first, final: atEnd, end: bodies.next[a], inspect)
                } else if atEnd && held > 0, let v = bodies.view(a) {
                    runBody(v, accumulator: a, fromStart: false, final: true, end: bodies.next[a], tailOnly: true, inspect)
                }
                if final {
                    if stream { releaseStream(si, a) } else { releaseBody(si) }
                } else if due {
                    bodies.keepLast(a, window)
                }
                return
            }
            // Larger than the room left: fill, inspect the full accumulator, keep the window.
            bodies.append(a, rest.prefix(space))
            rest = rest.dropFirst(space)
            if let v = bodies.view(a) {
                runBody(v, accumulator: a, fromStart: !bodies.inspected[a], final: false, end: bodies.next[a] &- rest.count, inspect)
            }
            bodies.keepLast(a, window)
        }
    }

    /// `end`: the body offset just after `v`, the body's length so far (what `bsize` reads).
    func runBody(_ v: ByteView, accumulator: Int, fromStart: Bool, final: Bool, end: Int, tailOnly: Bool = false,
                 _ inspect: (ByteView) -> Void) {
        if tailOnly && !hasTailAnchored { return }
        bodyScope = BodyScope(active: true, accumulator: accumulator, fromStart: fromStart, final: final, tailOnly: tailOnly)
        // Per feed, after earlier feeds of this body: a lower bound they already met is not
        // judged again (no matched list to stop the repeat).
        setBodyLength(end, final: final, before: accumulator < 0 && !fromStart ? Swift.max(0, end &- v.count) : -1)
        stats.bodyInspections &+= 1
        inspect(v)
        bodyScope = BodyScope()
        verifier.bodyLength = -1
        verifier.bodyLengthBefore = -1
    }

    /// The body length `bsize` reads for the inspection under way; final only when the body
    /// really ends there (not cut by a gap, the flow's end or the inspection limit).
    @inline(__always)
    func setBodyLength(_ end: Int, final: Bool, before: Int = -1) {
        verifier.bodyLength = Swift.max(0, end)
        verifier.bodyLengthFinal = final && !bodyCutAtLimit
        verifier.bodyLengthBefore = before
    }

    /// The flow ends while a body is open and its parser will not say so (HTTP/2): what the
    /// direction's accumulator holds and has not inspected is inspected (Suricata inspects at
    /// EOF), with the key of its stream side, and the accumulator is given back.
    public func flushBody(slot: Int, direction: Direction, _ inspect: (UInt32, ByteView) -> Void) {
        guard slot >= 0 && slot < flowIDs.count else { return }
        let si = slot &* 2 &+ direction.index
        let a = Int(bodyAcc[si])
        if a >= 0 {
            flushOne(slot, direction, a, final: true, inspect)
            releaseBody(si)
        }
        guard bodyStreamHeld[si] > 0 else { return }
        var k = 0
        while k < bodies.owner.count {
            if Int(bodies.owner[k]) == si && bodies.stream[k] { flushOne(slot, direction, k, final: true, inspect) }
            k &+= 1
        }
        releaseStreams(si)
    }

    /// HTTP/1 flow end, after the parser's own body ends were fed: an accumulator the
    /// direction still holds belongs to a transaction whose body never ended (its parser let
    /// it go, and no later body came to hand it back). Its uninspected bytes are inspected as
    /// a cut body (end-anchored rules not judged: the flow's end is not the body's), with the
    /// transaction's key, counted as `detect.body_orphans_inspected`, and the accumulator is
    /// given back; before, `endFlow` released them unseen.
    public func flushOrphanedBody(slot: Int, direction: Direction, _ inspect: (UInt32, ByteView) -> Void) {
        guard slot >= 0 && slot < flowIDs.count else { return }
        let si = slot &* 2 &+ direction.index
        let a = Int(bodyAcc[si])
        guard a >= 0 else { return }
        if bodies.fresh[a] > 0 { stats.bodyOrphansInspected &+= 1 }
        flushOne(slot, direction, a, final: false, inspect)
        releaseBody(si)
    }

    /// Inspects what accumulator `a` holds and has not inspected, with its transaction's key.
    /// `final`: as the body's end (flow end, stream end); otherwise as a cut body (an orphan),
    /// where only fresh bytes have anything to judge.
    func flushOne(_ slot: Int, _ direction: Direction, _ a: Int, final: Bool, _ inspect: (UInt32, ByteView) -> Void) {
        let fresh = bodies.fresh[a] > 0
        if (fresh || (final && hasTailAnchored)) && bodies.length[a] > 0, let v = bodies.view(a) {
            // The quiet-headers flag must describe this transaction's headers, not the last fed one's.
            bodyInspected(slot, direction, sequence: bodies.sequence[a], 0)
            bodyScope = BodyScope(active: true, accumulator: a, fromStart: !bodies.inspected[a], final: final, tailOnly: !fresh)
            setBodyLength(bodies.next[a], final: final)
            stats.bodyInspections &+= 1
            inspect(bodies.sequence[a], v)
            bodyScope = BodyScope()
            verifier.bodyLength = -1
        }
    }

    /// Gives back flow direction `si`'s accumulator.
    func releaseBody(_ si: Int) {
        let a = Int(bodyAcc[si])
        guard a >= 0 else { return }
        if Int(bodies.owner[a]) == si { bodies.release(a) }
        bodyAcc[si] = -1
    }

    /// In `run`: whether candidate `i` is left out of the body inspection under way.
    @inline(__always)
    func bodySkips(_ i: Int) -> Bool {
        let p = defs.phases[i]
        guard p == 2 || p == 4 else { return false }
        if bodyScope.tailOnly && !bodyTailAnchored[i] && !bodySized[i] { return true }
        if !bodyScope.fromStart && bodyHeadAnchored[i] { stats.bodyAnchoredSkips &+= 1; return true }
        if !bodyScope.final && bodyTailAnchored[i] { stats.bodyAnchoredSkips &+= 1; return true }
        if bodyScope.accumulator >= 0 && bodies.hasMatched(bodyScope.accumulator, i) { return true }
        return false
    }

    /// In `run`: candidate `i` matched the body inspection under way.
    @inline(__always)
    func bodyMatched(_ i: Int) {
        let p = defs.phases[i]
        guard p == 2 || p == 4, bodyScope.accumulator >= 0 else { return }
        if !bodies.noteMatched(bodyScope.accumulator, i) { stats.bodyMatchListFull &+= 1 }
    }

    /// Accumulators in use (for tests and the stats event).
    public var bodyAccumulatorsInUse: Int { bodies.owner.count &- bodies.free.count }
}
