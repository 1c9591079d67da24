import UTMCore

// QUIC long-header packets (RFC 9000 section 17.2, RFC 8999 invariants): variable-length
// integers, the versions whose Initial packets we can open, and the header layout.

/// A QUIC variable-length integer (RFC 9000 section 16) at `offset`: the two top bits of the
/// first byte give the length (1, 2, 4 or 8 bytes). Nil when it runs past the view.
@inlinable
func quicVarint(_ v: ByteView, _ offset: Int) -> (value: UInt64, length: Int)? {
    guard let first = v.u8(offset) else { return nil }
    switch first >> 6 {
    case 0:
        return (UInt64(first), 1)
    case 1:
        guard let x = v.u16(offset) else { return nil }
        return (UInt64(x & 0x3fff), 2)
    case 2:
        guard let x = v.u32(offset) else { return nil }
        return (UInt64(x & 0x3fff_ffff), 4)
    default:
        guard let x = v.u64(offset) else { return nil }
        return (x & 0x3fff_ffff_ffff_ffff, 8)
    }
}

/// The QUIC versions whose Initial packets can be opened, grouped by what differs between them:
/// the Initial salt, the HKDF label prefix and the long-header type numbering.
///
/// Covered and checked against real captures or RFC vectors (see the tests):
/// - `.v1`: 0x00000001 (RFC 9000/9001), and IETF drafts 33 and 34 (0xff000021, 0xff000022),
///   which already used the final salt.
/// - `.v2`: 0x6b3343cf (RFC 9369): its own salt, labels "quicv2 key/iv/hp", renumbered types.
/// - `.draft29`: drafts 29 to 32 (0xff00001d..0xff000020), draft-29 salt.
/// - `.draft23`: drafts 23 to 28 (0xff000017..0xff00001c) and Facebook mvfst's draft-27 based
///   0xfaceb002 and 0xfaceb00e, draft-23 salt.
/// - `.googleT050` / `.googleT051`: Google QUIC with TLS ('T050', 'T051'), IETF header layout,
///   Google's own salts; the CRYPTO stream carries a TLS ClientHello like v1.
/// - `.googleQ050`: Google QUIC 'Q050', IETF header layout and packet protection with Google's
///   salt, but the CRYPTO stream carries a QUIC-crypto CHLO message (tag/value map, SNI in the
///   "SNI" tag), not TLS. Its bytes are delivered as they are; `usesTLS` is false.
///
/// Not covered: drafts before 23 (different salts, and drafts before 17 another header
/// protection), mvfst 0xfaceb001 (draft-22 salt), Google QUIC up to Q046 (its own header
/// layout, CHLO in cleartext).
///
/// Greased 0x?a?a?a?a versions (RFC 9000 15) are tried as `.draft29`, as Wireshark does: a
/// client sends one to force Version Negotiation but still protects its Initial, and the
/// interop clients of nDPI's quic_interop_V capture used the draft-29 salt. A wrong guess
/// cannot pass the AEAD tag, so it costs one failed open.
public enum QUICVersion: UInt8, Sendable, Equatable {
    case v1
    case v2
    case draft29
    case draft23
    case googleT050
    case googleT051
    case googleQ050

    /// Classifies a version field; nil for versions we cannot open.
    @inlinable
    public init?(wire: UInt32) {
        // Plain comparisons rather than range patterns: a range pattern instantiates generic
        // metadata on first use, which the allocation test sees on the first unknown version.
        if wire == 0x0000_0001 || wire == 0xff00_0021 || wire == 0xff00_0022 { self = .v1 }
        else if wire == 0x6b33_43cf { self = .v2 }
        else if wire >= 0xff00_001d && wire <= 0xff00_0020 { self = .draft29 }
        else if (wire >= 0xff00_0017 && wire <= 0xff00_001c) || wire == 0xface_b002 || wire == 0xface_b00e {
            self = .draft23
        }
        else if wire == 0x5430_3530 { self = .googleT050 }
        else if wire == 0x5430_3531 { self = .googleT051 }
        else if wire == 0x5130_3530 { self = .googleQ050 }
        else if wire & 0x0f0f_0f0f == 0x0a0a_0a0a { self = .draft29 }
        else { return nil }
    }

    /// The long-header type bits (0...3) that mean Initial: v2 renumbered them (RFC 9369 3.2).
    @inlinable
    public var initialTypeBits: UInt8 { self == .v2 ? 1 : 0 }

    /// The type bits of a Retry packet.
    @inlinable
    public var retryTypeBits: UInt8 { self == .v2 ? 0 : 3 }

    /// Google's versions keep Google's frame encoding inside IETF packet protection.
    @inlinable
    public var usesGoogleFrames: Bool { self == .googleT050 || self == .googleT051 || self == .googleQ050 }

    /// Whether the CRYPTO stream carries TLS handshake messages (false for Q050's CHLO).
    @inlinable
    public var usesTLS: Bool { self != .googleQ050 }

    /// The Initial salt (20 bytes). Kept for the life of the program, so the view may be kept.
    @inlinable
    var salt: ByteView { QUICSalts.salt(index: Int(rawValue)) }
}

/// The Initial salts, in `QUICVersion` raw-value order. Sources: RFC 9001 section 5.2 (v1),
/// RFC 9369 section 3.3.1 (v2), draft-ietf-quic-tls-29 and -23 section 5.2, and the salts
/// Chromium uses for T050, T051 and Q050. Every one is checked by a test that opens real
/// packets (a wrong salt cannot pass the AEAD tag).
@usableFromInline
enum QUICSalts {
    static let table: [UInt8] = [
        // v1
        0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
        0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
        // v2
        0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
        0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9,
        // draft-29
        0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
        0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99,
        // draft-23
        0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7,
        0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02,
        // T050
        0x7f, 0xf5, 0x79, 0xe5, 0xac, 0xd0, 0x72, 0x91, 0x55, 0x80,
        0x30, 0x4c, 0x43, 0xa2, 0x36, 0x7c, 0x60, 0x48, 0x83, 0x10,
        // T051
        0x7a, 0x4e, 0xde, 0xf4, 0xe7, 0xcc, 0xee, 0x5f, 0xa4, 0x50,
        0x6c, 0x19, 0x12, 0x4f, 0xc8, 0xcc, 0xda, 0x6e, 0x03, 0x3d,
        // Q050
        0x50, 0x45, 0x74, 0xef, 0xd0, 0x66, 0xfe, 0x2f, 0x9d, 0x94,
        0x5c, 0xfc, 0xdb, 0xd3, 0xa7, 0xf0, 0xd3, 0xb5, 0x6b, 0x45,
    ]

    /// Stable storage, filled once, so views of it can be lent without a closure.
    static let slab: ByteSlab = {
        let s = ByteSlab(capacity: table.count)
        table.withByteView { _ = s.write($0, at: 0) }
        return s
    }()

    @usableFromInline
    static func salt(index: Int) -> ByteView { slab.view(index &* 20, 20) ?? .empty }
}

/// Where the parts of one long-header packet lie inside a datagram (offsets from the datagram
/// start). Only packets of a version in `QUICVersion` are parsed past the connection IDs: the
/// rest of the layout is version-specific.
struct QUICLongHeader {
    var start: Int
    var firstByte: UInt8
    var versionWire: UInt32
    var version: QUICVersion
    /// The two long-packet-type bits (meaning depends on the version).
    var typeBits: UInt8
    var dcidOffset: Int
    var dcidLength: Int
    var scidOffset: Int
    var scidLength: Int
    /// Packet number offset; for Retry packets (no Length field) equals `end`.
    var pnOffset: Int
    /// One past the packet's last byte (coalesced packets follow it).
    var end: Int

    var isInitial: Bool { typeBits == version.initialTypeBits }
    var isRetry: Bool { typeBits == version.retryTypeBits }

    /// Parses the long header at `start`. Nil when it is not a long header of a known version
    /// or any length field points outside the datagram.
    static func parse(_ d: ByteView, at start: Int) -> QUICLongHeader? {
        guard let first = d.u8(start), first & 0x80 != 0,
              let wire = d.u32(start &+ 1), let version = QUICVersion(wire: wire),
              let dcidLength = d.u8(start &+ 5), dcidLength <= 20 else { return nil }
        let dcidOffset = start &+ 6
        let scidLenOffset = dcidOffset &+ Int(dcidLength)
        guard let scidLength = d.u8(scidLenOffset), scidLength <= 20 else { return nil }
        let scidOffset = scidLenOffset &+ 1
        var off = scidOffset &+ Int(scidLength)
        guard off <= d.count else { return nil }
        let typeBits = (first >> 4) & 3
        var header = QUICLongHeader(start: start, firstByte: first, versionWire: wire, version: version,
                                    typeBits: typeBits, dcidOffset: dcidOffset, dcidLength: Int(dcidLength),
                                    scidOffset: scidOffset, scidLength: Int(scidLength),
                                    pnOffset: d.count, end: d.count)
        if header.isRetry { return header }
        if header.isInitial {
            // Token Length (i) and Token: Initial packets only.
            guard let token = quicVarint(d, off), token.value <= UInt64(d.count) else { return nil }
            off &+= token.length
            guard Int(token.value) <= d.count &- off else { return nil }
            off &+= Int(token.value)
        }
        guard let length = quicVarint(d, off), length.value <= UInt64(d.count) else { return nil }
        off &+= length.length
        guard Int(length.value) <= d.count &- off else { return nil }
        header.pnOffset = off
        header.end = off &+ Int(length.value)
        return header
    }
}
