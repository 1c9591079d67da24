import UTMCore

/// Attachment file names the way mail clients write them, decoded into a bounded slab:
/// - RFC 2231 extended values, `filename*=utf-8'ja'%E8%AB%8B%E6%B1%82.pdf`, and continuations
///   `filename*0*=utf-8''%E8...; filename*1*=%9B.pdf` (sections joined in order, up to 32);
/// - RFC 2047 encoded words inside a plain value, `name="=?UTF-8?B?6KuL5rGC5pu4LnBkZg==?="`
///   or `?Q?` (underscore = space, `=XX`), whitespace between adjacent words dropped — what
///   Outlook and most Japanese mailers send in practice although RFC 2047 forbids it there;
/// - anything else as written (quotes removed).
/// Bytes come out in the declared charset; ISO-8859-1 is widened to UTF-8, other charsets
/// (Shift_JIS, ISO-2022-JP) are kept as they are (the EVE writer escapes what is not UTF-8).
/// Why here and not in the engine: the MIME decoder keeps the name of each part it opens, and
/// an attachment is found by name as often as by content. Hostile input: every read is
/// bounds-checked, output stops at the slab's capacity, malformed encodings are copied raw.
public enum MimeFileName {
    /// Decodes parameter `key` (e.g. "filename", "name") of a header value such as
    /// `attachment; filename=...` into `out`; returns the length, or nil when absent.
    public static func decode(_ value: ByteView, key: ByteView, into out: ByteSlab) -> Int? {
        var w = NameWriter(out)
        var params = ParameterIterator(value)
        // A plain or extended (`key*`) value: extended wins (RFC 2231 section 4.1 fallback).
        var plain: ByteView?
        var sawPlain = false
        while let p = params.next() {
            if p.name.equalsCaseInsensitive(key) {
                if !sawPlain { plain = p.value; sawPlain = true }
            } else if p.name.count == key.count + 1, p.name.startsCaseInsensitive(with: key), p.name.u8(key.count) == UInt8(ascii: "*") {
                w.extended(p.value, charset: nil)
                return w.len
            }
        }
        // Continuations: key*0, key*0*, key*1 ...
        var charset: Latin1Flag? = nil
        var found = false
        for section in 0..<32 {
            var it = ParameterIterator(value)
            var hit = false
            while let p = it.next() {
                guard let (n, star) = sectionNumber(p.name, key: key), n == section else { continue }
                hit = true
                if star {
                    if section == 0 { charset = w.extended(p.value, charset: nil) } else { w.percent(p.value, latin1: charset?.latin1 ?? false) }
                } else {
                    w.raw(p.value)
                }
                break
            }
            if !hit { break }
            found = true
        }
        if found { return w.len }
        guard let v = plain else { return nil }
        w.encodedWords(v)
        return w.len
    }

    /// `key*N` or `key*N*` → (N, extended).
    static func sectionNumber(_ name: ByteView, key: ByteView) -> (Int, Bool)? {
        guard name.count > key.count + 1, name.startsCaseInsensitive(with: key), name.u8(key.count) == UInt8(ascii: "*") else { return nil }
        var i = key.count + 1
        var n = 0
        var digits = 0
        while let c = name.u8(i), c >= 0x30, c <= 0x39, digits < 3 { n = n * 10 + Int(c - 0x30); i += 1; digits += 1 }
        guard digits > 0 else { return nil }
        if i == name.count { return (n, false) }
        if i + 1 == name.count, name.u8(i) == UInt8(ascii: "*") { return (n, true) }
        return nil
    }

    struct Latin1Flag { var latin1: Bool }
}

/// `; name=value` pairs after the first `;` of a header value; quoted values may hold `;`.
struct ParameterIterator {
    var rest: ByteView

    init(_ value: ByteView) {
        rest = value.firstIndex(of: UInt8(ascii: ";")).map { value.dropFirst($0 + 1) } ?? .empty
    }

    mutating func next() -> (name: ByteView, value: ByteView)? {
        while !rest.isEmpty {
            var p = rest
            while let c = p.u8(0), c == 0x20 || c == 0x09 || c == 0x0d || c == 0x0a { p = p.dropFirst(1) }
            var n = 0
            while let c = p.u8(n), c != UInt8(ascii: "="), c != UInt8(ascii: ";") { n += 1 }
            var name = p.prefix(n)
            while let c = name.u8(name.count - 1), c == 0x20 || c == 0x09 { name = name.prefix(name.count - 1) }
            guard p.u8(n) == UInt8(ascii: "=") else {
                // A parameter without a value: skip it.
                rest = p.dropFirst(Swift.min(p.count, n + 1))
                continue
            }
            var v = p.dropFirst(n + 1)
            while let c = v.u8(0), c == 0x20 || c == 0x09 { v = v.dropFirst(1) }
            if v.u8(0) == UInt8(ascii: "\"") {
                // Quoted string: up to the closing quote, `\x` escapes skipped over.
                var i = 1
                while let c = v.u8(i), c != UInt8(ascii: "\"") { i += c == UInt8(ascii: "\\") ? 2 : 1 }
                let value = v.slice(1, Swift.max(0, Swift.min(i, v.count) - 1)) ?? .empty
                let after = v.dropFirst(Swift.min(v.count, i + 1))
                rest = after.firstIndex(of: UInt8(ascii: ";")).map { after.dropFirst($0 + 1) } ?? .empty
                return (name, value)
            }
            var e = 0
            while let c = v.u8(e), c != UInt8(ascii: ";") { e += 1 }
            var value = v.prefix(e)
            while let c = value.u8(value.count - 1), c == 0x20 || c == 0x09 || c == 0x0d || c == 0x0a { value = value.prefix(value.count - 1) }
            rest = v.dropFirst(Swift.min(v.count, e + 1))
            return (name, value)
        }
        return nil
    }
}

/// Appends decoded bytes to a slab, silently stopping at its capacity.
struct NameWriter {
    let out: ByteSlab
    var len = 0
    /// Set once a character did not fit: nothing after it is written (no half characters).
    var full = false

    init(_ out: ByteSlab) { self.out = out }

    mutating func put(_ b: UInt8) {
        guard !full, len < out.capacity else { return }
        _ = out.write(b, at: len)
        len += 1
    }

    mutating func put(_ b: UInt8, latin1: Bool) {
        if latin1 && b >= 0x80 {
            guard len + 2 <= out.capacity else { full = true; return }
            put(0xc0 | b >> 6)
            put(0x80 | b & 0x3f)
        } else {
            put(b)
        }
    }

    mutating func raw(_ v: ByteView) {
        var i = 0
        while let c = v.u8(i) {
            // Quoted-pair: `\"` → `"`.
            if c == UInt8(ascii: "\\"), let d = v.u8(i + 1) { put(d); i += 2; continue }
            put(c)
            i += 1
        }
    }

    static func isLatin1(_ charset: ByteView) -> Bool {
        charset.equalsCaseInsensitive(("iso-8859-1" as StaticString).byteView)
            || charset.equalsCaseInsensitive(("latin1" as StaticString).byteView)
            || charset.equalsCaseInsensitive(("us-ascii" as StaticString).byteView)
    }

    /// `charset'language'percent-encoded` (RFC 2231); without the two quotes, percent-decoded.
    @discardableResult
    mutating func extended(_ v: ByteView, charset: MimeFileName.Latin1Flag?) -> MimeFileName.Latin1Flag {
        guard let q1 = v.firstIndex(of: UInt8(ascii: "'")), let q2 = v.firstIndex(of: UInt8(ascii: "'"), from: q1 + 1) else {
            percent(v, latin1: false)
            return .init(latin1: false)
        }
        let latin1 = NameWriter.isLatin1(v.prefix(q1))
        percent(v.dropFirst(q2 + 1), latin1: latin1)
        return .init(latin1: latin1)
    }

    mutating func percent(_ v: ByteView, latin1: Bool) {
        var i = 0
        while let c = v.u8(i) {
            if c == UInt8(ascii: "%"), let h = v.u8(i + 1).flatMap(mimeHexValue), let l = v.u8(i + 2).flatMap(mimeHexValue) {
                put(h << 4 | l, latin1: latin1)
                i += 3
            } else {
                put(c)
                i += 1
            }
        }
    }

    /// Plain text with RFC 2047 encoded words `=?charset?B|Q?text?=` decoded.
    mutating func encodedWords(_ v: ByteView) {
        var i = 0
        var lastWasWord = false
        var pendingSpace = 0  // whitespace after an encoded word, dropped if another follows
        while i < v.count {
            if v.u8(i) == UInt8(ascii: "="), v.u8(i + 1) == UInt8(ascii: "?"), let end = encodedWord(v, at: i, write: false) {
                if !lastWasWord { flushSpace(v, i - pendingSpace, pendingSpace) }
                _ = encodedWord(v, at: i, write: true)
                i = end
                lastWasWord = true
                pendingSpace = 0
                continue
            }
            let c = v.u8(i) ?? 0
            if lastWasWord && (c == 0x20 || c == 0x09 || c == 0x0d || c == 0x0a) {
                pendingSpace += 1
                i += 1
                continue
            }
            if pendingSpace > 0 { flushSpace(v, i - pendingSpace, pendingSpace); pendingSpace = 0 }
            lastWasWord = false
            if c == UInt8(ascii: "\\"), let d = v.u8(i + 1) { put(d); i += 2; continue }
            put(c)
            i += 1
        }
    }

    private mutating func flushSpace(_ v: ByteView, _ from: Int, _ n: Int) {
        for k in 0..<n { if let c = v.u8(from + k) { put(c) } }
    }

    /// Decodes (or, with `write` false, only validates) the encoded word at `at`; returns the
    /// index after its `?=`.
    private mutating func encodedWord(_ v: ByteView, at: Int, write: Bool) -> Int? {
        let body = v.dropFirst(at + 2)
        guard let q1 = body.firstIndex(of: UInt8(ascii: "?")), q1 > 0,
              let enc = body.u8(q1 + 1), body.u8(q1 + 2) == UInt8(ascii: "?"),
              let close = body.firstIndex(of: ("?=" as StaticString).byteView, from: q1 + 3) else { return nil }
        var charset = body.prefix(q1)
        if let star = charset.firstIndex(of: UInt8(ascii: "*")) { charset = charset.prefix(star) }  // RFC 2231 language
        let text = body.slice(q1 + 3, close - (q1 + 3)) ?? .empty
        let b64 = enc == UInt8(ascii: "B") || enc == UInt8(ascii: "b")
        guard b64 || enc == UInt8(ascii: "Q") || enc == UInt8(ascii: "q") else { return nil }
        if write {
            let latin1 = NameWriter.isLatin1(charset)
            if b64 { base64(text, latin1: latin1) } else { qEncoded(text, latin1: latin1) }
        }
        return at + 2 + close + 2
    }

    private mutating func base64(_ t: ByteView, latin1: Bool) {
        var acc: UInt32 = 0, bits = 0
        var i = 0
        while let c = t.u8(i) {
            i += 1
            let d: UInt8
            switch c {
            case 0x41...0x5a: d = c - 0x41
            case 0x61...0x7a: d = c - 0x61 + 26
            case 0x30...0x39: d = c - 0x30 + 52
            case UInt8(ascii: "+"): d = 62
            case UInt8(ascii: "/"): d = 63
            default: continue
            }
            acc = acc << 6 | UInt32(d)
            bits += 6
            if bits >= 8 {
                bits -= 8
                put(UInt8(truncatingIfNeeded: acc >> UInt32(bits)), latin1: latin1)
            }
        }
    }

    private mutating func qEncoded(_ t: ByteView, latin1: Bool) {
        var i = 0
        while let c = t.u8(i) {
            if c == UInt8(ascii: "_") { put(0x20); i += 1; continue }
            if c == UInt8(ascii: "="), let h = t.u8(i + 1).flatMap(mimeHexValue), let l = t.u8(i + 2).flatMap(mimeHexValue) {
                put(h << 4 | l, latin1: latin1)
                i += 3
                continue
            }
            put(c)
            i += 1
        }
    }
}
