import UTMCore

// MD5 (RFC 1321) and SHA-256 (FIPS 180-4) for the JA3 and JA4 fingerprints.
//
// Why pure Swift and not UTMCrypto: fingerprints are computed on the packet path for every
// ClientHello, the inputs are a few hundred bytes, and the state must live inside a value-type
// parser without a heap-allocated C context. Both hashers are streaming values over
// `InlineArray`s: no allocation, no unsafe code. They are not used for anything secret.

/// Streaming MD5 over bytes: JA3/JA3S hashes are defined as MD5 of the JA3 string.
public struct MD5: Sendable {
    @usableFromInline var state: InlineArray<4, UInt32>
    @usableFromInline var block: InlineArray<64, UInt8>
    @usableFromInline var blockUsed: Int
    @usableFromInline var total: UInt64

    public init() {
        state = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476]
        block = .init(repeating: 0)
        blockUsed = 0
        total = 0
    }

    /// Per-round left-rotate amounts and sine-derived constants from RFC 1321, section 3.4.
    private static let shifts: InlineArray<16, UInt32> = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]
    private static let k: InlineArray<64, UInt32> = [
        0xd76a_a478, 0xe8c7_b756, 0x2420_70db, 0xc1bd_ceee, 0xf57c_0faf, 0x4787_c62a, 0xa830_4613, 0xfd46_9501,
        0x6980_98d8, 0x8b44_f7af, 0xffff_5bb1, 0x895c_d7be, 0x6b90_1122, 0xfd98_7193, 0xa679_438e, 0x49b4_0821,
        0xf61e_2562, 0xc040_b340, 0x265e_5a51, 0xe9b6_c7aa, 0xd62f_105d, 0x0244_1453, 0xd8a1_e681, 0xe7d3_fbc8,
        0x21e1_cde6, 0xc337_07d6, 0xf4d5_0d87, 0x455a_14ed, 0xa9e3_e905, 0xfcef_a3f8, 0x676f_02d9, 0x8d2a_4c8a,
        0xfffa_3942, 0x8771_f681, 0x6d9d_6122, 0xfde5_380c, 0xa4be_ea44, 0x4bde_cfa9, 0xf6bb_4b60, 0xbebf_bc70,
        0x289b_7ec6, 0xeaa1_27fa, 0xd4ef_3085, 0x0488_1d05, 0xd9d4_d039, 0xe6db_99e5, 0x1fa2_7cf8, 0xc4ac_5665,
        0xf429_2244, 0x432a_ff97, 0xab94_23a7, 0xfc93_a039, 0x655b_59c3, 0x8f0c_cc92, 0xffef_f47d, 0x8584_5dd1,
        0x6fa8_7e4f, 0xfe2c_e6e0, 0xa301_4314, 0x4e08_11a1, 0xf753_7e82, 0xbd3a_f235, 0x2ad7_d2bb, 0xeb86_d391,
    ]

    public mutating func update(_ byte: UInt8) {
        block[blockUsed] = byte
        blockUsed &+= 1
        total &+= 1
        if blockUsed == 64 { compress(); blockUsed = 0 }
    }

    public mutating func update(_ bytes: ByteView) {
        bytes.forEachByte { update($0) }
    }

    private mutating func compress() {
        var m = InlineArray<16, UInt32>(repeating: 0)
        for i in 0..<16 {
            m[i] = UInt32(block[i * 4]) | UInt32(block[i * 4 + 1]) << 8
                | UInt32(block[i * 4 + 2]) << 16 | UInt32(block[i * 4 + 3]) << 24
        }
        var a = state[0], b = state[1], c = state[2], d = state[3]
        for i in 0..<64 {
            var f: UInt32
            var g: Int
            switch i >> 4 {
            case 0: f = (b & c) | (~b & d); g = i
            case 1: f = (d & b) | (~d & c); g = (5 &* i &+ 1) & 15
            case 2: f = b ^ c ^ d; g = (3 &* i &+ 5) & 15
            default: f = c ^ (b | ~d); g = (7 &* i) & 15
            }
            f = f &+ a &+ MD5.k[i] &+ m[g]
            a = d; d = c; c = b
            let s = MD5.shifts[(i >> 4) << 2 | (i & 3)]
            b = b &+ (f << s | f >> (32 - s))
        }
        state[0] &+= a; state[1] &+= b; state[2] &+= c; state[3] &+= d
    }

    /// Pads, finishes and returns the 16-byte digest. The hasher must be re-initialised to reuse.
    public mutating func finish() -> InlineArray<16, UInt8> {
        let bits = total &* 8
        update(0x80)
        while blockUsed != 56 { update(0) }
        for i in 0..<8 { update(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i)))) }
        var out = InlineArray<16, UInt8>(repeating: 0)
        for i in 0..<16 { out[i] = UInt8(truncatingIfNeeded: state[i >> 2] >> (8 * UInt32(i & 3))) }
        return out
    }
}

/// Streaming SHA-256: JA4 hashes are the first 12 hex digits of SHA-256 of the sorted lists.
public struct SHA256: Sendable {
    @usableFromInline var state: InlineArray<8, UInt32>
    @usableFromInline var block: InlineArray<64, UInt8>
    @usableFromInline var blockUsed: Int
    @usableFromInline var total: UInt64

    public init() {
        state = [0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19]
        block = .init(repeating: 0)
        blockUsed = 0
        total = 0
    }

    /// FIPS 180-4 section 4.2.2 round constants.
    private static let k: InlineArray<64, UInt32> = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    public mutating func update(_ byte: UInt8) {
        block[blockUsed] = byte
        blockUsed &+= 1
        total &+= 1
        if blockUsed == 64 { compress(); blockUsed = 0 }
    }

    public mutating func update(_ bytes: ByteView) {
        bytes.forEachByte { update($0) }
    }

    @inline(__always) private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { x >> n | x << (32 - n) }

    private mutating func compress() {
        var w = InlineArray<64, UInt32>(repeating: 0)
        for i in 0..<16 {
            w[i] = UInt32(block[i * 4]) << 24 | UInt32(block[i * 4 + 1]) << 16
                | UInt32(block[i * 4 + 2]) << 8 | UInt32(block[i * 4 + 3])
        }
        for i in 16..<64 {
            let s0 = SHA256.rotr(w[i - 15], 7) ^ SHA256.rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
            let s1 = SHA256.rotr(w[i - 2], 17) ^ SHA256.rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
            w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
        }
        var a = state[0], b = state[1], c = state[2], d = state[3]
        var e = state[4], f = state[5], g = state[6], h = state[7]
        for i in 0..<64 {
            let s1 = SHA256.rotr(e, 6) ^ SHA256.rotr(e, 11) ^ SHA256.rotr(e, 25)
            let ch = (e & f) ^ (~e & g)
            let t1 = h &+ s1 &+ ch &+ SHA256.k[i] &+ w[i]
            let s0 = SHA256.rotr(a, 2) ^ SHA256.rotr(a, 13) ^ SHA256.rotr(a, 22)
            let maj = (a & b) ^ (a & c) ^ (b & c)
            let t2 = s0 &+ maj
            h = g; g = f; f = e; e = d &+ t1
            d = c; c = b; b = a; a = t1 &+ t2
        }
        state[0] &+= a; state[1] &+= b; state[2] &+= c; state[3] &+= d
        state[4] &+= e; state[5] &+= f; state[6] &+= g; state[7] &+= h
    }

    /// Pads, finishes and returns the 32-byte digest. The hasher must be re-initialised to reuse.
    public mutating func finish() -> InlineArray<32, UInt8> {
        let bits = total &* 8
        update(0x80)
        while blockUsed != 56 { update(0) }
        for i in 0..<8 { update(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(7 - i)))) }
        var out = InlineArray<32, UInt8>(repeating: 0)
        for i in 0..<32 { out[i] = UInt8(truncatingIfNeeded: state[i >> 2] >> (8 * UInt32(3 - (i & 3)))) }
        return out
    }
}

/// Lower-case hex digit for a nibble: every fingerprint is written in lower-case hex.
@inline(__always)
func hexDigit(_ v: UInt8) -> UInt8 {
    let n = v & 0x0f
    return n < 10 ? 0x30 &+ n : 0x61 &+ n &- 10
}

/// Writes a digest (or its first `count` bytes) as lower-case hex into `store`. Appends only.
@discardableResult
func appendHex<let N: Int>(_ digest: InlineArray<N, UInt8>, count: Int, to store: inout FieldStore) -> Field {
    let start = store.used
    var i = 0
    while i < count && i < N {
        _ = store.appendByte(hexDigit(digest[i] >> 4))
        _ = store.appendByte(hexDigit(digest[i]))
        i &+= 1
    }
    return Field(offset: Int32(start), length: Int32(store.used &- start))
}
