import UTMCore

// ServerHello and HelloRetryRequest (RFC 8446 section 4.1.3 / 4.1.4): the negotiated version,
// cipher and ALPN, and JA3S.

/// What the server chose. Fields are kept in the parser's store.
public struct TLSServerHello: Sendable {
    public var legacyVersion: UInt16 = 0
    /// Negotiated version: supported_versions when present (TLS 1.3), else `legacyVersion`.
    public var version: UInt16 = 0
    public var cipherSuite: UInt16 = 0
    public var compressionMethod: UInt8 = 0
    public var sessionIDLength: Int = 0
    public var extensionCount: Int = 0
    /// The ALPN protocol the server selected.
    public var alpn: Field = .absent
    /// JA3S string (version,cipher,extensions) and its MD5 in hex.
    public var ja3s: Field = .absent
    public var ja3sHash: Field = .absent
    /// A HelloRetryRequest (ServerHello with the special random): the client will send a second
    /// ClientHello and the real ServerHello follows.
    public var isHelloRetryRequest: Bool = false
    /// The 32-byte server random, for `tls.random` rules.
    public var random: Field = .absent

    public init() {}
}

/// SHA-256("HelloRetryRequest"), the random value that marks an HRR.
private let helloRetryRandom: InlineArray<32, UInt8> = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
]

extension TLSParser {
    mutating func parseServerHello(_ body: ByteView) {
        var hello = TLSServerHello()
        guard let version = body.u16(0), let sidLen = body.u8(34), sidLen <= 32,
              let cipher = body.u16(35 + Int(sidLen)), let comp = body.u8(37 + Int(sidLen)) else {
            events.insert(.malformed)
            return
        }
        var isHRR = true
        for i in 0..<32 where body.u8(2 + i) != helloRetryRandom[i] { isHRR = false; break }
        hello.legacyVersion = version
        if let random = body.slice(2, 32) { hello.random = store.append(random) }
        hello.version = version
        hello.cipherSuite = cipher
        hello.compressionMethod = comp
        hello.sessionIDLength = Int(sidLen)
        hello.isHelloRetryRequest = isHRR

        let extOff = 38 + Int(sidLen)
        var exts = ByteView.empty
        if let extLen = body.u16(extOff) {
            if let e = body.slice(extOff + 2, Int(extLen)) {
                exts = e
            } else {
                events.insert(.malformed)
                exts = .empty
            }
        }
        var off = 0
        while off < exts.count {
            guard let type = exts.u16(off), let len = exts.u16(off + 2),
                  let data = exts.slice(off + 4, Int(len)) else {
                events.insert(.malformed)
                exts = exts.prefix(off)
                break
            }
            off += 4 + Int(len)
            if !isGREASE(type) { hello.extensionCount &+= 1 }
            switch type {
            case TLSExtensionType.supportedVersions:
                if let v = data.u16(0) { hello.version = v }
            case TLSExtensionType.alpn:
                var all = Field.absent
                var first = ByteView.empty
                parseALPN(data, &all, &hello.alpn, &first)
            default:
                break
            }
        }
        hello.ja3s = writeJA3S(version: version, cipher: cipher, extensions: exts, hash: &hello.ja3sHash)
        serverHello = hello
        if isHRR {
            events.insert(.helloRetryRequest)
        } else {
            events.insert(.serverHelloDone)
            // From here on TLS 1.3 encrypts everything, both ways.
            if hello.version == 0x0304 { setEncrypted() }
        }
    }
}
