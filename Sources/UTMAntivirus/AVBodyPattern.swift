// Body signatures (ClamAV's "hexsig" text) compiled into flat token arrays.
//
// A hexsig is split into segments at unbounded gaps (`*`, `{n-}`) and at bounded gaps wider
// than `maxInlineGap`; each segment is a short sequence of tokens matched by backtracking from
// a candidate start that a literal anchor (2–4 fixed bytes inside the segment) points at.

/// One compiled element of a segment.
struct PatternToken: Sendable {
    enum Kind: UInt8, Sendable {
        /// One byte: `(byte ^ value) & mask == 0` (after lower-casing when `caseless`).
        case byte
        /// Any `min...max` bytes.
        case gap
        /// One of several byte strings (`(aa|bbcc)`), or, negated, none of several single bytes.
        case alt
    }
    var kind: Kind
    var value: UInt8 = 0
    var mask: UInt8 = 0xff
    var caseless = false
    var negate = false
    /// gap: min and max; alt: first alternative and count in `BodyPatternTables.alts`.
    var a: Int32 = 0
    var b: Int32 = 0

    var minLength: Int { kind == .byte ? 1 : Int(a) }
}

/// Where a signature may start, relative to the file.
enum SignatureOffset: Sendable, Equatable {
    case any
    /// Starts at `n ... n+m` from the beginning of the file.
    case absolute(Int64, Int64)
    /// Starts at `size-n ... size-n+m`.
    case fromEnd(Int64, Int64)
}

/// Intermediate form of one segment while a hexsig is being parsed.
struct ParsedSegment {
    var tokens: [PatternToken] = []
    /// Allowed bytes between the end of the previous segment and the start of this one.
    var gapMin: Int64 = 0
    var gapMax: Int64 = Int64.max
}

/// The compile-time shape of a hexsig: segments plus the alternatives they point into.
struct ParsedPattern {
    var segments: [ParsedSegment] = []
    /// Alternatives: each a list of (value, mask) bytes.
    var alternatives: [[(UInt8, UInt8)]] = []
}

/// Limits applied when compiling hexsigs (a signature beyond them is reported unsupported).
public struct PatternLimits: Sendable {
    /// Bounded gaps up to this many bytes stay inside a segment; wider ones split it.
    public var maxInlineGap: Int = 128
    /// Longest segment (bytes, counting gaps at their maximum) that is matched. It must fit in
    /// half the per-file window. Default 2 KiB.
    public var maxSegmentSpan: Int = 2048
    /// Most tokens in one signature.
    public var maxTokens: Int = 1024
    public init() {}
}

enum HexPatternParser {
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }

    /// Parses one hex pair at `i` into (value, mask): `ab`, `??`, `a?`, `?b`.
    static func pair(_ s: [UInt8], _ i: Int) -> (UInt8, UInt8)? {
        guard i + 1 < s.count else { return nil }
        let c0 = s[i], c1 = s[i + 1]
        let q = UInt8(ascii: "?")
        if c0 == q && c1 == q { return (0, 0) }
        if c0 == q, let lo = hexValue(c1) { return (lo, 0x0f) }
        if c1 == q, let hi = hexValue(c0) { return (hi << 4, 0xf0) }
        if let hi = hexValue(c0), let lo = hexValue(c1) { return (hi << 4 | lo, 0xff) }
        return nil
    }

    static func number(_ s: [UInt8], _ from: Int, _ to: Int) -> Int64? {
        guard from < to else { return nil }
        var v: Int64 = 0
        for i in from..<to {
            let c = s[i]
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            v = v &* 10 &+ Int64(c &- UInt8(ascii: "0"))
            if v > 1 << 40 { return nil }
        }
        return v
    }

    /// Parses a hexsig. `wide` interleaves a zero byte after every literal byte (the `w`
    /// modifier); `caseless` makes literal letters match either case (`i`).
    static func parse(_ text: [UInt8], caseless: Bool, wide: Bool, limits: PatternLimits) -> Result<ParsedPattern, AVLoadError> {
        var out = ParsedPattern()
        var seg = ParsedSegment()
        var tokenCount = 0
        var i = 0
        func pushByte(_ v: UInt8, _ m: UInt8, into seg: inout ParsedSegment) {
            seg.tokens.append(PatternToken(kind: .byte, value: caseless && m == 0xff ? asciiLowerByte(v) : v,
                                           mask: m, caseless: caseless && m == 0xff && isLetter(v)))
            if wide { seg.tokens.append(PatternToken(kind: .byte, value: 0, mask: 0xff)) }
        }
        func split(_ gmin: Int64, _ gmax: Int64) -> Bool {
            guard !seg.tokens.isEmpty else {
                // A gap before anything (or two gaps in a row) widens the next segment's gap.
                seg.gapMin = seg.gapMin &+ gmin
                seg.gapMax = (seg.gapMax == Int64.max || gmax == Int64.max) ? Int64.max : seg.gapMax &+ gmax
                return true
            }
            out.segments.append(seg)
            seg = ParsedSegment()
            seg.gapMin = gmin
            seg.gapMax = gmax
            return true
        }
        // The very first segment is placed by the offset, not by a gap.
        seg.gapMin = 0
        seg.gapMax = 0
        while i < text.count {
            let c = text[i]
            tokenCount += 1
            if tokenCount > limits.maxTokens { return .failure(.unsupported("too many tokens")) }
            switch c {
            case UInt8(ascii: "*"):
                if seg.tokens.isEmpty && out.segments.isEmpty { return .failure(.malformed("starts with *")) }
                _ = split(0, Int64.max)
                i += 1
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let close = c == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                guard let end = text[i...].firstIndex(of: close) else { return .failure(.malformed("unclosed gap")) }
                let body = i + 1
                var gmin: Int64 = 0, gmax: Int64 = 0
                if let dash = text[body..<end].firstIndex(of: UInt8(ascii: "-")) {
                    gmin = dash == body ? 0 : (number(text, body, dash) ?? -1)
                    gmax = dash + 1 == end ? Int64.max : (number(text, dash + 1, end) ?? -1)
                } else {
                    gmin = number(text, body, end) ?? -1
                    gmax = gmin
                }
                guard gmin >= 0, gmax >= 0, gmin <= gmax else { return .failure(.malformed("bad gap")) }
                if seg.tokens.isEmpty && out.segments.isEmpty { return .failure(.malformed("starts with a gap")) }
                if gmax <= Int64(limits.maxInlineGap) {
                    seg.tokens.append(PatternToken(kind: .gap, a: Int32(gmin), b: Int32(gmax)))
                } else {
                    _ = split(gmin, gmax)
                }
                i = end + 1
            case UInt8(ascii: "("), UInt8(ascii: "!"):
                var negate = false
                var j = i
                if c == UInt8(ascii: "!") {
                    guard j + 1 < text.count, text[j + 1] == UInt8(ascii: "(") else { return .failure(.malformed("bad !")) }
                    negate = true
                    j += 1
                }
                guard let end = text[j...].firstIndex(of: UInt8(ascii: ")")) else { return .failure(.malformed("unclosed (")) }
                let inner = Array(text[(j + 1)..<end])
                if inner.count == 1 { return .failure(.unsupported("boundary anchor (B)/(L)/(W)")) }
                var alternatives: [[(UInt8, UInt8)]] = []
                var current: [(UInt8, UInt8)] = []
                var k = 0
                while k < inner.count {
                    if inner[k] == UInt8(ascii: "|") {
                        alternatives.append(current); current = []; k += 1; continue
                    }
                    guard let p = pair(inner, k) else { return .failure(.malformed("bad alternative")) }
                    current.append(p)
                    if wide { current.append((0, 0xff)) }
                    k += 2
                }
                alternatives.append(current)
                guard alternatives.count >= 1, !alternatives.contains(where: { $0.isEmpty }) else {
                    return .failure(.malformed("empty alternative"))
                }
                if negate && alternatives.contains(where: { $0.count != (wide ? 2 : 1) }) {
                    return .failure(.unsupported("negated multi-byte alternative"))
                }
                let first = out.alternatives.count
                out.alternatives.append(contentsOf: alternatives)
                seg.tokens.append(PatternToken(kind: .alt, negate: negate, a: Int32(first), b: Int32(alternatives.count)))
                i = end + 1
            default:
                guard let (v, m) = pair(text, i) else { return .failure(.malformed("bad hex at \(i)")) }
                pushByte(v, m, into: &seg)
                i += 2
            }
        }
        guard !seg.tokens.isEmpty else { return .failure(.malformed("ends with a gap or is empty")) }
        out.segments.append(seg)
        return .success(out)
    }

    static func isLetter(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)
    }
}

@inline(__always)
func asciiLowerByte(_ b: UInt8) -> UInt8 { (b >= 0x41 && b <= 0x5a) ? b | 0x20 : b }

/// Parses a ClamAV offset: `*`, `n`, `n,m`, `EOF-n`, `EOF-n,m`. PE- and section-relative
/// offsets (`EP+n`, `Sx+n`, `SEx`, `SL+n`, `VI`) need a PE parser and are reported unsupported.
func parseSignatureOffset(_ s: [UInt8]) -> Result<SignatureOffset, AVLoadError> {
    if s == [UInt8(ascii: "*")] { return .success(.any) }
    var body = s[...]
    var fromEnd = false
    if s.starts(with: Array("EOF-".utf8)) {
        fromEnd = true
        body = s[4...]
    } else if let c = s.first, !(c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) {
        if s.starts(with: Array("EOF+".utf8)) { return .failure(.unsupported("EOF+ offset")) }
        return .failure(.unsupported("PE-relative offset (EP/S/SE/SL/VI)"))
    }
    let b = Array(body)
    var n: Int64, m: Int64 = 0
    if let comma = b.firstIndex(of: UInt8(ascii: ",")) {
        guard let nn = HexPatternParser.number(b, 0, comma), let mm = HexPatternParser.number(b, comma + 1, b.count) else {
            return .failure(.malformed("bad offset"))
        }
        n = nn; m = mm
    } else {
        guard let nn = HexPatternParser.number(b, 0, b.count) else { return .failure(.malformed("bad offset")) }
        n = nn
    }
    return .success(fromEnd ? .fromEnd(n, m) : .absolute(n, m))
}
