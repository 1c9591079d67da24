import UTMCore

/// Suricata's `http.uri` for HTTP/1: the request target as libhtp normalizes it under the
/// IDS personality that Suricata's shipped suricata.yaml selects (`personality: IDS`, with
/// Suricata's own override that keeps the case). ET rules are written and tested against
/// this buffer, and each step closes an evasion that the raw target leaves open:
///
/// 1. the path is decoded: `%HH`; `%uHHHH` (IIS; `%u00HH` is the byte HH, other code points
///    best-fit); `%2F` and `%5C` decode to separators (`path_separators_decode`); an
///    invalid escape keeps its `%`; a backslash becomes `/`; runs of `/` become one;
/// 2. UTF-8 in the decoded path becomes one byte per character (`utf8_convert_bestfit`):
///    overlong forms give their code point (`%c0%af` is `/`), code points below 0x100 their
///    byte, the full-width forms U+FF01–U+FF5E their ASCII letter, anything else and any
///    invalid sequence `?`;
/// 3. dot segments are removed as libhtp does (RFC 3986 §5.2.4, where a trailing `/..` or
///    `/.` leaves no slash behind);
/// 4. the query follows as sent, the fragment `%`-decoded; scheme and authority of an
///    absolute-form target are dropped.
///
/// Differences from libhtp, on purpose: best-fit mapping knows the full-width block only
/// (libhtp carries Windows-1252's whole best-fit table, mostly letters with accents that
/// map to their base letter); such a character gives `?` here. A target needing none of
/// the steps is lent as sent (nothing copied); otherwise the work goes into the composer's
/// scratch store (each step a region after the previous one, at most three path lengths),
/// so nothing is allocated.
extension HTTPBufferComposer {

    public static let bestFitReplacement = UInt8(ascii: "?")

    public mutating func normalizedURI(_ uri: ByteView) -> ByteView? {
        let n = uri.count
        guard n > 0 else { return nil }
        var s = 0
        if uri.u8(0) != UInt8(ascii: "/") {
            // "scheme://authority/path": the path starts at the first slash after "://".
            guard let sep = HTTPBufferComposer.find(uri, StaticString("://").byteView, 0) else { return uri }
            var k = sep &+ 3
            while k < n, let c = uri.u8(k), c != UInt8(ascii: "/"), c != UInt8(ascii: "?"), c != UInt8(ascii: "#") { k &+= 1 }
            s = k
        }
        var pathEnd = s
        while pathEnd < n, let c = uri.u8(pathEnd), c != UInt8(ascii: "?"), c != UInt8(ascii: "#") { pathEnd &+= 1 }
        guard s > 0 || HTTPBufferComposer.pathNeedsWork(uri, s, pathEnd) || HTTPBufferComposer.fragmentHasEscape(uri, pathEnd) else {
            return uri
        }
        let decoded = scratch.used
        let wide = decodePath(uri, s, pathEnd)
        var region = decoded
        if wide {
            let utf = scratch.used
            bestFitUTF8(from: region, to: utf)
            region = utf
        }
        if regionHasDot(region) {
            let dots = scratch.used
            removeDotSegments(from: region, to: dots)
            region = dots
        }
        if s == pathEnd && s > 0 { _ = scratch.appendByte(UInt8(ascii: "/")) }
        // Query as sent, up to the fragment; the fragment decoded.
        var k = pathEnd
        while k < n, let c = uri.u8(k), c != UInt8(ascii: "#") {
            _ = scratch.appendByte(c)
            k &+= 1
        }
        while k < n { k = appendDecoded(uri, k, keepSeparators: false) }
        return scratchView(from: region) ?? uri
    }

    /// Whether the path `[s, e)` of `v` changes under normalization: an escape, a backslash,
    /// a doubled slash, a segment starting with a dot, or a byte outside ASCII.
    static func pathNeedsWork(_ v: ByteView, _ s: Int, _ e: Int) -> Bool {
        var k = s
        var previous: UInt8 = UInt8(ascii: "/")
        while k < e {
            let c = v.u8(k) ?? 0
            if c == UInt8(ascii: "%") || c == UInt8(ascii: "\\") || c >= 0x80 { return true }
            if previous == UInt8(ascii: "/") && (c == UInt8(ascii: "/") && k > s || c == UInt8(ascii: ".")) { return true }
            previous = c
            k &+= 1
        }
        return false
    }

    static func fragmentHasEscape(_ v: ByteView, _ pathEnd: Int) -> Bool {
        var k = pathEnd
        var inFragment = false
        while k < v.count {
            let c = v.u8(k) ?? 0
            if c == UInt8(ascii: "#") { inFragment = true } else if inFragment && c == UInt8(ascii: "%") { return true }
            k &+= 1
        }
        return false
    }

    /// Step 1 into the scratch store. Returns whether a byte outside ASCII came out (step 2
    /// is then needed).
    mutating func decodePath(_ v: ByteView, _ s: Int, _ e: Int) -> Bool {
        var k = s
        var previousSlash = false
        var wide = false
        let slash = UInt8(ascii: "/")
        while k < e {
            var c = v.u8(k) ?? 0
            if c == UInt8(ascii: "%") {
                if let (x, used) = HTTPBufferComposer.percentEscape(v, k, e) {
                    c = x
                    k &+= used
                } else {
                    k &+= 1  // invalid: the "%" stays
                }
            } else {
                k &+= 1
            }
            if c == UInt8(ascii: "\\") { c = slash }
            if c == slash {
                if previousSlash { continue }
                previousSlash = true
            } else {
                previousSlash = false
            }
            if c >= 0x80 { wide = true }
            _ = scratch.appendByte(c)
        }
        return wide
    }

    /// The byte a valid `%HH` or `%uHHHH` at `k` (before `e`) stands for, and its length.
    static func percentEscape(_ v: ByteView, _ k: Int, _ e: Int) -> (UInt8, Int)? {
        guard k &+ 2 < e, let a = v.u8(k &+ 1) else { return nil }
        if a == UInt8(ascii: "u") || a == UInt8(ascii: "U") {
            guard k &+ 5 < e, let h1 = v.u8(k &+ 2).flatMap(hexValue), let h2 = v.u8(k &+ 3).flatMap(hexValue),
                  let h3 = v.u8(k &+ 4).flatMap(hexValue), let h4 = v.u8(k &+ 5).flatMap(hexValue) else { return nil }
            let hi = h1 << 4 | h2, lo = h3 << 4 | h4
            if hi == 0 { return (lo, 6) }
            return (bestFit(UInt32(hi) << 8 | UInt32(lo)), 6)
        }
        guard let h = hexValue(a), let l = v.u8(k &+ 2).flatMap(hexValue) else { return nil }
        return (h << 4 | l, 3)
    }

    /// One byte for a code point: itself below 0x100, the ASCII letter of a full-width form,
    /// else the replacement byte.
    static func bestFit(_ cp: UInt32) -> UInt8 {
        if cp < 0x100 { return UInt8(cp) }
        if cp >= 0xFF01 && cp <= 0xFF5E { return UInt8(cp &- 0xFF01 &+ 0x21) }
        return bestFitReplacement
    }

    /// Step 2: region `[from, to)` of the store, decoded as UTF-8 (overlong forms accepted),
    /// appended after it.
    mutating func bestFitUTF8(from: Int, to: Int) {
        var k = from
        while k < to {
            let c = scratch.bytes[k]
            var need = 0
            var cp: UInt32 = 0
            switch c {
            case 0..<0x80:
                _ = scratch.appendByte(c)
                k &+= 1
                continue
            case 0xC0...0xDF: need = 1; cp = UInt32(c & 0x1F)
            case 0xE0...0xEF: need = 2; cp = UInt32(c & 0x0F)
            case 0xF0...0xF4: need = 3; cp = UInt32(c & 0x07)
            default:
                // A stray continuation byte or an impossible lead: replaced, consumed.
                _ = scratch.appendByte(HTTPBufferComposer.bestFitReplacement)
                k &+= 1
                continue
            }
            var j = 1
            while j <= need && k &+ j < to {
                let d = scratch.bytes[k &+ j]
                guard d & 0xC0 == 0x80 else { break }
                cp = cp << 6 | UInt32(d & 0x3F)
                j &+= 1
            }
            if j > need {
                _ = scratch.appendByte(cp > 0xFFFF ? HTTPBufferComposer.bestFitReplacement : HTTPBufferComposer.bestFit(cp))
                k &+= j
            } else if k &+ j >= to {
                // The path ends inside the character: libhtp writes nothing for it.
                k = to
            } else {
                // A character cut short: one replacement; the byte that broke it starts the
                // next character.
                _ = scratch.appendByte(HTTPBufferComposer.bestFitReplacement)
                k &+= j
            }
        }
    }

    func regionHasDot(_ start: Int) -> Bool {
        var k = start
        let end = scratch.used
        while k < end {
            if scratch.bytes[k] == UInt8(ascii: ".") { return true }
            k &+= 1
        }
        return false
    }

    /// Step 3: libhtp's remove-dot-segments over region `[from, to)`, appended after it.
    mutating func removeDotSegments(from: Int, to: Int) {
        let dot = UInt8(ascii: "."), slash = UInt8(ascii: "/")
        let len = to
        var r = from
        var c = -1
        while r < len {
            if c == -1 { c = Int(scratch.bytes[r]); r &+= 1 }
            if c == Int(dot) {
                // A. a leading "../" or "./" goes.
                if r &+ 1 < len && scratch.bytes[r] == dot && scratch.bytes[r &+ 1] == slash { c = -1; r &+= 2; continue }
                if r < len && scratch.bytes[r] == slash { c = -1; r &+= 1; continue }
            }
            if c == Int(slash) {
                // B. "/./" or a final "/." becomes "/".
                if r &+ 1 < len && scratch.bytes[r] == dot && scratch.bytes[r &+ 1] == slash { r &+= 2; continue }
                if r &+ 1 == len && scratch.bytes[r] == dot { r &+= 1; continue }
                // C. "/../" or a final "/.." becomes "/" and takes the last output segment.
                if r &+ 2 < len && scratch.bytes[r] == dot && scratch.bytes[r &+ 1] == dot && scratch.bytes[r &+ 2] == slash {
                    r &+= 3
                    dropLastSegment(to)
                    continue
                }
                if r &+ 2 == len && scratch.bytes[r] == dot && scratch.bytes[r &+ 1] == dot {
                    r &+= 2
                    dropLastSegment(to)
                    continue
                }
            }
            // D. a lone "." or ".." goes.
            if c == Int(dot) && r == len { r &+= 1; continue }
            if c == Int(dot) && r &+ 1 == len && scratch.bytes[r] == dot { r &+= 2; continue }
            // E. the segment moves to the output.
            _ = scratch.appendByte(UInt8(c))
            while r < len && scratch.bytes[r] != slash {
                _ = scratch.appendByte(scratch.bytes[r])
                r &+= 1
            }
            c = -1
        }
    }

    /// Rewinds the output (which starts at `start`) over its last segment and that
    /// segment's slash.
    mutating func dropLastSegment(_ start: Int) {
        var p = scratch.used
        while p > start && scratch.bytes[p &- 1] != UInt8(ascii: "/") { p &-= 1 }
        if p > start { p &-= 1 }
        scratch.rewind(to: p)
    }

    /// Appends the byte at `k` of `v`, or the byte a valid "%XX" there encodes (a slash or
    /// backslash stays encoded when `keepSeparators`); returns the next position.
    public mutating func appendDecoded(_ v: ByteView, _ k: Int, keepSeparators: Bool) -> Int {
        let c = v.u8(k) ?? 0
        if c == UInt8(ascii: "%"), let h = v.u8(k &+ 1).flatMap(HTTPBufferComposer.hexValue), let l = v.u8(k &+ 2).flatMap(HTTPBufferComposer.hexValue) {
            let x = h << 4 | l
            if !(keepSeparators && (x == UInt8(ascii: "/") || x == UInt8(ascii: "\\"))) {
                _ = scratch.appendByte(x)
                return k &+ 3
            }
        }
        _ = scratch.appendByte(c)
        return k &+ 1
    }
}
