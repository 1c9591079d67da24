import UTMCore
import UTMMatch

// The streaming body-signature matcher (.ndb signatures and .ldb subsignatures).
//
// How it works: every segment of every signature contributes its longest fixed literal (a run
// of exact bytes, at most `maxAnchor`) as a pattern of the shared multi-pattern automaton
// (UTMMatch, the IPS prefilter's matcher), with the segment's index as the pattern id. The
// automaton runs in streaming mode over the file, so an anchor split across chunks is still
// reported, with its end offset in the file. A hit is queued as a candidate and verified (by
// backtracking over the segment's tokens: wildcards, alternatives, gaps, the offset) once the
// bytes it may cover have arrived. The per-file state is a ring window of the last
// `windowSize` bytes (the bounded look-back around a hit, carried across chunk boundaries),
// fixed-capacity candidate and progress tables and the automaton's 16-byte `MatchState`, so
// any split of the input gives the same result and no chunk allocates.

struct CompiledSegment: Sendable {
    var tokStart: Int32 = 0
    var tokEnd: Int32 = 0
    var minLen: Int32 = 0
    var maxLen: Int32 = 0
    /// 0 when the segment has no literal run of 2+ bytes.
    var anchorLen: Int32 = 0
    var anchorCaseless = false
    /// Index in `BodyMatcher.tokens` of the anchor's first byte.
    var anchorTok: Int32 = 0
    /// Bytes before the anchor (min/max over gap and alternative choices) and after it.
    var preMin: Int32 = 0
    var preMax: Int32 = 0
    var postMax: Int32 = 0
    var gapMin: Int64 = 0
    var gapMax: Int64 = 0
    var sig: Int32 = 0
    var index: Int32 = 0
}

struct CompiledBodySig: Sendable {
    var segStart: Int32 = 0
    var segCount: Int32 = 0
    var offset: SignatureOffset = .any
    var target: UInt8 = 0
    /// Index into the database's names for .ndb signatures; -1 for .ldb subsignatures.
    var name: Int32 = -1
    /// Global .ldb subsignature number, or -1.
    var subsig: Int32 = -1
    var fullword = false
}

/// Per-file matching state; one per scan level, reused for every file (`reset`).
public final class BodyMatchState {
    struct Pending { var seg: Int32; var anchorEnd: Int64; var due: Int64 }
    struct Progress { var sig: Int32; var next: Int32; var prevEnd: Int64 }

    let windowSize: Int
    let ring: ByteSlab
    /// Bytes seen in this file.
    public internal(set) var total: Int64 = 0
    /// Where the anchor automaton is in this file (partial anchors straddling a chunk end).
    var anchors = MatchState()
    var pending: [Pending]
    var pendingCount = 0
    var progress: [Progress]
    var progressCount = 0
    var positionalCursor = 0
    var fileType: AVFileType = .unknown
    /// Global .ldb subsignature match counts, and which ones are non-zero (for a cheap reset).
    var subsigCounts: [UInt16]
    var touched: [Int32]
    var touchedCount = 0
    /// First .ndb signature that matched, or -1.
    public internal(set) var matchedName: Int32 = -1
    /// Candidates dropped because the candidate table was full (recorded, not fatal).
    public internal(set) var droppedCandidates: Int = 0
    var budget = 0

    init(windowSize: Int, subsigs: Int, pendingCapacity: Int = 1024, progressCapacity: Int = 64) {
        var w = 4096
        while w < windowSize { w <<= 1 }
        self.windowSize = w
        ring = ByteSlab(capacity: w)
        pending = [Pending](repeating: Pending(seg: 0, anchorEnd: 0, due: 0), count: pendingCapacity)
        progress = [Progress](repeating: Progress(sig: 0, next: 0, prevEnd: 0), count: progressCapacity)
        subsigCounts = [UInt16](repeating: 0, count: Swift.max(1, subsigs))
        touched = [Int32](repeating: 0, count: Swift.max(1, subsigs))
    }

    func reset(type: AVFileType) {
        total = 0
        anchors.reset()
        pendingCount = 0
        progressCount = 0
        positionalCursor = 0
        fileType = type
        for i in 0..<touchedCount { subsigCounts[Int(touched[i])] = 0 }
        touchedCount = 0
        matchedName = -1
        droppedCandidates = 0
    }

    @inline(__always) func byteAt(_ abs: Int64) -> UInt8? {
        guard abs >= 0, abs < total, abs >= total &- Int64(windowSize) else { return nil }
        return ring.read(Int(truncatingIfNeeded: abs) & (windowSize - 1))
    }
}

/// The compiled body signatures of one database. Immutable and shareable between threads.
public struct BodyMatcher: Sendable {
    var tokens: [PatternToken] = []
    /// (value << 8 | mask) bytes of alternatives, with `altRanges` (start, count) per alternative.
    var altBytes: [UInt16] = []
    var altRanges: [(Int32, Int32)] = []
    var segments: [CompiledSegment] = []
    var sigs: [CompiledBodySig] = []
    /// The segments' anchors; pattern id = segment index. Nil when no segment has one.
    var anchorSet: CompiledPatternSet?
    /// Segment-0s without an anchor but with an absolute offset, ordered by when they are due.
    var positional: [(due: Int64, seg: Int32)] = []
    /// Signatures placed from the end of the file.
    var fromEnd: [Int32] = []
    public private(set) var windowSize: Int = 16 << 10
    /// Longest anchor registered in the automaton: longer literals are no more selective, and
    /// the automaton's trie grows with the anchor bytes.
    static let maxAnchor = 32

    public var signatureCount: Int { sigs.count }
    /// Distinct anchors in the automaton, and the bytes of its tables.
    public var anchorPatterns: Int { anchorSet?.uniquePatterns ?? 0 }
    public var anchorMemoryBytes: Int { anchorSet?.memoryBytes ?? 0 }

    init() {}

    /// Compiles `pattern` as body signature `sig` (already appended to `sigs` by the caller
    /// with `segStart`/`segCount` to be filled). Returns an error when it cannot be matched.
    mutating func add(_ pattern: ParsedPattern, sig base: CompiledBodySig, limits: PatternLimits) -> AVLoadError? {
        var s = base
        let sigIndex = Int32(sigs.count)
        s.segStart = Int32(segments.count)
        s.segCount = Int32(pattern.segments.count)
        var newSegs: [CompiledSegment] = []
        var newTokens = tokens.count
        let altBase = Int32(altRanges.count)
        for (si, ps) in pattern.segments.enumerated() {
            var cs = CompiledSegment()
            cs.sig = sigIndex
            cs.index = Int32(si)
            cs.gapMin = ps.gapMin
            cs.gapMax = ps.gapMax
            cs.tokStart = Int32(newTokens)
            newTokens += ps.tokens.count
            cs.tokEnd = Int32(newTokens)
            // Lengths of each token.
            var mins: [Int] = [], maxs: [Int] = []
            for t in ps.tokens {
                switch t.kind {
                case .byte: mins.append(1); maxs.append(1)
                case .gap: mins.append(Int(t.a)); maxs.append(Int(t.b))
                case .alt:
                    let lens = (0..<Int(t.b)).map { pattern.alternatives[Int(t.a) + $0].count }
                    if t.negate { mins.append(lens[0]); maxs.append(lens[0]) } else {
                        mins.append(lens.min() ?? 0); maxs.append(lens.max() ?? 0)
                    }
                }
            }
            cs.minLen = Int32(mins.reduce(0, +))
            cs.maxLen = Int32(maxs.reduce(0, +))
            guard cs.maxLen <= Int32(limits.maxSegmentSpan) else { return .unsupported("segment longer than \(limits.maxSegmentSpan) bytes") }
            guard cs.minLen > 0 else { return .malformed("empty segment") }
            // Anchor: the longest run of exact bytes (capped at `maxAnchor`); among equally
            // long runs, the one with the most distinct bytes (runs of 00 or FF are common in
            // binaries and make poor anchors).
            var best = -1, bestLen = 0, bestScore = -1
            var i = 0
            while i < ps.tokens.count {
                guard ps.tokens[i].kind == .byte, ps.tokens[i].mask == 0xff else { i += 1; continue }
                var j = i
                while j < ps.tokens.count, ps.tokens[j].kind == .byte, ps.tokens[j].mask == 0xff { j += 1 }
                let run = j - i
                if run >= 2 {
                    let len = Swift.min(BodyMatcher.maxAnchor, run)
                    // Slide over long runs only coarsely: the window with most distinct bytes.
                    var start = i
                    while start + len <= j {
                        var seen = [Bool](repeating: false, count: 256)
                        var distinct = 0
                        for k in start..<(start + len) where !seen[Int(ps.tokens[k].value)] {
                            seen[Int(ps.tokens[k].value)] = true
                            distinct += 1
                        }
                        let score = len * 1000 + distinct
                        if score > bestScore { bestScore = score; best = start; bestLen = len }
                        start += Swift.max(1, len / 2)
                    }
                }
                i = j
            }
            if best >= 0 {
                cs.anchorLen = Int32(bestLen)
                // Lower-casing leaves non-letters alone, so a window with any caseless letter is
                // looked up in the lower-cased register.
                cs.anchorCaseless = ps.tokens[best..<(best + bestLen)].contains { $0.caseless }
                cs.anchorTok = cs.tokStart + Int32(best)
                cs.preMin = Int32(mins[0..<best].reduce(0, +))
                cs.preMax = Int32(maxs[0..<best].reduce(0, +))
                cs.postMax = Int32(maxs[(best + bestLen)...].reduce(0, +))
            } else {
                // No anchor: only a segment 0 at a known absolute offset can be checked by position.
                guard si == 0, pattern.segments.count == 1 else { return .unsupported("segment without 2 fixed bytes") }
                switch s.offset {
                case .absolute, .fromEnd: break
                case .any: return .unsupported("floating signature without 2 fixed bytes")
                }
            }
            newSegs.append(cs)
        }
        if case .fromEnd(let n, let m) = s.offset {
            guard pattern.segments.count == 1 else { return .unsupported("EOF offset with * gaps") }
            guard n + m + Int64(newSegs[0].maxLen) <= Int64(windowSize / 2) else { return .unsupported("EOF offset beyond window") }
        }
        // Commit.
        for ps in pattern.segments {
            for var t in ps.tokens {
                if t.kind == .alt { t.a += altBase }
                tokens.append(t)
            }
        }
        for alt in pattern.alternatives {
            altRanges.append((Int32(altBytes.count), Int32(alt.count)))
            for (v, m) in alt { altBytes.append(UInt16(v) << 8 | UInt16(m)) }
        }
        for cs in newSegs { segments.append(cs) }
        sigs.append(s)
        let seg0 = newSegs[0]
        if case .fromEnd = s.offset { fromEnd.append(sigIndex) }
        else if seg0.anchorLen == 0, case .absolute(let n, let m) = s.offset {
            positional.append((n + m + Int64(seg0.maxLen), s.segStart))
        }
        return nil
    }

    /// Builds the anchor automaton once every signature was added.
    mutating func finalize(windowSize: Int) {
        self.windowSize = windowSize
        positional.sort { $0.due < $1.due }
        var builder = PatternSetBuilder()
        for (i, seg) in segments.enumerated() where seg.anchorLen >= 2 {
            // Signatures placed from the end of the file are checked once, at the end.
            if case .fromEnd = sigs[Int(seg.sig)].offset { continue }
            let t = Int(seg.anchorTok)
            // Caseless tokens hold the lowercased value; the automaton folds nocase input.
            builder.add(tokens[t..<(t + Int(seg.anchorLen))].map(\.value), nocase: seg.anchorCaseless, id: UInt32(i))
        }
        anchorSet = builder.count == 0 ? nil : builder.compile()
    }

    // MARK: Streaming

    /// Feeds file bytes. Returns true once an .ndb signature matched (`state.matchedName`).
    @discardableResult
    public func feed(_ state: BodyMatchState, _ data: ByteView) -> Bool {
        guard state.matchedName < 0, !sigs.isEmpty else { state.total &+= Int64(data.count); return state.matchedName >= 0 }
        let block = state.windowSize / 4
        var rest = data
        while !rest.isEmpty {
            let piece = rest.prefix(block)
            rest = rest.dropFirst(piece.count)
            // Copy into the ring first, so verification can read the piece.
            let startAbs = state.total
            let w = Int(truncatingIfNeeded: startAbs) & (state.windowSize - 1)
            let first = Swift.min(piece.count, state.windowSize - w)
            state.ring.write(piece.prefix(first), at: w)
            if first < piece.count { state.ring.write(piece.dropFirst(first), at: 0) }
            state.total &+= Int64(piece.count)
            if let set = anchorSet {
                // Offsets reported by the automaton count from the file start (its state was
                // reset with the file and has seen every byte fed since).
                var ms = state.anchors
                set.scan(piece, state: &ms) { id, end in candidate(state, Int32(bitPattern: id), Int64(end)) }
                state.anchors = ms
            }
            verifyDue(state, final: false)
            if state.matchedName >= 0 { return true }
        }
        return state.matchedName >= 0
    }

    /// The file ended: verifies what is still pending against the bytes there are, and the
    /// signatures placed from the end of the file.
    @discardableResult
    public func finish(_ state: BodyMatchState) -> Bool {
        guard state.matchedName < 0, !sigs.isEmpty else { return state.matchedName >= 0 }
        verifyDue(state, final: true)
        for s in fromEnd where state.matchedName < 0 {
            let sig = sigs[Int(s)]
            guard state.fileType.matchesTarget(sig.target) || sig.subsig >= 0 else { continue }
            guard case .fromEnd(let n, let m) = sig.offset else { continue }
            let lo = state.total - n
            if let (st, en) = verifySegment(state, Int(sig.segStart), lo, lo + m) {
                segmentMatched(state, Int(sig.segStart), st, en)
            }
        }
        return state.matchedName >= 0
    }

    /// Queues segment `idx`, whose anchor ended at `abs`, for verification.
    private func candidate(_ state: BodyMatchState, _ idx: Int32, _ abs: Int64) {
        guard idx >= 0, Int(idx) < segments.count else { return }
        let seg = segments[Int(idx)]
        let sig = sigs[Int(seg.sig)]
        if sig.subsig < 0 && !state.fileType.matchesTarget(sig.target) { return }
        // (Later segments are checked against the progress table when verified: their
        // predecessor may be verified after this scan step.)
        if state.pendingCount == state.pending.count {
            state.droppedCandidates &+= 1
            return
        }
        state.pending[state.pendingCount] = .init(seg: idx, anchorEnd: abs, due: abs &+ Int64(seg.postMax))
        state.pendingCount += 1
    }

    private func hasProgress(_ state: BodyMatchState, _ sig: Int32, _ next: Int32) -> Bool {
        for i in 0..<state.progressCount where state.progress[i].sig == sig && state.progress[i].next == next { return true }
        return false
    }

    private func verifyDue(_ state: BodyMatchState, final: Bool) {
        // Earliest first, so a segment's predecessor is always verified before it.
        while true {
            var pick = -1
            var i = 0
            while i < state.pendingCount {
                let q = state.pending[i]
                if (final || q.due <= state.total) && (pick < 0 || q.anchorEnd < state.pending[pick].anchorEnd) { pick = i }
                i += 1
            }
            if pick < 0 { break }
            let p = state.pending[pick]
            do {
                state.pendingCount -= 1
                state.pending[pick] = state.pending[state.pendingCount]
                let seg = segments[Int(p.seg)]
                if seg.index > 0 && !hasProgress(state, seg.sig, seg.index) { continue }
                let anchorStart = p.anchorEnd - Int64(seg.anchorLen)
                if let (st, en) = verifySegment(state, Int(p.seg), anchorStart - Int64(seg.preMax), anchorStart - Int64(seg.preMin)) {
                    segmentMatched(state, Int(p.seg), st, en)
                    if state.matchedName >= 0 { return }
                }
            }
        }
        while state.positionalCursor < positional.count {
            let (due, segIdx) = positional[state.positionalCursor]
            guard final || due <= state.total else { break }
            state.positionalCursor += 1
            let seg = segments[Int(segIdx)]
            let sig = sigs[Int(seg.sig)]
            if sig.subsig < 0 && !state.fileType.matchesTarget(sig.target) { continue }
            guard case .absolute(let n, let m) = sig.offset else { continue }
            if let (st, en) = verifySegment(state, Int(segIdx), n, n + m) {
                segmentMatched(state, Int(segIdx), st, en)
                if state.matchedName >= 0 { return }
            }
        }
    }

    /// First start in `lo...hi` (clipped by the signature's offset for segment 0) where the
    /// segment matches; returns (start, end).
    private func verifySegment(_ state: BodyMatchState, _ segIdx: Int, _ lo: Int64, _ hi: Int64) -> (Int64, Int64)? {
        let seg = segments[segIdx]
        let sig = sigs[Int(seg.sig)]
        var from = Swift.max(0, lo, state.total - Int64(state.windowSize))
        var to = hi
        if seg.index == 0 {
            switch sig.offset {
            case .any: break
            case .absolute(let n, let m), .fromEnd(let n, let m):
                var base = n
                if case .fromEnd = sig.offset { base = state.total - n }
                from = Swift.max(from, base)
                to = Swift.min(to, base + m)
            }
        }
        guard from <= to else { return nil }
        var start = from
        while start <= to {
            state.budget = 20_000
            let end = matchTokens(state, Int(seg.tokStart), Int(seg.tokEnd), start)
            if end >= 0 {
                if !sig.fullword || isFullword(state, start, end) { return (start, end) }
            }
            start += 1
        }
        return nil
    }

    private func isFullword(_ state: BodyMatchState, _ start: Int64, _ end: Int64) -> Bool {
        func word(_ b: UInt8?) -> Bool {
            guard let b else { return false }
            return (b >= 0x30 && b <= 0x39) || HexPatternParser.isLetter(b) || b == 0x5f
        }
        return !word(state.byteAt(start - 1)) && !word(state.byteAt(end))
    }

    /// Backtracking match of tokens `t..<end` at `pos`; the end position or -1.
    private func matchTokens(_ state: BodyMatchState, _ t0: Int, _ end: Int, _ pos0: Int64) -> Int64 {
        var t = t0
        var pos = pos0
        state.budget -= 1
        if state.budget < 0 { return -1 }
        while t < end {
            let tk = tokens[t]
            switch tk.kind {
            case .byte:
                guard let b = state.byteAt(pos) else { return -1 }
                let v = tk.caseless ? asciiLowerByte(b) : b
                guard (v ^ tk.value) & tk.mask == 0 else { return -1 }
                pos += 1
                t += 1
            case .gap:
                if t + 1 == end {
                    let need = pos + Int64(tk.a)
                    return need <= state.total ? need : -1
                }
                var g = Int64(tk.a)
                while g <= Int64(tk.b) {
                    let r = matchTokens(state, t + 1, end, pos + g)
                    if r >= 0 { return r }
                    if state.budget < 0 { return -1 }
                    g += 1
                }
                return -1
            case .alt:
                if tk.negate {
                    guard let b = state.byteAt(pos) else { return -1 }
                    for k in 0..<Int(tk.b) {
                        let (s, _) = altRanges[Int(tk.a) + k]
                        let vm = altBytes[Int(s)]
                        if (b ^ UInt8(vm >> 8)) & UInt8(vm & 0xff) == 0 { return -1 }
                    }
                    pos += 1
                    t += 1
                    continue
                }
                for k in 0..<Int(tk.b) {
                    let (s, n) = altRanges[Int(tk.a) + k]
                    var ok = true
                    for q in 0..<Int(n) {
                        let vm = altBytes[Int(s) + q]
                        guard let b = state.byteAt(pos + Int64(q)), (b ^ UInt8(vm >> 8)) & UInt8(vm & 0xff) == 0 else { ok = false; break }
                    }
                    if ok {
                        let r = matchTokens(state, t + 1, end, pos + Int64(n))
                        if r >= 0 { return r }
                        if state.budget < 0 { return -1 }
                    }
                }
                return -1
            }
        }
        return pos
    }

    private func segmentMatched(_ state: BodyMatchState, _ segIdx: Int, _ start: Int64, _ end: Int64) {
        let seg = segments[segIdx]
        let sig = sigs[Int(seg.sig)]
        if sig.segCount == 1 { sigMatched(state, sig); return }
        if seg.index == 0 {
            for i in 0..<state.progressCount where state.progress[i].sig == seg.sig {
                // Bounded gaps want the latest start; `*` the earliest.
                if state.progress[i].next == 1 && segments[segIdx + 1].gapMax != Int64.max { state.progress[i].prevEnd = end }
                return
            }
            if state.progressCount == state.progress.count {
                // Full: forget the oldest partial match.
                for i in 1..<state.progressCount { state.progress[i - 1] = state.progress[i] }
                state.progressCount -= 1
            }
            state.progress[state.progressCount] = .init(sig: seg.sig, next: 1, prevEnd: end)
            state.progressCount += 1
            return
        }
        for i in 0..<state.progressCount where state.progress[i].sig == seg.sig && state.progress[i].next == seg.index {
            let gap = start - state.progress[i].prevEnd
            guard gap >= seg.gapMin, gap <= seg.gapMax else { continue }
            if seg.index + 1 == sig.segCount {
                state.progressCount -= 1
                state.progress[i] = state.progress[state.progressCount]
                sigMatched(state, sig)
            } else {
                state.progress[i].next += 1
                state.progress[i].prevEnd = end
            }
            return
        }
    }

    private func sigMatched(_ state: BodyMatchState, _ sig: CompiledBodySig) {
        if sig.subsig >= 0 {
            let k = Int(sig.subsig)
            if state.subsigCounts[k] == 0 {
                state.touched[state.touchedCount] = sig.subsig
                state.touchedCount += 1
            }
            if state.subsigCounts[k] < UInt16.max { state.subsigCounts[k] += 1 }
        } else if state.matchedName < 0 {
            state.matchedName = sig.name
        }
    }
}
