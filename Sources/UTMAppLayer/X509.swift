import UTMCore

// X.509 certificates (RFC 5280 section 4.1), read just far enough for the IPS's certificate
// buffers (`tls.cert_subject`, `tls.cert_issuer`, `tls.cert_serial`, `tls.subjectaltname`):
// the serial number, the issuer and subject names, and the subjectAltName extension's DNS
// names. DER only (definite lengths, one-byte tags): a certificate is hostile input, so every
// length is checked against its enclosing element and nothing is allocated; text is written
// into a caller's `X509Text` (a window of a `ByteSlab`), which stops at its end.

/// Where the interesting parts of one certificate are, as views into its DER bytes.
public struct X509Layout: Sendable {
    /// The serialNumber INTEGER's content bytes as sent (a leading 0x00 included).
    public var serial: ByteView = .empty
    /// The issuer and subject Names' contents (their RDNSequence elements).
    public var issuer: ByteView = .empty
    public var subject: ByteView = .empty
    /// The content of the Extensions SEQUENCE ([3] EXPLICIT), empty without one.
    public var extensions: ByteView = .empty
    /// Validity in Unix seconds (UTCTime or GeneralizedTime), 0 when unreadable.
    public var notBefore: Int64 = 0
    public var notAfter: Int64 = 0
}

/// Text being written into a slab window: `put` stops (and sets `full`) at the window's end.
public struct X509Text {
    public let slab: ByteSlab
    public let start: Int
    public let end: Int
    public private(set) var position: Int
    public private(set) var full = false

    public init(slab: ByteSlab, start: Int, capacity: Int) {
        self.slab = slab
        self.start = Swift.max(0, start)
        end = Swift.min(slab.capacity, self.start &+ Swift.max(0, capacity))
        position = self.start
    }

    public mutating func put(_ b: UInt8) {
        guard position < end else { full = true; return }
        slab.write(b, at: position)
        position &+= 1
    }

    public mutating func put(_ v: ByteView) {
        guard v.count <= end &- position else { full = true; return }
        slab.write(v, at: position)
        position &+= v.count
    }

    public mutating func put(_ s: StaticString) {
        s.withUTF8Buffer { buf in
            for b in buf { put(b) }
        }
    }

    /// What was written since `mark` (a position taken earlier).
    public func view(from mark: Int) -> ByteView { slab.view(mark, position &- mark) ?? .empty }

    /// Forgets what was written after `mark`.
    public mutating func rewind(to mark: Int) {
        if mark >= start && mark <= position { position = mark; full = false }
    }
}

public enum X509 {
    /// One DER element at `offset` of `v`: its tag byte, content and the offset after it. Nil
    /// for a high tag number (0x1f), an indefinite or over-long length, or a length past `v`.
    @inlinable
    public static func element(_ v: ByteView, at offset: Int) -> (tag: UInt8, content: ByteView, end: Int)? {
        guard let tag = v.u8(offset), tag & 0x1f != 0x1f, let first = v.u8(offset &+ 1) else { return nil }
        var length = 0
        var header = 2
        if first < 0x80 {
            length = Int(first)
        } else {
            let n = Int(first & 0x7f)
            guard n >= 1 && n <= 3 else { return nil }
            var i = 0
            while i < n {
                guard let b = v.u8(offset &+ 2 &+ i) else { return nil }
                length = length << 8 | Int(b)
                i &+= 1
            }
            header &+= n
        }
        guard let content = v.slice(offset &+ header, length) else { return nil }
        return (tag, content, offset &+ header &+ length)
    }

    /// The serial, names and extensions of a DER certificate; nil when its framing up to the
    /// subject is not a certificate's.
    public static func layout(_ der: ByteView) -> X509Layout? {
        guard let cert = element(der, at: 0), cert.tag == 0x30,
              let tbs = element(cert.content, at: 0), tbs.tag == 0x30 else { return nil }
        let t = tbs.content
        var off = 0
        guard var e = element(t, at: off) else { return nil }
        if e.tag == 0xa0 {   // [0] EXPLICIT version
            off = e.end
            guard let next = element(t, at: off) else { return nil }
            e = next
        }
        guard e.tag == 0x02 else { return nil }
        var out = X509Layout()
        out.serial = e.content
        off = e.end
        guard let signature = element(t, at: off), signature.tag == 0x30,
              let issuer = element(t, at: signature.end), issuer.tag == 0x30,
              let validity = element(t, at: issuer.end), validity.tag == 0x30,
              let subject = element(t, at: validity.end), subject.tag == 0x30 else { return nil }
        out.issuer = issuer.content
        out.subject = subject.content
        if let nb = element(validity.content, at: 0), let na = element(validity.content, at: nb.end) {
            out.notBefore = time(nb.tag, nb.content) ?? 0
            out.notAfter = time(na.tag, na.content) ?? 0
        }
        // subjectPublicKeyInfo, optional unique ids [1] [2], then [3] extensions.
        off = subject.end
        var steps = 0
        while off < t.count && steps < 4, let f = element(t, at: off) {
            if f.tag == 0xa3, let exts = element(f.content, at: 0), exts.tag == 0x30 {
                out.extensions = exts.content
                break
            }
            off = f.end
            steps &+= 1
        }
        return out
    }

    /// Writes a Name's RDNSequence as Suricata shows it (its X.509 library's form): RDNs in
    /// certificate order joined by ", ", the attributes of a multi-valued RDN by " + ", each
    /// `SHORT=value` (CN C L ST O OU DC Email, else the attribute's short name, else the dotted
    /// OID). Values of the string types as sent (BMPString and UniversalString turned into
    /// UTF-8); other types as `#` and hex. False when the Name is malformed.
    @discardableResult
    public static func writeName(_ rdns: ByteView, into out: inout X509Text) -> Bool {
        var off = 0
        var first = true
        while off < rdns.count {
            guard let set = element(rdns, at: off), set.tag == 0x31 else { return false }
            off = set.end
            var a = 0
            var firstInSet = true
            while a < set.content.count {
                guard let atv = element(set.content, at: a), atv.tag == 0x30,
                      let oid = element(atv.content, at: 0), oid.tag == 0x06,
                      let value = element(atv.content, at: oid.end) else { return false }
                a = atv.end
                if !first { out.put(firstInSet ? ", " : " + ") }
                first = false
                firstInSet = false
                writeAttributeName(oid.content, into: &out)
                out.put(UInt8(ascii: "="))
                writeValue(value.tag, value.content, into: &out)
            }
        }
        return true
    }

    /// The DNS names (GeneralName [2] dNSName) of the subjectAltName extension (2.5.29.17),
    /// each lent to `body` in order; at most `limit`. Returns how many were lent.
    @discardableResult
    public static func forEachDNSName(_ extensions: ByteView, limit: Int, _ body: (ByteView) -> Void) -> Int {
        var off = 0
        var n = 0
        while off < extensions.count {
            guard let ext = element(extensions, at: off), ext.tag == 0x30,
                  let oid = element(ext.content, at: 0), oid.tag == 0x06 else { return n }
            off = ext.end
            guard oid.content.count == 3, oid.content.u8(0) == 0x55, oid.content.u8(1) == 0x1d,
                  oid.content.u8(2) == 0x11 else { continue }
            // extnID, critical BOOLEAN OPTIONAL, extnValue OCTET STRING holding GeneralNames.
            var v = oid.end
            guard var value = element(ext.content, at: v) else { return n }
            if value.tag == 0x01 {
                v = value.end
                guard let next = element(ext.content, at: v) else { return n }
                value = next
            }
            guard value.tag == 0x04, let names = element(value.content, at: 0), names.tag == 0x30 else { return n }
            var g = 0
            while g < names.content.count && n < limit {
                guard let name = element(names.content, at: g) else { return n }
                g = name.end
                if name.tag == 0x82 {
                    body(name.content)
                    n &+= 1
                }
            }
            return n
        }
        return n
    }

    /// UTCTime (0x17, YYMMDDHHMM[SS]Z, years 50-99 are 19xx) or GeneralizedTime (0x18,
    /// YYYYMMDDHHMMSS[.f]Z) as Unix seconds; nil for other tags, offsets or bad digits.
    public static func time(_ tag: UInt8, _ v: ByteView) -> Int64? {
        func num(_ at: Int, _ n: Int) -> Int? {
            var x = 0
            var i = 0
            while i < n {
                guard let b = v.u8(at &+ i), b >= 48 && b <= 57 else { return nil }
                x = x &* 10 &+ Int(b &- 48)
                i &+= 1
            }
            return x
        }
        var year: Int
        var at: Int
        if tag == 0x17 {
            guard let yy = num(0, 2) else { return nil }
            year = yy < 50 ? 2000 &+ yy : 1900 &+ yy
            at = 2
        } else if tag == 0x18 {
            guard let y = num(0, 4) else { return nil }
            year = y
            at = 4
        } else {
            return nil
        }
        guard let month = num(at, 2), let day = num(at &+ 2, 2), let hour = num(at &+ 4, 2),
              let minute = num(at &+ 6, 2) else { return nil }
        let second = num(at &+ 8, 2) ?? 0
        // The time must be UTC ('Z' after the seconds or fraction); local or offset times are
        // not read (RFC 5280 requires Z).
        guard let last = v.u8(v.count &- 1), last == UInt8(ascii: "Z") else { return nil }
        return CivilTime.seconds(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    }

    /// The short names x509-parser (Suricata's) uses: its abbreviations, then the registry's.
    static func writeAttributeName(_ oid: ByteView, into out: inout X509Text) {
        if oid.count == 3 && oid.u8(0) == 0x55 && oid.u8(1) == 0x04, let last = oid.u8(2) {
            switch last {
            case 3: out.put("CN"); return
            case 6: out.put("C"); return
            case 7: out.put("L"); return
            case 8: out.put("ST"); return
            case 10: out.put("O"); return
            case 11: out.put("OU"); return
            case 4: out.put("surname"); return
            case 5: out.put("serialNumber"); return
            case 9: out.put("streetAddress"); return
            case 12: out.put("title"); return
            case 15: out.put("businessCategory"); return
            case 17: out.put("postalCode"); return
            case 42: out.put("givenName"); return
            case 43: out.put("initials"); return
            case 46: out.put("dnQualifier"); return
            default: break
            }
        }
        // 1.2.840.113549.1.9.1 emailAddress, 0.9.2342.19200300.100.1.25 domainComponent.
        if oid.count == 9 && oid.u8(0) == 0x2a && oid.u8(1) == 0x86 && oid.u8(2) == 0x48 && oid.u8(3) == 0x86
            && oid.u8(4) == 0xf7 && oid.u8(5) == 0x0d && oid.u8(6) == 0x01 && oid.u8(7) == 0x09 && oid.u8(8) == 0x01 {
            out.put("Email"); return
        }
        if oid.count == 10 && oid.u8(0) == 0x09 && oid.u8(1) == 0x92 && oid.u8(2) == 0x26 && oid.u8(9) == 0x19 {
            out.put("DC"); return
        }
        writeDottedOID(oid, into: &out)
    }

    /// An OID's dotted-decimal form (first arc pair split as X.690 says).
    static func writeDottedOID(_ oid: ByteView, into out: inout X509Text) {
        var i = 0
        var value: UInt64 = 0
        var first = true
        while let b = oid.u8(i) {
            guard value < (1 << 56) else { return }
            value = value << 7 | UInt64(b & 0x7f)
            if b & 0x80 == 0 {
                if first {
                    let top: UInt64 = value < 40 ? 0 : value < 80 ? 1 : 2
                    writeDecimal(top, into: &out)
                    out.put(UInt8(ascii: "."))
                    writeDecimal(value &- top &* 40, into: &out)
                    first = false
                } else {
                    out.put(UInt8(ascii: "."))
                    writeDecimal(value, into: &out)
                }
                value = 0
            }
            i &+= 1
        }
    }

    static func writeDecimal(_ v: UInt64, into out: inout X509Text) {
        var digits: InlineArray<20, UInt8> = .init(repeating: 0)
        var n = 0
        var x = v
        repeat {
            digits[n] = UInt8(48 &+ x % 10)
            x /= 10
            n &+= 1
        } while x > 0 && n < 20
        while n > 0 {
            n &-= 1
            out.put(digits[n])
        }
    }

    static let hexDigits: StaticString = "0123456789abcdef"

    /// A value: 8-bit string types as sent, BMP (UTF-16BE) and Universal (UCS-4BE) as UTF-8,
    /// anything else `#` + hex of its content.
    static func writeValue(_ tag: UInt8, _ v: ByteView, into out: inout X509Text) {
        switch tag {
        case 0x0c, 0x12, 0x13, 0x14, 0x15, 0x16, 0x19, 0x1a, 0x1b:
            out.put(v)
        case 0x1e:
            var i = 0
            while let hi = v.u8(i), let lo = v.u8(i &+ 1) {
                var scalar = UInt32(hi) << 8 | UInt32(lo)
                i &+= 2
                if scalar >= 0xd800 && scalar < 0xdc00, let h2 = v.u8(i), let l2 = v.u8(i &+ 1) {
                    let low = UInt32(h2) << 8 | UInt32(l2)
                    if low >= 0xdc00 && low < 0xe000 {
                        scalar = 0x10000 &+ ((scalar &- 0xd800) << 10) &+ (low &- 0xdc00)
                        i &+= 2
                    }
                }
                writeUTF8(scalar, into: &out)
            }
        case 0x1c:
            var i = 0
            while let s = v.u32(i) {
                writeUTF8(s, into: &out)
                i &+= 4
            }
        default:
            out.put(UInt8(ascii: "#"))
            writeHex(v, separator: nil, upper: false, into: &out)
        }
    }

    /// A scalar as UTF-8; surrogates and values past U+10FFFF as U+FFFD.
    static func writeUTF8(_ s: UInt32, into out: inout X509Text) {
        let c = (s >= 0xd800 && s < 0xe000) || s > 0x10ffff ? 0xfffd : s
        if c < 0x80 {
            out.put(UInt8(c))
        } else if c < 0x800 {
            out.put(UInt8(0xc0 | c >> 6)); out.put(UInt8(0x80 | c & 0x3f))
        } else if c < 0x10000 {
            out.put(UInt8(0xe0 | c >> 12)); out.put(UInt8(0x80 | c >> 6 & 0x3f)); out.put(UInt8(0x80 | c & 0x3f))
        } else {
            out.put(UInt8(0xf0 | c >> 18)); out.put(UInt8(0x80 | c >> 12 & 0x3f))
            out.put(UInt8(0x80 | c >> 6 & 0x3f)); out.put(UInt8(0x80 | c & 0x3f))
        }
    }

    /// Bytes as two hex digits each, `separator` between them (Suricata's serial "0A:1B:..."
    /// upper case, its fingerprint "0a:1b:..." lower case).
    public static func writeHex(_ v: ByteView, separator: UInt8?, upper: Bool, into out: inout X509Text) {
        var i = 0
        while let b = v.u8(i) {
            if i > 0, let s = separator { out.put(s) }
            out.put(hexDigit(b >> 4, upper))
            out.put(hexDigit(b & 0x0f, upper))
            i &+= 1
        }
    }

    @inline(__always)
    static func hexDigit(_ n: UInt8, _ upper: Bool) -> UInt8 {
        n < 10 ? 48 &+ n : (upper ? 55 : 87) &+ n
    }
}
