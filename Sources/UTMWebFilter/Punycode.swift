/// Punycode (RFC 3492): the encoding IDNA uses for A-labels ("bücher" → "bcher-kva").
///
/// Implemented from the RFC's pseudocode (section 6) with its parameter values (section 5).
/// Encoding is allocation-free and writes into a caller's buffer, because the lookup path
/// converts Unicode hosts from HTTP and SNI fields; decoding is for tests and tools.
public enum Punycode {
    @usableFromInline static let base: UInt32 = 36
    @usableFromInline static let tMin: UInt32 = 1
    @usableFromInline static let tMax: UInt32 = 26
    @usableFromInline static let skew: UInt32 = 38
    @usableFromInline static let damp: UInt32 = 700
    @usableFromInline static let initialBias: UInt32 = 72
    @usableFromInline static let initialN: UInt32 = 128

    /// Bias adaptation (RFC 3492 6.1).
    @inlinable
    static func adapt(_ delta: UInt32, _ numPoints: UInt32, _ firstTime: Bool) -> UInt32 {
        var d = firstTime ? delta / damp : delta / 2
        d += d / numPoints
        var k: UInt32 = 0
        while d > ((base - tMin) * tMax) / 2 {
            d /= base - tMin
            k += base
        }
        return k + (base - tMin + 1) * d / (d + skew)
    }

    @inlinable @inline(__always)
    static func digit(_ d: UInt32) -> UInt8 {
        d < 26 ? UInt8(truncatingIfNeeded: d) &+ 0x61 : UInt8(truncatingIfNeeded: d) &- 26 &+ 0x30
    }

    @inlinable @inline(__always)
    static func put(_ b: UInt8, _ out: UnsafeMutableRawBufferPointer, _ w: inout Int) -> Bool {
        guard w < out.count else { return false }
        out[w] = b; w += 1
        return true
    }

    /// Encodes `input` code points (RFC 3492 6.3) into `out`. Returns the number of bytes
    /// written, or nil on overflow of the buffer or of the arithmetic.
    @inlinable
    public static func encode(_ input: UnsafeBufferPointer<UInt32>, into out: UnsafeMutableRawBufferPointer) -> Int? {
        var n = initialN, delta: UInt32 = 0, bias = initialBias
        var w = 0
        var basic: UInt32 = 0
        for c in input where c < 0x80 {
            guard put(UInt8(truncatingIfNeeded: c), out, &w) else { return nil }
            basic += 1
        }
        var h = basic
        if basic > 0 { guard put(UInt8(ascii: "-"), out, &w) else { return nil } }
        let total = UInt32(input.count)
        while h < total {
            var m = UInt32.max
            for c in input where c >= n && c < m { m = c }
            let (p, o1) = (m - n).multipliedReportingOverflow(by: h + 1)
            guard !o1 else { return nil }
            let (d2, o2) = delta.addingReportingOverflow(p)
            guard !o2 else { return nil }
            delta = d2
            n = m
            for c in input {
                if c < n {
                    delta &+= 1
                    guard delta != 0 else { return nil }
                }
                if c == n {
                    var q = delta
                    var k = base
                    while true {
                        let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                        if q < t { break }
                        guard put(digit(t + (q - t) % (base - t)), out, &w) else { return nil }
                        q = (q - t) / (base - t)
                        k += base
                    }
                    guard put(digit(q), out, &w) else { return nil }
                    bias = adapt(delta, h + 1, h == basic)
                    delta = 0
                    h += 1
                }
            }
            delta += 1
            n += 1
        }
        return w
    }

    /// Convenience for tests and tools: encodes a string's scalars.
    public static func encode(_ s: String) -> String? {
        let scalars = s.unicodeScalars.map { $0.value }
        var out = [UInt8](repeating: 0, count: scalars.count * 8 + 8)
        let n = scalars.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBytes { encode(input, into: $0) }
        }
        guard let n else { return nil }
        return String(decoding: out[0..<n], as: UTF8.self)
    }

    /// Decodes (RFC 3492 6.2). Tools and tests only: allocates.
    public static func decode(_ s: String) -> String? {
        let bytes = Array(s.utf8)
        var output: [UInt32] = []
        var start = 0
        if let dash = bytes.lastIndex(of: UInt8(ascii: "-")) {
            for b in bytes[..<dash] {
                guard b < 0x80 else { return nil }
                output.append(UInt32(b))
            }
            start = dash + 1
        }
        var n = initialN, i: UInt32 = 0, bias = initialBias
        var pos = start
        while pos < bytes.count {
            let oldi = i
            var w: UInt32 = 1
            var k = base
            while true {
                guard pos < bytes.count else { return nil }
                let b = bytes[pos]; pos += 1
                let d: UInt32
                switch b {
                case 0x30...0x39: d = UInt32(b) - 0x30 + 26
                case 0x41...0x5a: d = UInt32(b) - 0x41
                case 0x61...0x7a: d = UInt32(b) - 0x61
                default: return nil
                }
                let (dw, o1) = d.multipliedReportingOverflow(by: w)
                guard !o1 else { return nil }
                let (ni, o2) = i.addingReportingOverflow(dw)
                guard !o2 else { return nil }
                i = ni
                let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                if d < t { break }
                let (nw, o3) = w.multipliedReportingOverflow(by: base - t)
                guard !o3 else { return nil }
                w = nw
                k += base
            }
            let count = UInt32(output.count) + 1
            bias = adapt(i - oldi, count, oldi == 0)
            let (nn, o4) = n.addingReportingOverflow(i / count)
            guard !o4 else { return nil }
            n = nn
            i %= count
            guard Unicode.Scalar(n) != nil else { return nil }
            output.insert(n, at: Int(i))
            i += 1
        }
        var s = ""
        for c in output {
            guard let u = Unicode.Scalar(c) else { return nil }
            s.unicodeScalars.append(u)
        }
        return s
    }
}
