import UTMCore

/// Base64 as Suricata's `base64_decode` reads it (RFC 4648 mode): the standard alphabet,
/// decoding stops at the first byte outside it (`=` padding included: what follows is not
/// decoded), a last group of 2 or 3 characters yields 1 or 2 bytes, a lone character none.
/// Input is hostile bytes: every read is checked, output never passes `capacity`, no
/// allocation (the output is the verifier's slab). Fuzz target: `Fuzz/FuzzBase64.swift`.
public enum Base64Decoder {
    /// 0...63 for alphabet bytes, 0xFF for every other byte.
    @usableFromInline
    static let table: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    /// Decodes `input` into `out` from offset 0, writing at most `capacity` bytes (clamped
    /// to the slab). Returns how many bytes were written.
    public static func decode(_ input: ByteView, into out: ByteSlab, capacity: Int) -> Int {
        let limit = Swift.min(capacity, out.capacity)
        var written = 0
        var group: UInt32 = 0
        var inGroup = 0
        var i = 0
        while i < input.count {
            let v = table[Int(input[checked: i])]
            if v == 0xFF { break }
            group = group << 6 | UInt32(v)
            inGroup &+= 1
            if inGroup == 4 {
                guard written &+ 3 <= limit else { return written }
                out.write(UInt8(truncatingIfNeeded: group >> 16), at: written)
                out.write(UInt8(truncatingIfNeeded: group >> 8), at: written &+ 1)
                out.write(UInt8(truncatingIfNeeded: group), at: written &+ 2)
                written &+= 3
                group = 0
                inGroup = 0
            }
            i &+= 1
        }
        // A short last group: 2 characters carry 1 byte, 3 carry 2.
        if inGroup >= 2 {
            group <<= UInt32(6 * (4 - inGroup))
            let n = inGroup - 1
            var k = 0
            while k < n, written < limit {
                out.write(UInt8(truncatingIfNeeded: group >> UInt32(16 - 8 * k)), at: written)
                written &+= 1
                k &+= 1
            }
        }
        return written
    }
}
