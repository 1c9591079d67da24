import UTMCore

// Small readers the dissectors share. All bounds-checked through ByteView: nil/false, never traps.

extension ByteView {
    /// Prefix test against a literal.
    @inlinable
    func has(_ prefix: StaticString) -> Bool { starts(with: prefix.byteView) }

    /// Case-insensitive prefix test against a literal.
    @inlinable
    func hasCI(_ prefix: StaticString) -> Bool { startsCaseInsensitive(with: prefix.byteView) }

    /// Whether `needle` occurs within the first `limit` bytes.
    @inlinable
    func contains(_ needle: StaticString, within limit: Int = 512) -> Bool {
        prefix(limit).firstIndex(of: needle.byteView) != nil
    }

    /// True when the view is shorter than `literal` but agrees with it so far: wait for more.
    @inlinable
    func isPrefix(of literal: StaticString) -> Bool {
        let l = literal.byteView
        return count < l.count && l.starts(with: self)
    }

    /// Whether all of the first `n` bytes (or the whole view) are printable ASCII or CR/LF/TAB.
    @inlinable
    func isText(_ n: Int) -> Bool {
        var ok = true
        prefix(n).forEachByte { b in
            if !(b >= 0x20 && b < 0x7f) && b != 0x0d && b != 0x0a && b != 0x09 { ok = false }
        }
        return ok
    }
}

@inlinable func isDigit(_ b: UInt8?) -> Bool { b.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }

/// Shared DNS-format check (DNS, mDNS, LLMNR, NetBIOS-NS share the header): a header with
/// sane counts and, when there is a question, a question that parses to its type and class.
enum DNSShape {
    /// Returns true when `v` looks like a DNS message. `strict` also requires exactly one
    /// question that parses completely (used off the well-known ports).
    static func looksLikeDNS(_ v: ByteView, strict: Bool) -> Bool {
        guard v.count >= 12, let flags = v.u16(2), let qd = v.u16(4), let an = v.u16(6),
              let ns = v.u16(8), let ar = v.u16(10) else { return false }
        let opcode = (flags >> 11) & 0xf
        guard opcode <= 5, opcode != 3 else { return false }
        if strict {
            guard qd == 1, an <= 64, ns <= 64, ar <= 64, flags & 0x0040 == 0 else { return false }
        } else {
            guard qd <= 16, an <= 256, ns <= 256, ar <= 256, qd + an + ns + ar > 0 else { return false }
        }
        if qd == 0 { return !strict }
        guard let end = skipName(v, 12), let qclass = v.u16(end + 2) else { return false }
        return qclass & 0x7fff <= 4 || qclass & 0x7fff == 255
    }

    /// Offset after the (possibly compressed) name at `offset`, or nil.
    static func skipName(_ v: ByteView, _ offset: Int) -> Int? {
        var o = offset
        var labels = 0
        while let len = v.u8(o) {
            if len == 0 { return o + 1 }
            if len & 0xc0 == 0xc0 { return v.u8(o + 1) == nil ? nil : o + 2 }
            if len & 0xc0 != 0 { return nil }
            o += 1 + Int(len)
            labels += 1
            if labels > 127 || o >= v.count { return nil }
        }
        return nil
    }
}

/// TLS record header for a handshake (SSL 3.0 – TLS 1.3), shared by TLS and the ports that
/// wrap it (IMAPS, SMTPS, POPS, DoT, Tor).
enum TLSShape {
    static func isHandshake(_ v: ByteView) -> ProbeResult {
        guard let b0 = v.u8(0) else { return .needMore }
        if b0 == 0x16 {
            guard let b1 = v.u8(1) else { return .needMore }
            guard b1 == 3 else { return .no }
            guard let b2 = v.u8(2) else { return .needMore }
            guard b2 <= 4 else { return .no }
            guard let t = v.u8(5) else { return .needMore }
            return t == 1 || t == 2 ? .match(.tls) : .no
        }
        // SSLv2-framed ClientHello.
        if b0 & 0x80 != 0, v.count >= 5, v.u8(2) == 1, let b3 = v.u8(3), b3 == 2 || b3 == 3 {
            return .match(.tls)
        }
        return .no
    }
}

/// HTTP/1.x request methods (with their space) the HTTP dissector accepts.
enum HTTPMethods {
    static let all: [StaticString] = [
        "GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "CONNECT ", "PATCH ", "TRACE ",
        "PROPFIND ", "PROPPATCH ", "MKCOL ", "COPY ", "MOVE ", "LOCK ", "UNLOCK ", "SEARCH ",
        "REPORT ", "SUBSCRIBE ", "NOTIFY ", "MKACTIVITY ", "CHECKOUT ", "MERGE ",
    ]
}

extension ByteView {
    /// Whether the view starts with one of `list` (index loop: iterating the array with
    /// `for in` allocated an iterator box in debug builds).
    @inlinable
    func hasAny(_ list: [StaticString], caseInsensitive: Bool = false) -> Bool {
        list.withUnsafeBufferPointer { buf in
            var i = 0
            while i < buf.count {
                if caseInsensitive ? hasCI(buf[i]) : has(buf[i]) { return true }
                i += 1
            }
            return false
        }
    }
}
