import UTMCore

// Record data as text (what EVE dns events show as "rdata"): only for the types the web filter
// and logs use. Everything is written straight into the field store.

enum DNSType {
    static let a: UInt16 = 1
    static let ns: UInt16 = 2
    static let cname: UInt16 = 5
    static let soa: UInt16 = 6
    static let ptr: UInt16 = 12
    static let mx: UInt16 = 15
    static let txt: UInt16 = 16
    static let aaaa: UInt16 = 28
    static let srv: UInt16 = 33
    static let dname: UInt16 = 39
    static let opt: UInt16 = 41
    static let svcb: UInt16 = 64
    static let https: UInt16 = 65
}

extension DNSParser {
    /// Text for the rdata at `start`, or `.absent` for types without a text form or rdata that
    /// does not decode (the record itself is kept either way).
    mutating func writeRData(_ msg: ByteView, type: UInt16, start: Int, length: Int) -> Field {
        guard let rd = msg.slice(start, length) else { return .absent }
        let mark = store.used
        switch type {
        case DNSType.a:
            guard rd.count == 4 else { return .absent }
            for i in 0..<4 {
                if i > 0 { _ = store.appendByte(0x2e) }
                appendDecimal(UInt16(rd[checked: i]))
            }
        case DNSType.aaaa:
            guard rd.count == 16 else { return .absent }
            appendIPv6(rd)
        case DNSType.ns, DNSType.cname, DNSType.ptr, DNSType.dname, DNSType.soa:
            // SOA: the primary server name, the part worth logging.
            return nameInRData(msg, at: start, end: start + length)
        case DNSType.mx:
            return nameInRData(msg, at: start + 2, end: start + length)
        case DNSType.srv:
            return nameInRData(msg, at: start + 6, end: start + length)
        case DNSType.txt:
            // Character-strings concatenated (as SPF/DKIM consumers read them), escaped like
            // labels so binary TXT cannot corrupt logs.
            var i = 0
            while let n = rd.u8(i) {
                guard let s = rd.slice(i + 1, Int(n)) else { store.rewind(to: mark); return .absent }
                s.forEachByte { b in
                    if b == 0x5c || b == 0x22 { _ = store.appendByte(0x5c); _ = store.appendByte(b) }
                    else if b < 0x20 || b > 0x7e { appendEscapedDecimal(b) }
                    else { _ = store.appendByte(b) }
                }
                i += 1 + Int(n)
            }
        default:
            return .absent
        }
        return Field(offset: Int32(mark), length: Int32(store.used &- mark))
    }

    /// A name inside rdata: it may be compressed against the whole message but must start
    /// inside the rdata.
    private mutating func nameInRData(_ msg: ByteView, at: Int, end: Int) -> Field {
        guard at < end, let n = readName(msg, at: at), n.next <= end else { return .absent }
        return n.field
    }

    private mutating func appendDecimal(_ v: UInt16) {
        var started = false
        var d: UInt16 = 10000
        while d > 0 {
            let digit = UInt8((v / d) % 10)
            if digit != 0 || started || d == 1 {
                _ = store.appendByte(0x30 &+ digit)
                started = true
            }
            d /= 10
        }
    }

    /// RFC 5952 text: lower-case hex without leading zeros, the longest run (first if tied) of
    /// two or more zero groups as "::".
    private mutating func appendIPv6(_ rd: ByteView) {
        var bestStart = -1, bestLen = 0, runStart = -1
        for g in 0..<8 {
            if rd.u16(g * 2) == 0 {
                if runStart < 0 { runStart = g }
                let len = g - runStart + 1
                if len > bestLen { bestLen = len; bestStart = runStart }
            } else {
                runStart = -1
            }
        }
        if bestLen < 2 { bestStart = -1 }
        var g = 0
        while g < 8 {
            if g == bestStart {
                _ = store.appendByte(0x3a)
                _ = store.appendByte(0x3a)
                g += bestLen
                continue
            }
            if g > 0 && g != bestStart + bestLen { _ = store.appendByte(0x3a) }
            let v = rd.u16(g * 2) ?? 0
            var started = false
            var shift: UInt16 = 12
            while true {
                let nib = UInt8(truncatingIfNeeded: v >> shift) & 0x0f
                if nib != 0 || started || shift == 0 {
                    _ = store.appendByte(hexDigit(nib))
                    started = true
                }
                if shift == 0 { break }
                shift -= 4
            }
            g += 1
        }
    }
}
