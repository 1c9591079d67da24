/// Appends JSON to a reusable byte buffer. EVE output writes every event through it.
///
/// Why not `Codable` or `String`: events are written on the packet path; building them with
/// `String` would allocate per event, and even `Array.append` costs a uniqueness check per
/// byte. The bytes go into a `ByteSlab` reserved once (grown only if one batch of events
/// outgrows it) with an explicit length; `reset()` keeps the storage. A writer owns its slab:
/// do not copy a writer and use both copies.
/// Raw protocol bytes are escaped so the output is valid JSON whatever the input: control
/// characters and bytes above 0x7f become `\u00XX`, as Suricata prints them.
public struct JSONWriter: Sendable {
    @usableFromInline var slab: ByteSlab
    /// Bytes written since the last `reset()`.
    public var count: Int { used }
    /// Storage of `count`, visible to the inlined writers (keys, literals, numbers), which
    /// UTMOutput calls ~30 times an event: a call each cost more than the bytes it wrote.
    @usableFromInline var used: Int = 0
    /// Civil date text ("2024-01-02T03:04:05") of the last second written, reused while events
    /// share a second, as they mostly do.
    var cachedSecond: Int64 = Int64.min
    /// `"2024-01-02T03:04:05.`: the quote, the civil text of `cachedSecond` and the dot (21
    /// bytes, low byte first, zero-padded to 24), stored as three words into each timestamp of
    /// that second. Words, not a slab: a copied writer keeps its own prefix.
    var cachedPrefix: (UInt64, UInt64, UInt64) = (0, 0, 0)
    /// One bit per nesting level: set once the level holds a member, so the next one gets a comma.
    @usableFromInline var hasMember: UInt64 = 0
    @usableFromInline var depth: Int = 0

    public init(capacity: Int = 1 << 16) {
        slab = ByteSlab(capacity: max(64, capacity))
    }

    public mutating func reset() {
        used = 0
        hasMember = 0
        depth = 0
        inArray = 0
        afterKey = false
    }

    public var isEmpty: Bool { count == 0 }

    /// Lends the bytes written so far (to write them to a file or socket).
    public func withBytes<R>(_ body: (ByteView) throws -> R) rethrows -> R {
        try body(slab.view(0, count) ?? .empty)
    }

    /// A copy of the bytes written so far: tests and slow paths.
    public var buffer: [UInt8] { withBytes { $0.bytes } }

    /// Makes room for `n` more bytes: doubles the slab on the rare event batch that outgrows it.
    @inlinable @inline(__always)
    mutating func reserve(_ n: Int) {
        if n > slab.capacity &- count { grow(n) }
    }

    @usableFromInline @inline(never)
    mutating func grow(_ n: Int) {
        let bigger = ByteSlab(capacity: max(slab.capacity * 2, count + n + 64))
        if let old = slab.view(0, count) { bigger.write(old, at: 0) }
        slab = bigger
    }

    @inlinable @inline(__always)
    mutating func raw(_ b: UInt8) {
        reserve(1)
        slab.write(b, at: count)
        used &+= 1
    }

    @inlinable
    mutating func raw(_ s: StaticString) {
        raw(s.byteView)
    }

    /// One byte into room already made by `reserve`: no second capacity check per byte.
    @inline(__always)
    mutating func put(_ b: UInt8) {
        if slab.write(b, at: count) { used &+= 1 }
    }

    /// Decimal digits of `v`, with one capacity check for all of them.
    @inlinable @inline(__always)
    mutating func decimal(_ v: UInt64) {
        reserve(20)
        used &+= slab.writeDecimal(v, at: count)
    }

    @inlinable @inline(__always)
    mutating func raw(_ v: ByteView) {
        reserve(v.count)
        slab.write(v, at: count)
        used &+= v.count
    }

    @inlinable @inline(__always)
    mutating func separator() {
        let bit: UInt64 = 1 << UInt64(depth & 63)
        if hasMember & bit != 0 { raw(UInt8(ascii: ",")) } else { hasMember |= bit }
    }

    // MARK: Structure

    @inlinable
    public mutating func beginObject() {
        if depth > 0 { separatorIfArrayValue() }
        raw(UInt8(ascii: "{"))
        depth += 1
        hasMember &= ~(1 << UInt64(depth & 63))
    }

    @inlinable
    public mutating func endObject() {
        raw(UInt8(ascii: "}"))
        depth -= 1
    }

    @inlinable
    public mutating func beginArray() {
        if depth > 0 { separatorIfArrayValue() }
        raw(UInt8(ascii: "["))
        depth += 1
        hasMember &= ~(1 << UInt64(depth & 63))
        inArray |= 1 << UInt64(depth & 63)
    }

    @inlinable
    public mutating func endArray() {
        inArray &= ~(1 << UInt64(depth & 63))
        raw(UInt8(ascii: "]"))
        depth -= 1
    }

    /// One bit per level: set when that level is an array, whose values need commas themselves.
    @usableFromInline var inArray: UInt64 = 0
    /// Set right after a key, whose value must not get a comma.
    @usableFromInline var afterKey = false

    @inlinable
    mutating func separatorIfArrayValue() {
        if afterKey { afterKey = false; return }
        if inArray & (1 << UInt64(depth & 63)) != 0 { separator() }
    }

    /// Ends the current top-level value with a newline (one EVE event per line).
    @inlinable public mutating func newline() { raw(UInt8(ascii: "\n")) }

    // MARK: Keys and values

    @inlinable
    public mutating func key(_ k: StaticString) {
        separator()
        reserve(k.utf8CodeUnitCount &+ 3)
        used &+= slab.writeQuoted(k, colon: true, at: count)
        afterKey = true
    }

    @inlinable
    mutating func valueStart() {
        separatorIfArrayValue()
    }

    public mutating func string(_ v: ByteView) {
        valueStart()
        raw(UInt8(ascii: "\""))
        // Runs of plain printable bytes are copied at once; only the rest is escaped.
        var runStart = 0
        var i = 0
        while i < v.count {
            let b = v[checked: i]
            if b >= 0x20 && b < 0x7f && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") {
                i &+= 1
                continue
            }
            if i > runStart, let run = v.slice(runStart, i &- runStart) { raw(run) }
            escaped(b)
            i &+= 1
            runStart = i
        }
        if i > runStart, let run = v.slice(runStart, i &- runStart) { raw(run) }
        raw(UInt8(ascii: "\""))
    }

    @inlinable
    public mutating func string(_ s: StaticString) {
        valueStart()
        reserve(s.utf8CodeUnitCount &+ 2)
        used &+= slab.writeQuoted(s, colon: false, at: count)
    }

    /// Slow path for values built at run time (configuration names, error text).
    /// Disfavoured so a literal (`json.string("TCP")`) takes the `StaticString` overload: Swift
    /// prefers `String` for literals, and this path cost ~245 instructions per `proto`.
    @_disfavoredOverload
    public mutating func string(_ s: String) {
        valueStart()
        raw(UInt8(ascii: "\""))
        for b in s.utf8 { escapedUTF8(b) }
        raw(UInt8(ascii: "\""))
    }

    @inlinable
    public mutating func int(_ v: Int64) {
        valueStart()
        if v < 0 {
            raw(UInt8(ascii: "-"))
            decimal(v == Int64.min ? UInt64(Int64.max) + 1 : UInt64(-v))
        } else {
            decimal(UInt64(v))
        }
    }

    @inlinable public mutating func int(_ v: Int) { int(Int64(v)) }
    @inlinable
    public mutating func uint(_ v: UInt64) {
        valueStart()
        decimal(v)
    }

    /// A fixed-point number with `places` decimals (durations, rates in summaries).
    public mutating func fixed(_ x: Double, places: Int = 6) {
        var scale = 1.0
        for _ in 0..<max(0, min(places, 15)) { scale *= 10 }
        let scaled = (x * scale).rounded()
        guard scaled.isFinite, abs(scaled) < 9e18 else { null(); return }
        valueStart()
        var v = Int64(scaled)
        if v < 0 { raw(UInt8(ascii: "-")); v = -v }
        let unit = Int64(scale)
        writeDecimal(UInt64(v / unit)) { raw($0) }
        if places > 0 {
            raw(UInt8(ascii: "."))
            var frac = v % unit, d = unit / 10
            while d > 0 { raw(UInt8(ascii: "0") &+ UInt8(frac / d)); frac %= d; d /= 10 }
        }
    }

    @inlinable
    public mutating func bool(_ v: Bool) {
        valueStart()
        raw(v ? "true" : "false")
    }

    @inlinable
    public mutating func null() {
        valueStart()
        raw("null")
    }

    public mutating func ip(_ a: IPAddress) {
        valueStart()
        // 41 bytes: eight 4-digit groups, seven colons and the quotes (a dotted quad is shorter).
        reserve(41)
        put(UInt8(ascii: "\""))
        if a.isV6 {
            for i in 0..<8 {
                if i > 0 { put(UInt8(ascii: ":")) }
                let word = i < 4 ? a.hi : a.lo
                if slab.writeHex(word >> (48 - 16 * UInt64(i & 3)), width: 4, at: count) { used &+= 4 }
            }
        } else {
            let v = a.v4Value
            used &+= slab.writeDecimal(UInt64(v >> 24), at: count)
            put(UInt8(ascii: "."))
            used &+= slab.writeDecimal(UInt64((v >> 16) & 0xff), at: count)
            put(UInt8(ascii: "."))
            used &+= slab.writeDecimal(UInt64((v >> 8) & 0xff), at: count)
            put(UInt8(ascii: "."))
            used &+= slab.writeDecimal(UInt64(v & 0xff), at: count)
        }
        put(UInt8(ascii: "\""))
    }

    /// A quoted, zero-padded lower-case hex number of `width` digits (TCP flags, DNS flags).
    public mutating func stringHex(_ value: UInt64, width: Int) {
        valueStart()
        let w = max(0, width)
        reserve(w &+ 2)
        put(UInt8(ascii: "\""))
        if slab.writeHex(value, width: w, at: count) { used &+= w }
        put(UInt8(ascii: "\""))
    }

    /// A quoted literal prefix followed by a decimal number ("TYPE65534").
    public mutating func string(_ prefix: StaticString, decimal value: UInt64) {
        valueStart()
        raw(UInt8(ascii: "\""))
        raw(prefix)
        decimal(value)
        raw(UInt8(ascii: "\""))
    }

    /// The bytes of a big-endian 32-bit value as a quoted string ("Q050"), escaped.
    public mutating func stringFourCC(_ value: UInt32) {
        valueStart()
        raw(UInt8(ascii: "\""))
        for i in 0..<4 { escaped(UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32(i)))) }
        raw(UInt8(ascii: "\""))
    }

    /// Lower-case hex of bytes (hashes, fingerprints).
    public mutating func hex(_ v: ByteView) {
        valueStart()
        raw(UInt8(ascii: "\""))
        v.forEachByte { b in
            raw(hexDigit(b >> 4))
            raw(hexDigit(b & 0xf))
        }
        raw(UInt8(ascii: "\""))
    }

    /// Suricata's timestamp form: `2024-01-02T03:04:05.123456+0000`.
    public mutating func timestamp(_ t: Timestamp) {
        valueStart()
        if t.seconds != cachedSecond { cacheCivil(t.seconds) }
        // 33 bytes: the 21-byte prefix, six digits of microseconds, `+0000"`.
        reserve(33)
        // 24 bytes stored, 21 kept: the digits below overwrite the three padding bytes.
        if slab.write(word: cachedPrefix.0, at: count), slab.write(word: cachedPrefix.1, at: count &+ 8),
           slab.write(word: cachedPrefix.2, at: count &+ 16) {
            used &+= 21
        }
        if slab.writeDecimal(UInt64(max(0, t.micros)), width: 6, at: count) { used &+= 6 }
        raw("+0000\"")
    }

    /// Byte `i` (0..<24) of the three little-endian words of the cached prefix.
    static func set(_ w: inout (UInt64, UInt64, UInt64), _ i: Int, _ b: UInt8) {
        let v = UInt64(b) << UInt64((i & 7) * 8)
        switch i >> 3 {
        case 0: w.0 |= v
        case 1: w.1 |= v
        default: w.2 |= v
        }
    }

    /// The low `width` digits of max(0, v), zero-padded, at byte `i` of the cached prefix.
    static func digits(_ w: inout (UInt64, UInt64, UInt64), _ v: Int, _ width: Int, at i: Int) {
        var x = max(0, v)
        var k = width
        while k > 0 {
            k -= 1
            set(&w, i + k, UInt8(ascii: "0") &+ UInt8(x % 10))
            x /= 10
        }
    }

    /// Formats the date part of a second once; events of the same second reuse it.
    @inline(never)
    mutating func cacheCivil(_ seconds: Int64) {
        let c = Timestamp(seconds: seconds, micros: 0).civil
        var w: (UInt64, UInt64, UInt64) = (0, 0, 0)
        // Static helpers with `inout`, not nested functions capturing `w`: a debug build boxes
        // a captured variable on the heap, one allocation per new second on the packet path.
        Self.set(&w, 0, UInt8(ascii: "\""))
        Self.digits(&w, c.year, 4, at: 1); Self.set(&w, 5, UInt8(ascii: "-")); Self.digits(&w, c.month, 2, at: 6)
        Self.set(&w, 8, UInt8(ascii: "-")); Self.digits(&w, c.day, 2, at: 9)
        Self.set(&w, 11, UInt8(ascii: "T")); Self.digits(&w, c.hour, 2, at: 12)
        Self.set(&w, 14, UInt8(ascii: ":")); Self.digits(&w, c.minute, 2, at: 15)
        Self.set(&w, 17, UInt8(ascii: ":")); Self.digits(&w, c.second, 2, at: 18)
        Self.set(&w, 20, UInt8(ascii: "."))
        cachedPrefix = w
        cachedSecond = seconds
    }

    mutating func digits(_ v: Int, _ width: Int) {
        var d = 1
        for _ in 1..<width { d *= 10 }
        let x = Swift.max(0, v)
        while d > 0 {
            raw(UInt8(ascii: "0") &+ UInt8((x / d) % 10))
            d /= 10
        }
    }

    mutating func escaped(_ b: UInt8) {
        switch b {
        case UInt8(ascii: "\""): raw(UInt8(ascii: "\\")); raw(b)
        case UInt8(ascii: "\\"): raw(UInt8(ascii: "\\")); raw(b)
        case 0x0a: raw("\\n")
        case 0x0d: raw("\\r")
        case 0x09: raw("\\t")
        case 0x20..<0x7f: raw(b)
        default:
            raw("\\u00")
            raw(hexDigit(b >> 4))
            raw(hexDigit(b & 0xf))
        }
    }

    /// For `String` values, which are valid UTF-8: keep multi-byte sequences as they are.
    mutating func escapedUTF8(_ b: UInt8) {
        if b >= 0x80 { raw(b) } else { escaped(b) }
    }
}
