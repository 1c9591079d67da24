import UTMCore

/// What a host turned out to be once normalised. Names get parent-domain walks; IP literals
/// are matched exactly in their canonical text form (UT1 lists IPv4 hosts as dotted quads).
public enum HostKind: UInt8, Sendable {
    case name, ipv4, ipv6, invalid
}

/// Host normalisation shared by the compiler (list entries) and the lookup (packet fields), so
/// both sides agree byte for byte:
///   - surrounding spaces, a port (`host:8080`, `[v6]:443`) and one trailing dot are dropped;
///   - ASCII case is folded while hashing (no copy);
///   - IPv4 literals become canonical dotted quads, IPv6 literals (bare or bracketed) RFC 5952 text;
///   - a host with non-ASCII bytes is taken as UTF-8, mapped (a subset of UTS 46: case, full-width
///     forms, ideographic full stops) and each non-ASCII label converted to an A-label (punycode).
/// Only IP literals and IDN hosts are rewritten, into a stack buffer; plain names are used in place.
public enum HostName {
    /// Longest host we look up (RFC 1035's 253 text bytes, and some slack for a trailing dot).
    public static let maxLength = 253

    /// Calls `body` with the normalised host bytes (ASCII case not yet folded) and its kind.
    /// `.invalid` comes with an empty view. Allocation-free.
    @inlinable
    public static func withNormalised<R>(_ raw: ByteView, _ body: (ByteView, HostKind) -> R) -> R {
        var v = raw
        // Trim spaces and tabs.
        while let b = v.u8(0), b == 0x20 || b == 0x09 { v = v.dropFirst(1) }
        while v.count > 0, let b = v.u8(v.count - 1), b == 0x20 || b == 0x09 || b == 0x0d { v = v.prefix(v.count - 1) }
        guard v.count > 0, v.count <= 1024 else { return body(.empty, .invalid) }

        if v.u8(0) == UInt8(ascii: "[") {
            guard let close = v.firstIndex(of: UInt8(ascii: "]")), let inner = v.slice(1, close - 1) else {
                return body(.empty, .invalid)
            }
            return withIPv6(inner, body)
        }
        // One pass: colons, non-ASCII bytes, whether it could be a dotted quad.
        var colons = 0, lastColon = -1, high = false, digitsDots = true
        var i = 0
        // Eight bytes at a time while a word has no colon and no non-ASCII byte (plain names):
        // the word can then only clear digitsDots. Other words take the byte loop below.
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        while let w = v.u64(i) {
            let c = w ^ (ones &* 0x3a)
            if w & highs != 0 || (c &- ones) & ~c & highs != 0 { break }
            if digitsDots {
                // Every byte < 0x80 here, so these byte-wise additions never carry: all in '.'...'9'
                // and none is '/'.
                let s = w ^ (ones &* 0x2f)
                let inRange = (w &+ ones &* 0x46) & highs == 0 && (w &+ ones &* 0x52) & highs == highs
                if !inRange || (s &- ones) & ~s & highs != 0 { digitsDots = false }
            }
            i &+= 8
        }
        while i < v.count {
            let b = v[checked: i]
            if b == UInt8(ascii: ":") { colons &+= 1; lastColon = i }
            else if b >= 0x80 { high = true }
            if !(b == UInt8(ascii: ".") || (b &- 0x30) < 10) { digitsDots = false }
            i &+= 1
        }
        if colons >= 2 { return withIPv6(v, body) }
        if colons == 1 {
            // host:port — the port must be digits (or empty).
            var j = lastColon + 1
            while j < v.count {
                if (v[checked: j] &- 0x30) >= 10 { return body(.empty, .invalid) }
                j &+= 1
            }
            v = v.prefix(lastColon)
            // Re-check digits and dots on the host part only.
            digitsDots = true
            var k = 0
            while k < v.count {
                let b = v[checked: k]
                if !(b == UInt8(ascii: ".") || (b &- 0x30) < 10) { digitsDots = false; break }
                k &+= 1
            }
        }
        if v.count > 0, v.u8(v.count - 1) == UInt8(ascii: ".") { v = v.prefix(v.count - 1) }
        guard v.count > 0 else { return body(.empty, .invalid) }
        if digitsDots, let a = parseIPv4(v) { return withIPv4(a, body) }
        if high { return withIDN(v, body) }
        guard v.count <= maxLength else { return body(.empty, .invalid) }
        return body(v, .name)
    }

    // MARK: IP literals

    /// Parses a dotted quad (four decimal parts, each at most 255).
    @inlinable
    public static func parseIPv4(_ v: ByteView) -> UInt32? {
        var value: UInt32 = 0, part: UInt32 = 0, digits = 0, parts = 0
        var i = 0
        while i <= v.count {
            let b: UInt8 = i < v.count ? v[checked: i] : UInt8(ascii: ".")
            if b == UInt8(ascii: ".") {
                guard digits > 0, parts < 4 else { return nil }
                value = value << 8 | part
                parts &+= 1; part = 0; digits = 0
            } else {
                let d = b &- 0x30
                guard d < 10, digits < 3 else { return nil }
                part = part * 10 + UInt32(d)
                guard part <= 255 else { return nil }
                digits &+= 1
            }
            i &+= 1
        }
        return parts == 4 ? value : nil
    }

    /// Parses RFC 4291 text (with `::`, an embedded dotted quad, and a `%zone` that is ignored).
    @inlinable
    public static func parseIPv6(_ text: ByteView) -> IPAddress? {
        var v = text
        if let pct = v.firstIndex(of: UInt8(ascii: "%")) { v = v.prefix(pct) }
        guard v.count >= 2, v.count <= 45 else { return nil }
        // Groups before and after "::" are collected into two 128-bit accumulators.
        var head: (hi: UInt64, lo: UInt64) = (0, 0), tail: (hi: UInt64, lo: UInt64) = (0, 0)
        var headCount = 0, tailCount = 0, sawGap = false
        var i = 0
        if v.u8(0) == UInt8(ascii: ":") {
            guard v.u8(1) == UInt8(ascii: ":") else { return nil }
            sawGap = true; i = 2
        }
        @inline(__always) func push(_ g: UInt16, _ acc: inout (hi: UInt64, lo: UInt64)) {
            acc.hi = acc.hi << 16 | acc.lo >> 48
            acc.lo = acc.lo << 16 | UInt64(g)
        }
        while i < v.count {
            // One group, or a trailing dotted quad.
            var j = i, value: UInt32 = 0, digits = 0, dotted = false
            while j < v.count {
                let b = v[checked: j]
                if b == UInt8(ascii: ":") { break }
                if b == UInt8(ascii: ".") { dotted = true; break }
                let h: UInt8
                if (b &- 0x30) < 10 { h = b &- 0x30 }
                else if (asciiLower(b) &- 0x61) < 6 { h = asciiLower(b) &- 0x61 &+ 10 }
                else { return nil }
                value = value << 4 | UInt32(h)
                digits &+= 1
                guard digits <= 4 else { return nil }
                j &+= 1
            }
            let count = headCount + tailCount
            if dotted {
                guard let q = v.suffix(from: i), let a = parseIPv4(q), count <= 6 else { return nil }
                if sawGap { push(UInt16(a >> 16), &tail); push(UInt16(a & 0xffff), &tail); tailCount += 2 }
                else { push(UInt16(a >> 16), &head); push(UInt16(a & 0xffff), &head); headCount += 2 }
                i = v.count
                break
            }
            guard digits > 0, count < 8 else { return nil }
            if sawGap { push(UInt16(value), &tail); tailCount += 1 } else { push(UInt16(value), &head); headCount += 1 }
            i = j
            if i < v.count {
                // At a colon: "::" opens the gap (once), ":" separates, and may not end the text.
                if v.u8(i + 1) == UInt8(ascii: ":") {
                    guard !sawGap else { return nil }
                    sawGap = true
                    i += 2
                } else {
                    i += 1
                    guard i < v.count else { return nil }
                }
            }
        }
        let total = headCount + tailCount
        if sawGap { guard total <= 7 else { return nil } } else { guard total == 8 else { return nil } }
        // Place head groups at the top, tail groups at the bottom.
        let shift = (8 - headCount) * 16
        var hi: UInt64, lo: UInt64
        if shift >= 128 { hi = 0; lo = 0 }
        else if shift >= 64 { hi = head.lo << UInt64(shift - 64); lo = 0 }
        else if shift == 0 { hi = head.hi; lo = head.lo }
        else { hi = head.hi << UInt64(shift) | head.lo >> UInt64(64 - shift); lo = head.lo << UInt64(shift) }
        hi |= tail.hi; lo |= tail.lo
        return IPAddress(v6Hi: hi, lo: lo)
    }

    @inlinable
    static func withIPv4<R>(_ a: UInt32, _ body: (ByteView, HostKind) -> R) -> R {
        withUnsafeTemporaryAllocation(byteCount: 16, alignment: 1) { buf in
            var n = 0
            IPAddress(v4: a).write { b in if n < 16 { buf[n] = b; n &+= 1 } }
            return body(ByteView(unsafeStart: buf.baseAddress, count: n), .ipv4)
        }
    }

    @inlinable
    static func withIPv6<R>(_ text: ByteView, _ body: (ByteView, HostKind) -> R) -> R {
        guard let a = parseIPv6(text) else { return body(.empty, .invalid) }
        return withUnsafeTemporaryAllocation(byteCount: 48, alignment: 1) { buf in
            var n = 0
            a.write { b in if n < 48 { buf[n] = b; n &+= 1 } }
            return body(ByteView(unsafeStart: buf.baseAddress, count: n), .ipv6)
        }
    }

    // MARK: IDN

    @inlinable
    static func withIDN<R>(_ v: ByteView, _ body: (ByteView, HostKind) -> R) -> R {
        withUnsafeTemporaryAllocation(byteCount: 256, alignment: 1) { out in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { label in
                if let n = toASCII(v, into: out, label: label) {
                    return body(ByteView(unsafeStart: out.baseAddress, count: n), .name)
                }
                return body(.empty, .invalid)
            }
        }
    }

    /// UTF-8 host → ASCII host with A-labels, written into `out`. Returns the length, or nil for
    /// invalid UTF-8, an over-long label or name.
    @inlinable
    static func toASCII(_ v: ByteView, into out: UnsafeMutableRawBufferPointer,
                        label: UnsafeMutableBufferPointer<UInt32>) -> Int? {
        var n = 0          // bytes written to out
        var count = 0      // code points in the current label
        var nonASCII = false
        var i = 0
        while i < v.count {
            guard let (scalar, len) = decodeUTF8(v, at: i) else { return nil }
            i += len
            let c = mapCodePoint(scalar)
            if c == 0x2e {
                guard count > 0, flushLabel(out, label, &n, &count, &nonASCII), n < maxLength else { return nil }
                out[n] = UInt8(ascii: "."); n += 1
                continue
            }
            guard count < label.count else { return nil }
            label[count] = c; count += 1
            if c >= 0x80 { nonASCII = true }
        }
        guard flushLabel(out, label, &n, &count, &nonASCII) else { return nil }
        if n > 0, out[n - 1] == UInt8(ascii: ".") { n -= 1 }
        return n > 0 ? n : nil
    }

    /// Writes the label collected in `label` (as is, or as "xn--" + punycode) at `n`.
    @inlinable
    static func flushLabel(_ out: UnsafeMutableRawBufferPointer, _ label: UnsafeMutableBufferPointer<UInt32>,
                           _ n: inout Int, _ count: inout Int, _ nonASCII: inout Bool) -> Bool {
        if count == 0 { return true }
        if !nonASCII {
            guard n + count <= maxLength else { return false }
            var k = 0
            while k < count { out[n + k] = UInt8(truncatingIfNeeded: label[k]); k += 1 }
            n += count
        } else {
            guard n + 4 <= maxLength else { return false }
            out[n] = UInt8(ascii: "x"); out[n + 1] = UInt8(ascii: "n")
            out[n + 2] = UInt8(ascii: "-"); out[n + 3] = UInt8(ascii: "-")
            let room = min(63 - 4, maxLength - n - 4)
            guard room > 0,
                  let w = Punycode.encode(UnsafeBufferPointer(rebasing: label[0..<count]),
                                          into: UnsafeMutableRawBufferPointer(rebasing: out[(n + 4)..<(n + 4 + room)]))
            else { return false }
            n += 4 + w
        }
        count = 0; nonASCII = false
        return true
    }

    /// One UTF-8 scalar at `i`: (scalar, byte length), or nil when malformed (overlong forms,
    /// surrogates and values past U+10FFFF included).
    @inlinable
    static func decodeUTF8(_ v: ByteView, at i: Int) -> (UInt32, Int)? {
        guard let b0 = v.u8(i) else { return nil }
        if b0 < 0x80 { return (UInt32(b0), 1) }
        func cont(_ k: Int) -> UInt32? {
            guard let b = v.u8(i + k), b & 0xc0 == 0x80 else { return nil }
            return UInt32(b & 0x3f)
        }
        if b0 & 0xe0 == 0xc0 {
            guard let c1 = cont(1) else { return nil }
            let s = UInt32(b0 & 0x1f) << 6 | c1
            return s >= 0x80 ? (s, 2) : nil
        }
        if b0 & 0xf0 == 0xe0 {
            guard let c1 = cont(1), let c2 = cont(2) else { return nil }
            let s = UInt32(b0 & 0x0f) << 12 | c1 << 6 | c2
            return s >= 0x800 && !(0xd800...0xdfff).contains(s) ? (s, 3) : nil
        }
        if b0 & 0xf8 == 0xf0 {
            guard let c1 = cont(1), let c2 = cont(2), let c3 = cont(3) else { return nil }
            let s = UInt32(b0 & 0x07) << 18 | c1 << 12 | c2 << 6 | c3
            return s >= 0x10000 && s <= 0x10ffff ? (s, 4) : nil
        }
        return nil
    }

    /// The part of UTS 46 mapping a Japanese office meets: ASCII and full-width letters fold to
    /// lower case ASCII, full-width digits and hyphen to ASCII, the ideographic and full-width
    /// full stops separate labels, and simple upper → lower case for Latin-1, Latin Extended-A,
    /// Greek and Cyrillic. No NFC normalisation (list entries are A-labels already).
    @inlinable
    static func mapCodePoint(_ c: UInt32) -> UInt32 {
        switch c {
        case 0x41...0x5a: return c | 0x20
        case 0x3002, 0xff0e, 0xff61: return 0x2e
        case 0xff01...0xff5e:
            let a = c - 0xfee0
            return (0x41...0x5a).contains(a) ? a | 0x20 : a
        case 0xc0...0xde where c != 0xd7: return c + 0x20
        case 0x100...0x137, 0x14a...0x177: return c | 1
        case 0x139...0x148, 0x179...0x17e: return c & 1 == 1 ? c + 1 : c
        case 0x391...0x3a9 where c != 0x3a2: return c + 0x20
        case 0x400...0x40f: return c + 0x50
        case 0x410...0x42f: return c + 0x20
        default: return c
        }
    }
}

// MARK: Hashing

/// Keys are 64-bit hashes of names read right to left (FNV-1a over the reversed, case-folded
/// bytes, then a bijective finaliser). Reading right to left makes every parent domain's key a
/// by-product of hashing the full host: one pass yields the keys of `com`, `example.com`,
/// `b.example.com` and `a.b.example.com`.
public enum HostKey {
    public static let seed: UInt64 = 0xcbf29ce484222325
    public static let prime: UInt64 = 0x100000001b3

    @inlinable @inline(__always)
    public static func step(_ h: UInt64, _ b: UInt8) -> UInt64 {
        (h ^ UInt64(b)) &* prime
    }

    /// MurmurHash3's fmix64: spreads FNV's state so the top bits index buckets evenly.
    @inlinable @inline(__always)
    public static func finish(_ h: UInt64) -> UInt64 {
        var k = h
        k ^= k >> 33
        k &*= 0xff51afd7ed558ccd
        k ^= k >> 33
        k &*= 0xc4ceb9fe1a85ec53
        k ^= k >> 33
        return k
    }

    /// Calls `body(key, offset, labels)` for each suffix of `host` that starts at a label:
    /// shortest (the top-level label) first, the whole host last. `offset` is where the suffix
    /// starts in `host`; `labels` counts its labels. IP literals yield only the whole host.
    /// `body` returns false to stop early.
    @inlinable
    public static func forEachSuffix(_ host: ByteView, kind: HostKind,
                                     _ body: (_ key: UInt64, _ offset: Int, _ labels: Int) -> Bool) {
        guard kind != .invalid, host.count > 0 else { return }
        var h = seed
        var i = host.count - 1
        if kind != .name {
            while i >= 0 { h = step(h, asciiLower(host[checked: i])); i -= 1 }
            _ = body(finish(h), 0, 1)
            return
        }
        var labels = 1
        while i >= 0 {
            let b = asciiLower(host[checked: i])
            if b == UInt8(ascii: ".") {
                if i + 1 < host.count, !body(finish(h), i + 1, labels) { return }
                labels &+= 1
            }
            h = step(h, b)
            i -= 1
        }
        _ = body(finish(h), 0, labels)
    }

    /// The key of a whole normalised host (the compiler's and customer lists' entries).
    @inlinable
    public static func of(_ host: ByteView) -> UInt64 {
        var h = seed
        var i = host.count - 1
        while i >= 0 { h = step(h, asciiLower(host[checked: i])); i -= 1 }
        return finish(h)
    }

    /// Whether `host` begins with "www." (any case): UT1's URL entries are written without it.
    @inlinable
    public static func hasWWW(_ host: ByteView) -> Bool {
        guard host.count > 4, let w = host.u32(0) else { return false }
        return w | 0x2020_2000 == 0x7777_772e  // "www." with the letters case-folded
    }
}
