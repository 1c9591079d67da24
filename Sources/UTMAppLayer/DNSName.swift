import UTMCore

// Domain names (RFC 1035 section 3.1 and 4.1.4): labels and compression pointers, written as
// dotted presentation text. Hostile names are the main attack surface of a DNS parser, so every
// rule here is about termination and bounds.

/// Compression pointers followed per name at most. Targets must also strictly decrease (below),
/// which alone guarantees termination; this bounds the work per name as well.
let dnsMaxPointerJumps = 64
/// Maximum wire length of a name (RFC 1035 section 2.3.4).
let dnsMaxNameLength = 255

extension DNSParser {
    /// Decodes the name at `start` into the store. Returns the field and the offset just after
    /// the name where it started (after the first pointer if compressed), or nil when the name is
    /// invalid: out of bounds, a reserved label type, longer than 255 bytes, or a pointer that
    /// does not point strictly before every position already visited (loops and forward
    /// pointers). Real compressors only point back at names written earlier, so this costs
    /// nothing on valid traffic.
    mutating func readName(_ msg: ByteView, at start: Int) -> (field: Field, next: Int)? {
        let mark = store.used
        var pos = start
        var limit = start
        var next = -1
        var jumps = 0
        var wireLength = 1
        var first = true
        while true {
            guard let len = msg.u8(pos) else { store.rewind(to: mark); return nil }
            switch len & 0xc0 {
            case 0x00:
                if len == 0 {
                    if next < 0 { next = pos + 1 }
                    return (Field(offset: Int32(mark), length: Int32(store.used &- mark)), next)
                }
                wireLength += Int(len) + 1
                guard wireLength <= dnsMaxNameLength, let label = msg.slice(pos + 1, Int(len)) else {
                    store.rewind(to: mark)
                    return nil
                }
                if !first { _ = store.appendByte(0x2e) }
                first = false
                appendLabel(label)
                pos += 1 + Int(len)
            case 0xc0:
                guard let low = msg.u8(pos + 1) else { store.rewind(to: mark); return nil }
                let target = Int(len & 0x3f) << 8 | Int(low)
                jumps += 1
                guard target < limit, jumps <= dnsMaxPointerJumps else {
                    store.rewind(to: mark)
                    return nil
                }
                if next < 0 { next = pos + 2 }
                limit = target
                pos = target
            default:
                // 0x40 (extended label types, RFC 6891) and 0x80 are not used in names.
                store.rewind(to: mark)
                return nil
            }
        }
    }

    /// Presentation escaping (RFC 4343 section 2.1): "." and "\" inside a label as "\." and
    /// "\\", bytes outside printable ASCII as "\DDD", so one text always means one wire name
    /// and logs cannot be corrupted by control bytes.
    ///
    /// A label with nothing to escape (almost all) is stored with one bulk append: byte by
    /// byte it cost ~265 instructions a label (7 M on the 10 MB capture). The bulk append
    /// truncates at the store's capacity exactly as the byte loop does.
    mutating func appendLabel(_ label: ByteView) {
        var i = 0
        let n = label.count
        while i < n {
            let b = label[checked: i]
            if b == 0x2e || b == 0x5c || b < 0x21 || b > 0x7e { break }
            i &+= 1
        }
        if i == n {
            _ = store.append(label)
            return
        }
        label.forEachByte { b in
            if b == 0x2e || b == 0x5c {
                _ = store.appendByte(0x5c)
                _ = store.appendByte(b)
            } else if b < 0x21 || b > 0x7e {
                appendEscapedDecimal(b)
            } else {
                _ = store.appendByte(b)
            }
        }
    }

    mutating func appendEscapedDecimal(_ b: UInt8) {
        _ = store.appendByte(0x5c)
        _ = store.appendByte(0x30 &+ b / 100)
        _ = store.appendByte(0x30 &+ (b / 10) % 10)
        _ = store.appendByte(0x30 &+ b % 10)
    }
}
