import UTMCore

/// One BER element (X.690) as `BERReader` walks it: identifier, declared length and where its
/// content lies in the buffer. Content may be cut by the end of the buffer or of the enclosing
/// element (`available < declaredLength`): the checks of the `asn1` keyword look at what the
/// header declares, as Snort and Suricata 4 do, so a hostile length is seen even when the
/// bytes it claims never arrive.
public struct BERElement: Sendable, Equatable {
    /// 0 universal, 1 application, 2 context-specific, 3 private.
    public var tagClass: UInt8
    public var constructed: Bool
    public var tag: UInt32
    /// The declared content length; nil for the indefinite form (constructed only).
    public var declaredLength: UInt64?
    /// Where the content starts and how many of its bytes are in the buffer.
    public var contentStart: Int
    public var available: Int
    /// Nesting depth, 0 for top-level elements.
    public var depth: Int
}

/// A bounded, allocation-free BER walker: elements in document order (a constructed element,
/// then its children), at most `maxDepth` levels and `maxElements` elements, every length
/// checked against the buffer. Hostile input never traps: it ends the walk with `status`.
///
/// Why a reader and not a tree: the `asn1` keyword only needs to look at each element once,
/// and the detection path must not allocate.
public struct BERReader {
    public enum Status: UInt8, Sendable { case ok, end, invalid, limit }

    /// Suricata's default `asn1-max-frames` (30) bounds nesting; a walk deeper than this stops.
    public static let maxDepth = 30
    /// Elements per walk (Suricata 4 kept up to 256 frames).
    public static let maxElements = 256

    let buf: ByteView
    var pos: Int
    var depth = 0
    /// End of the content of the element open at each depth (index 0: the buffer's end).
    var ends: InlineArray<32, Int>
    /// Bit d set: the element open at depth d has the indefinite form (ends at an EOC).
    var indefinite: UInt32 = 0
    public private(set) var elements = 0
    public private(set) var status: Status = .ok

    public init(_ buf: ByteView, from start: Int = 0) {
        self.buf = buf
        pos = Swift.max(0, Swift.min(start, buf.count))
        ends = InlineArray(repeating: buf.count)
    }

    /// The next element, or nil at the end of the data or when the walk had to stop.
    public mutating func next() -> BERElement? {
        guard status == .ok else { return nil }
        while true {
            // Close every element whose content is used up.
            while depth > 0 && pos >= ends[depth] {
                pos = ends[depth]
                indefinite &= ~(1 << UInt32(depth))
                depth &-= 1
            }
            let limit = ends[depth]
            guard pos < limit else { status = .end; return nil }
            guard let id = buf.u8(pos), let first = buf.u8(pos &+ 1), pos &+ 1 < limit else {
                status = .end   // an identifier without its length octet: truncated
                return nil
            }
            // End-of-contents closes an indefinite-length element.
            if id == 0 && first == 0 && depth > 0 && indefinite & (1 << UInt32(depth)) != 0 {
                pos &+= 2
                ends[depth] = pos
                continue
            }
            elements &+= 1
            guard elements <= Self.maxElements else { status = .limit; return nil }
            var at = pos &+ 1
            var tag = UInt32(id & 0x1f)
            if tag == 0x1f {
                // High tag number: base-128 groups, at most 4 (28 bits), no leading zero group.
                tag = 0
                var groups = 0
                while true {
                    guard at < limit, let b = buf.u8(at) else { status = .end; return nil }
                    if groups == 0 && b == 0x80 { status = .invalid; return nil }
                    tag = tag << 7 | UInt32(b & 0x7f)
                    at &+= 1
                    groups &+= 1
                    if b & 0x80 == 0 { break }
                    if groups == 4 { status = .invalid; return nil }
                }
            }
            guard at < limit, let l = buf.u8(at) else { status = .end; return nil }
            at &+= 1
            let constructed = id & 0x20 != 0
            var declared: UInt64? = UInt64(l)
            if l == 0x80 {
                // Indefinite form: only for constructed elements (X.690 8.1.3.2).
                guard constructed else { status = .invalid; return nil }
                declared = nil
            } else if l == 0xff {
                status = .invalid   // reserved (X.690 8.1.3.5)
                return nil
            } else if l > 0x80 {
                let n = Int(l & 0x7f)
                guard n <= 8 else { status = .invalid; return nil }
                var v: UInt64 = 0
                var k = 0
                while k < n {
                    guard at < limit, let b = buf.u8(at) else { status = .end; return nil }
                    v = v << 8 | UInt64(b)
                    at &+= 1
                    k &+= 1
                }
                declared = v
            }
            let room = UInt64(limit &- at)
            let available = declared.map { Int(Swift.min($0, room)) } ?? Int(room)
            let element = BERElement(tagClass: id >> 6, constructed: constructed, tag: tag, declaredLength: declared,
                                     contentStart: at, available: available, depth: depth)
            if constructed {
                guard depth &+ 1 < Self.maxDepth else { status = .limit; return element }
                depth &+= 1
                ends[depth] = at &+ available
                if declared == nil { indefinite |= 1 << UInt32(depth) } else { indefinite &= ~(1 << UInt32(depth)) }
                pos = at
            } else {
                pos = at &+ available
            }
            return element
        }
    }
}

/// The checks of the `asn1` keyword (Snort's asn1 options, Suricata's detect-asn1). Any one
/// that holds for any element makes the keyword match.
public struct ASN1Options: Sendable, Equatable {
    public var bitstringOverflow = false
    public var doubleOverflow = false
    /// An element whose declared length (or content in the buffer) exceeds this.
    public var oversizeLength: UInt32?
    /// Decoding starts here from the buffer's start...
    public var absoluteOffset: Int?
    /// ...or this far from the end of the previous match (may be negative).
    public var relativeOffset: Int?

    public init() {}

    /// Whether the element trips one of the checks.
    public func trips(_ e: BERElement, _ buf: ByteView) -> Bool {
        if let limit = oversizeLength, let d = e.declaredLength, d > UInt64(limit) { return true }
        guard e.tagClass == 0, !e.constructed, let d = e.declaredLength, d > 0,
              e.available > 0, let first = buf.u8(e.contentStart) else { return false }
        // BIT STRING: the first content octet counts unused bits of the last octet; more
        // unused bits than the string holds is the overflow MS ASN.1 (MS04-007) fell to.
        if bitstringOverflow && e.tag == 3 && UInt64(first) > d &* 8 { return true }
        // REAL in decimal (ISO 6093) form, first octet bits 8-7 zero, longer than 256 bytes:
        // the buffer the MS library copied it into.
        if doubleOverflow && e.tag == 9 && first & 0xc0 == 0 && d > 256 { return true }
        return false
    }

    /// Decodes `buf` from the keyword's offset (`prevEnd`: the end of the previous match) and
    /// applies the checks; a start outside the buffer does not match (as Suricata).
    public func matches(_ buf: ByteView, prevEnd: Int) -> Bool {
        var start = 0
        if let a = absoluteOffset { start = a } else if let r = relativeOffset { start = prevEnd &+ r }
        guard start >= 0, start < buf.count else { return false }
        var reader = BERReader(buf, from: start)
        while let e = reader.next() {
            if trips(e, buf) { return true }
        }
        return false
    }
}
