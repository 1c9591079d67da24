/// Appends JSON to a reusable byte buffer. EVE output writes every event through it.
///
/// Why not `Codable` or `String`: events are written on the packet path; building them with
/// `String` would allocate per event. The buffer is reserved once and `reset()` keeps it.
/// Raw protocol bytes are escaped so the output is valid JSON whatever the input: control
/// characters and bytes above 0x7f become `\u00XX`, as Suricata prints them.
public struct JSONWriter: Sendable {
    public private(set) var buffer: [UInt8]
    /// One bit per nesting level: set once the level holds a member, so the next one gets a comma.
    var hasMember: UInt64 = 0
    var depth: Int = 0

    public init(capacity: Int = 1 << 16) {
        buffer = []
        buffer.reserveCapacity(capacity)
    }

    public mutating func reset() {
        buffer.removeAll(keepingCapacity: true)
        hasMember = 0
        depth = 0
    }

    public var isEmpty: Bool { buffer.isEmpty }

    @inline(__always)
    mutating func raw(_ b: UInt8) { buffer.append(b) }

    mutating func raw(_ s: StaticString) {
        buffer.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    mutating func separator() {
        let bit: UInt64 = 1 << UInt64(depth & 63)
        if hasMember & bit != 0 { raw(UInt8(ascii: ",")) } else { hasMember |= bit }
    }

    // MARK: Structure

    public mutating func beginObject() {
        if depth > 0 { separatorIfArrayValue() }
        raw(UInt8(ascii: "{"))
        depth += 1
        hasMember &= ~(1 << UInt64(depth & 63))
    }

    public mutating func endObject() {
        raw(UInt8(ascii: "}"))
        depth -= 1
    }

    public mutating func beginArray() {
        if depth > 0 { separatorIfArrayValue() }
        raw(UInt8(ascii: "["))
        depth += 1
        hasMember &= ~(1 << UInt64(depth & 63))
        inArray |= 1 << UInt64(depth & 63)
    }

    public mutating func endArray() {
        inArray &= ~(1 << UInt64(depth & 63))
        raw(UInt8(ascii: "]"))
        depth -= 1
    }

    /// One bit per level: set when that level is an array, whose values need commas themselves.
    var inArray: UInt64 = 0
    /// Set right after a key, whose value must not get a comma.
    var afterKey = false

    mutating func separatorIfArrayValue() {
        if afterKey { afterKey = false; return }
        if inArray & (1 << UInt64(depth & 63)) != 0 { separator() }
    }

    /// Ends the current top-level value with a newline (one EVE event per line).
    public mutating func newline() { raw(UInt8(ascii: "\n")) }

    // MARK: Keys and values

    public mutating func key(_ k: StaticString) {
        separator()
        raw(UInt8(ascii: "\""))
        raw(k)
        raw(UInt8(ascii: "\""))
        raw(UInt8(ascii: ":"))
        afterKey = true
    }

    mutating func valueStart() {
        separatorIfArrayValue()
    }

    public mutating func string(_ v: ByteView) {
        valueStart()
        raw(UInt8(ascii: "\""))
        v.forEachByte { escaped($0) }
        raw(UInt8(ascii: "\""))
    }

    public mutating func string(_ s: StaticString) {
        valueStart()
        raw(UInt8(ascii: "\""))
        raw(s)
        raw(UInt8(ascii: "\""))
    }

    /// Slow path for values built at run time (configuration names, error text).
    public mutating func string(_ s: String) {
        valueStart()
        raw(UInt8(ascii: "\""))
        for b in s.utf8 { escapedUTF8(b) }
        raw(UInt8(ascii: "\""))
    }

    public mutating func int(_ v: Int64) {
        valueStart()
        if v < 0 {
            raw(UInt8(ascii: "-"))
            writeDecimal(v == Int64.min ? UInt64(Int64.max) + 1 : UInt64(-v)) { buffer.append($0) }
        } else {
            writeDecimal(UInt64(v)) { buffer.append($0) }
        }
    }

    public mutating func int(_ v: Int) { int(Int64(v)) }
    public mutating func uint(_ v: UInt64) {
        valueStart()
        writeDecimal(v) { buffer.append($0) }
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
        writeDecimal(UInt64(v / unit)) { buffer.append($0) }
        if places > 0 {
            raw(UInt8(ascii: "."))
            var frac = v % unit, d = unit / 10
            while d > 0 { raw(UInt8(ascii: "0") &+ UInt8(frac / d)); frac %= d; d /= 10 }
        }
    }

    public mutating func bool(_ v: Bool) {
        valueStart()
        raw(v ? "true" : "false")
    }

    public mutating func null() {
        valueStart()
        raw("null")
    }

    public mutating func ip(_ a: IPAddress) {
        valueStart()
        raw(UInt8(ascii: "\""))
        a.write { buffer.append($0) }
        raw(UInt8(ascii: "\""))
    }

    /// A quoted, zero-padded lower-case hex number of `width` digits (TCP flags, DNS flags).
    public mutating func stringHex(_ value: UInt64, width: Int) {
        valueStart()
        raw(UInt8(ascii: "\""))
        var shift = (width - 1) * 4
        while shift >= 0 {
            raw(hexDigit(UInt8((value >> UInt64(shift)) & 0xf)))
            shift -= 4
        }
        raw(UInt8(ascii: "\""))
    }

    /// A quoted literal prefix followed by a decimal number ("TYPE65534").
    public mutating func string(_ prefix: StaticString, decimal value: UInt64) {
        valueStart()
        raw(UInt8(ascii: "\""))
        raw(prefix)
        writeDecimal(value) { buffer.append($0) }
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
            buffer.append(hexDigit(b >> 4))
            buffer.append(hexDigit(b & 0xf))
        }
        raw(UInt8(ascii: "\""))
    }

    /// Suricata's timestamp form: `2024-01-02T03:04:05.123456+0000`.
    public mutating func timestamp(_ t: Timestamp) {
        valueStart()
        let c = t.civil
        raw(UInt8(ascii: "\""))
        digits(c.year, 4); raw(UInt8(ascii: "-")); digits(c.month, 2); raw(UInt8(ascii: "-"))
        digits(c.day, 2); raw(UInt8(ascii: "T")); digits(c.hour, 2); raw(UInt8(ascii: ":"))
        digits(c.minute, 2); raw(UInt8(ascii: ":")); digits(c.second, 2); raw(UInt8(ascii: "."))
        digits(Int(t.micros), 6)
        raw("+0000\"")
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
