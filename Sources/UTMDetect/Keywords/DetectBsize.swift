/// `bsize:` — the length of the sticky buffer it follows (Suricata 5+): `N`, `=N`, `!N`, `!=N`,
/// `<N`, `<=N`, `>N`, `>=N`, `N<>M` / `N-M` (exclusive), `!N-M` (outside the range), values
/// decimal or `0x` hex.
///
/// It is a `.length` element of the list the rule is filling, like `content` (so it applies to
/// whatever buffer, plain or derived, the rule's sticky selection names); Suricata refuses it
/// without a sticky buffer (`pkt_data` or none), and so do we. Once the rule is built
/// (`RuleParser.parseRule`), `validate` refuses lists whose bsize bounds can never hold
/// together or cannot fit the contents the list requires, as Suricata's bsize content check
/// does.
enum DetectBsize {
    @Sendable static func bsize(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let text = try KW.require(v, "bsize")
        guard b.sticky != nil else {
            throw .invalid("bsize needs a sticky buffer before it (e.g. 'http.host; bsize:14;'), not the packet payload")
        }
        let m = try KW.intMatch(text, "bsize")
        guard m.a >= 0, m.b >= 0 else { throw .invalid("bsize: '\(text.trimmingSpaces)' is negative") }
        b.append(.length(m), to: b.currentBuffer)
    }

    /// The smallest and largest buffer length every `.length` element of `elements` admits
    /// (inclusive), or nil when they admit no length at all. `!N` and `!N-M` leave the bounds.
    static func bounds(_ elements: [MatchElement]) -> (lo: Int, hi: Int)? {
        var lo = 0, hi = Int.max
        for case .length(let m) in elements {
            switch m.mode {
            case .equal: lo = max(lo, m.a); hi = min(hi, m.a)
            case .less: hi = min(hi, m.a &- 1)
            case .lessEqual: hi = min(hi, m.a)
            case .greater:
                if m.a == Int.max { return nil }
                lo = max(lo, m.a &+ 1)
            case .greaterEqual: lo = max(lo, m.a)
            case .range: lo = max(lo, m.a &+ 1); hi = min(hi, m.b &- 1)
            case .notEqual, .notRange: continue
            }
            if lo > hi { return nil }
        }
        return (lo, hi)
    }

    /// A lower bound on the buffer length the list's positive contents need: each content ends
    /// at least at its offset (absolute) or the previous content's end plus its distance
    /// (relative) plus its length. Anything whose position is not a constant (a pcre, byte_*
    /// moves, a variable) restarts the chain at 0, so the bound never overstates.
    static func requiredLength(_ elements: [MatchElement]) -> Int {
        var need = 0
        var lastEnd = 0
        for e in elements {
            switch e {
            case .content(let c):
                if c.negated { continue }
                let len = c.pattern.count
                var start = 0
                if c.isRelative {
                    if case .constant(let d)? = c.distance { start = max(0, lastEnd &+ d) }
                    else if c.distance == nil { start = lastEnd } else { start = 0 }
                } else if case .constant(let o)? = c.offset {
                    start = max(0, o)
                }
                lastEnd = start &+ len
                need = max(need, lastEnd)
            case .length, .isDataAt, .byteTest:
                continue
            default:
                lastEnd = 0
            }
        }
        return need
    }

    /// Refuses a list whose length tests exclude every length, or whose upper length bound is
    /// below what its contents need (Suricata: "signature can't match as required content
    /// length N exceeds bsize value M"). Applies to `urilen` as well, which Suricata checks the
    /// same way.
    static func validate(_ buffer: BufferID, _ elements: [MatchElement]) throws(RuleError) {
        var any = false
        for case .length in elements { any = true; break }
        guard any else { return }
        guard let (_, hi) = bounds(elements) else {
            throw .invalid("\(buffer.name): the buffer's bsize/urilen tests exclude every length, the rule can never match")
        }
        let need = requiredLength(elements)
        if need > hi {
            throw .invalid("\(buffer.name): required content length \(need) exceeds the bsize/urilen bound \(hi)")
        }
    }
}
