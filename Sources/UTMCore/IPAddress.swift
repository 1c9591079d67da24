/// An IPv4 or IPv6 address as two 64-bit words, so flow keys hash and compare without pointers.
///
/// IPv4 addresses are stored in the low 32 bits of `lo` with `hi == 0` and `isV6 == false`.
@frozen
public struct IPAddress: Hashable, Sendable, Comparable {
    public var hi: UInt64
    public var lo: UInt64
    public var isV6: Bool

    @inlinable
    public init(v4 value: UInt32) {
        hi = 0; lo = UInt64(value); isV6 = false
    }

    @inlinable
    public init(v6Hi hi: UInt64, lo: UInt64) {
        self.hi = hi; self.lo = lo; isV6 = true
    }

    public static let none = IPAddress(v4: 0)

    /// Reads a 4- or 16-byte address from a view.
    @inlinable
    public static func read(_ v: ByteView, at offset: Int, v6: Bool) -> IPAddress? {
        if v6 {
            guard let h = v.u64(offset), let l = v.u64(offset + 8) else { return nil }
            return IPAddress(v6Hi: h, lo: l)
        }
        guard let a = v.u32(offset) else { return nil }
        return IPAddress(v4: a)
    }

    public var v4Value: UInt32 { UInt32(truncatingIfNeeded: lo) }

    @inlinable
    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        if a.isV6 != b.isV6 { return !a.isV6 }
        if a.hi != b.hi { return a.hi < b.hi }
        return a.lo < b.lo
    }

    /// Parses dotted-quad or RFC 4291 text (configuration, tests). Not for the packet path.
    public init?(_ text: String) {
        if !text.contains(":") {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var v: UInt32 = 0
            for p in parts {
                guard let n = UInt8(p) else { return nil }
                v = v << 8 | UInt32(n)
            }
            self.init(v4: v)
            return
        }
        var head: [UInt16] = [], tail: [UInt16] = []
        // Split on the one "::" allowed.
        let u = Array(text.utf8)
        var halves: [String] = []
        var i = 0, cut = -1
        while i + 1 < u.count {
            if u[i] == UInt8(ascii: ":") && u[i + 1] == UInt8(ascii: ":") {
                if cut >= 0 { return nil }
                cut = i
                i += 2
                continue
            }
            i += 1
        }
        if cut >= 0 {
            halves = [String(decoding: u[..<cut], as: UTF8.self), String(decoding: u[(cut + 2)...], as: UTF8.self)]
        } else {
            halves = [text]
        }
        guard halves.count <= 2 else { return nil }
        func groups(_ s: String) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out: [UInt16] = []
            for g in s.split(separator: ":", omittingEmptySubsequences: false) {
                if g.contains("."), let v4 = IPAddress(String(g)) {
                    out.append(UInt16(v4.v4Value >> 16)); out.append(UInt16(v4.v4Value & 0xffff))
                } else {
                    guard g.count <= 4, let n = UInt16(g, radix: 16) else { return nil }
                    out.append(n)
                }
            }
            return out
        }
        guard let h = groups(halves[0]) else { return nil }
        head = h
        if halves.count == 2 {
            guard let t = groups(halves[1]) else { return nil }
            tail = t
            guard head.count + tail.count <= 7 else { return nil }
        } else {
            guard head.count == 8 else { return nil }
        }
        let all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        var hi: UInt64 = 0, lo: UInt64 = 0
        for i in 0..<4 { hi = hi << 16 | UInt64(all[i]) }
        for i in 4..<8 { lo = lo << 16 | UInt64(all[i]) }
        self.init(v6Hi: hi, lo: lo)
    }

    /// Writes the textual form (dotted quad, or RFC 5952 compressed IPv6) through `emit`.
    /// Allocation-free: EVE output calls it per event.
    @inlinable
    public func write(_ emit: (UInt8) -> Void) {
        if !isV6 {
            let v = v4Value
            for i in 0..<4 {
                if i > 0 { emit(UInt8(ascii: ".")) }
                writeDecimal(UInt64((v >> (24 - 8 * UInt32(i))) & 0xff), emit)
            }
            return
        }
        // Group i of 8.
        func group(_ i: Int) -> UInt16 {
            i < 4 ? UInt16(truncatingIfNeeded: hi >> (48 - 16 * UInt64(i)))
                  : UInt16(truncatingIfNeeded: lo >> (48 - 16 * UInt64(i - 4)))
        }
        // Longest run of zero groups (length >= 2), first one on ties.
        var bestStart = -1, bestLen = 0, curStart = -1, curLen = 0
        for i in 0..<8 {
            if group(i) == 0 {
                if curStart < 0 { curStart = i; curLen = 0 }
                curLen += 1
                if curLen > bestLen { bestLen = curLen; bestStart = curStart }
            } else {
                curStart = -1
            }
        }
        if bestLen < 2 { bestStart = -1 }
        // IPv4-mapped ::ffff:a.b.c.d
        if hi == 0, lo >> 32 == 0xffff {
            for c in "::ffff:".utf8 { emit(c) }
            IPAddress(v4: UInt32(truncatingIfNeeded: lo)).write(emit)
            return
        }
        var i = 0
        while i < 8 {
            if i == bestStart {
                emit(UInt8(ascii: ":")); emit(UInt8(ascii: ":"))
                i += bestLen
                continue
            }
            if i > 0 && i != bestStart + bestLen || (i > 0 && bestStart < 0) {
                emit(UInt8(ascii: ":"))
            }
            writeHex(UInt64(group(i)), emit)
            i += 1
        }
    }

    /// The form Suricata's EVE uses: dotted quad, or all eight IPv6 groups with leading zeros
    /// ("2001:0db8:0000:…"). Tools that match EVE addresses as strings expect exactly this.
    @inlinable
    public func writeExpanded(_ emit: (UInt8) -> Void) {
        guard isV6 else { write(emit); return }
        for i in 0..<8 {
            if i > 0 { emit(UInt8(ascii: ":")) }
            let word = i < 4 ? hi : lo
            let g = UInt16(truncatingIfNeeded: word >> (48 - 16 * UInt64(i & 3)))
            emit(hexDigit(UInt8(g >> 12))); emit(hexDigit(UInt8((g >> 8) & 0xf)))
            emit(hexDigit(UInt8((g >> 4) & 0xf))); emit(hexDigit(UInt8(g & 0xf)))
        }
    }

    /// The textual form as a `String` (slow paths, tests).
    public var description: String {
        var bytes: [UInt8] = []
        write { bytes.append($0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension IPAddress: CustomStringConvertible {}

@inlinable
public func writeDecimal(_ value: UInt64, _ emit: (UInt8) -> Void) {
    if value == 0 { emit(UInt8(ascii: "0")); return }
    var divisor: UInt64 = 1
    while value / divisor >= 10 { divisor &*= 10 }
    var v = value
    while divisor > 0 {
        emit(UInt8(ascii: "0") &+ UInt8(v / divisor))
        v %= divisor
        divisor /= 10
    }
}

@inlinable
public func writeHex(_ value: UInt64, _ emit: (UInt8) -> Void) {
    if value == 0 { emit(UInt8(ascii: "0")); return }
    var shift = 60
    while (value >> UInt64(shift)) & 0xf == 0 { shift -= 4 }
    while shift >= 0 {
        emit(hexDigit(UInt8((value >> UInt64(shift)) & 0xf)))
        shift -= 4
    }
}

@inlinable @inline(__always)
public func hexDigit(_ n: UInt8) -> UInt8 {
    n < 10 ? UInt8(ascii: "0") &+ n : UInt8(ascii: "a") &+ n &- 10
}
