import UTMCore

/// A set of IPv4 and IPv6 addresses as sorted, disjoint, non-adjacent closed ranges: lookups are
/// a binary search, and negation and nesting reduce to set algebra at load time.
public struct AddressSet: Sendable, Equatable {
    public var v4: [ClosedRange<UInt32>]
    public var v6: [ClosedRange<UInt128>]

    public init(v4: [ClosedRange<UInt32>] = [], v6: [ClosedRange<UInt128>] = []) {
        self.v4 = RangeAlgebra.normalize(v4)
        self.v6 = RangeAlgebra.normalize(v6)
    }

    public static let any = AddressSet(v4: [0 ... UInt32.max], v6: [0 ... UInt128.max])
    public static let empty = AddressSet()

    public var isAny: Bool { self == .any }
    public var isEmpty: Bool { v4.isEmpty && v6.isEmpty }

    @inlinable
    public func contains(_ a: IPAddress) -> Bool {
        if a.isV6 {
            return RangeAlgebra.contains(v6, UInt128(a.hi) << 64 | UInt128(a.lo))
        }
        return RangeAlgebra.contains(v4, a.v4Value)
    }

    public func union(_ o: AddressSet) -> AddressSet {
        AddressSet(v4: v4 + o.v4, v6: v6 + o.v6)
    }

    public func subtracting(_ o: AddressSet) -> AddressSet {
        var r = AddressSet()
        r.v4 = RangeAlgebra.subtract(v4, o.v4)
        r.v6 = RangeAlgebra.subtract(v6, o.v6)
        return r
    }

    /// Parses one address or CIDR block (`10.0.0.0/8`, `1.2.3.4`, `2001:db8::/32`).
    public static func parseCIDR(_ text: Substring) -> AddressSet? {
        if let dash = text.firstIndex(of: "-") { return parseRange(text[..<dash], text[text.index(after: dash)...]) }
        var addr = text
        var bits: Int?
        if let slash = text.firstIndex(of: "/") {
            addr = text[..<slash]
            let rest = text[text.index(after: slash)...]
            if let b = Int(rest) {
                bits = b
            } else if let mask = IPAddress(String(rest)), !mask.isV6 {
                // Netmask form 255.255.0.0.
                let m = mask.v4Value
                guard m == 0 || (~m & (~m &+ 1)) == 0 else { return nil }
                bits = m.nonzeroBitCount
            } else {
                return nil
            }
        }
        guard let ip = IPAddress(String(addr)) else { return nil }
        if ip.isV6 {
            let b = bits ?? 128
            guard (0 ... 128).contains(b) else { return nil }
            let v = UInt128(ip.hi) << 64 | UInt128(ip.lo)
            let hostMask: UInt128 = b == 128 ? 0 : (UInt128.max >> b)
            return AddressSet(v6: [(v & ~hostMask) ... (v | hostMask)])
        }
        let b = bits ?? 32
        guard (0 ... 32).contains(b) else { return nil }
        let v = ip.v4Value
        let hostMask: UInt32 = b == 32 ? 0 : (UInt32.max >> b)
        return AddressSet(v4: [(v & ~hostMask) ... (v | hostMask)])
    }
}

extension AddressSet {
    /// `first-last` (Suricata's address range, e.g. `2001:db8::1-2001:db8::ff`): both of the
    /// same family, first not above last.
    static func parseRange(_ a: Substring, _ b: Substring) -> AddressSet? {
        guard let lo = IPAddress(String(a)), let hi = IPAddress(String(b)), lo.isV6 == hi.isV6 else { return nil }
        if lo.isV6 {
            let l = UInt128(lo.hi) << 64 | UInt128(lo.lo), h = UInt128(hi.hi) << 64 | UInt128(hi.lo)
            return l <= h ? AddressSet(v6: [l ... h]) : nil
        }
        return lo.v4Value <= hi.v4Value ? AddressSet(v4: [lo.v4Value ... hi.v4Value]) : nil
    }
}

/// Sorted closed-range algebra shared by address and port sets.
public enum RangeAlgebra {
    public static func normalize<T: FixedWidthInteger>(_ input: [ClosedRange<T>]) -> [ClosedRange<T>] {
        if input.count < 2 { return input }
        let sorted = input.sorted { $0.lowerBound < $1.lowerBound }
        var out: [ClosedRange<T>] = []
        out.reserveCapacity(sorted.count)
        var cur = sorted[0]
        for r in sorted.dropFirst() {
            if cur.upperBound == T.max || r.lowerBound <= cur.upperBound + 1 {
                if r.upperBound > cur.upperBound { cur = cur.lowerBound ... r.upperBound }
            } else {
                out.append(cur)
                cur = r
            }
        }
        out.append(cur)
        return out
    }

    public static func subtract<T: FixedWidthInteger>(_ a: [ClosedRange<T>], _ b: [ClosedRange<T>]) -> [ClosedRange<T>] {
        if b.isEmpty { return a }
        var out: [ClosedRange<T>] = []
        for r in a {
            var pieces = [r]
            for s in b where s.overlaps(r) {
                var next: [ClosedRange<T>] = []
                for p in pieces {
                    if !p.overlaps(s) { next.append(p); continue }
                    if p.lowerBound < s.lowerBound { next.append(p.lowerBound ... s.lowerBound - 1) }
                    if p.upperBound > s.upperBound { next.append(s.upperBound + 1 ... p.upperBound) }
                }
                pieces = next
            }
            out += pieces
        }
        return normalize(out)
    }

    @inlinable
    public static func contains<T: FixedWidthInteger>(_ ranges: [ClosedRange<T>], _ v: T) -> Bool {
        var lo = 0, hi = ranges.count
        while lo < hi {
            let mid = (lo &+ hi) >> 1
            let r = ranges[mid]
            if v < r.lowerBound { hi = mid } else if v > r.upperBound { lo = mid &+ 1 } else { return true }
        }
        return false
    }
}

/// A set of ports as sorted closed ranges.
public struct PortSet: Sendable, Equatable {
    public var ranges: [ClosedRange<UInt16>]

    public init(_ ranges: [ClosedRange<UInt16>] = []) { self.ranges = RangeAlgebra.normalize(ranges) }

    public static let any = PortSet([0 ... UInt16.max])
    public var isAny: Bool { self == .any }

    @inlinable
    public func contains(_ port: UInt16) -> Bool { RangeAlgebra.contains(ranges, port) }

    public func union(_ o: PortSet) -> PortSet { PortSet(ranges + o.ranges) }
    public func subtracting(_ o: PortSet) -> PortSet {
        var r = PortSet(); r.ranges = RangeAlgebra.subtract(ranges, o.ranges); return r
    }
}
