// libFuzzer target: the first byte picks the mode and split size, the rest is fed as TLS
// records (both directions) or as QUIC handshake bytes. Must never trap.
import UTMCore
import UTMAppLayer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTLS(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let all = ByteView(unsafeStart: UnsafeRawPointer(data), count: size)
    let control = all.u8(0) ?? 0
    let input = all.dropFirst(1)
    var config = TLSConfig()
    config.isQUIC = control & 0x80 != 0
    // Odd-sized inputs get a tiny handshake buffer, so a Certificate message larger than it
    // (the partial path, session 8) is within reach of small inputs.
    if size & 1 == 1 { config.maxHandshakeSize = 96 }
    var parser = TLSParser(config: config)
    let chunk = Int(control & 0x3f) + 1
    var off = 0
    var direction = Direction.toServer
    while off < input.count {
        let piece = input.dropFirst(off).prefix(chunk)
        if control & 0x80 != 0 {
            parser.feedHandshake(piece, direction: direction)
        } else {
            parser.feed(piece, direction: direction, gap: false)
        }
        if control & 0x40 != 0 { direction = direction.reversed }
        off += chunk
    }
    if let ch = parser.clientHello {
        _ = parser.withField(ch.ja4) { $0.count } + parser.withField(ch.sni) { $0.count }
        _ = parser.withField(ch.random) { $0.count }
        parser.forEachALPN(ch) { _ = $0.count }
    }
    if let sh = parser.serverHello { _ = parser.withField(sh.random) { $0.count } }
    // Session 7: the server's certificate list (tls.certs) is lent entry by entry; every
    // index up to and past the count must stay within the kept message.
    var k = 0
    while k <= parser.certificateCount && k < 64 {
        _ = parser.withCertificate(k) { fuzzX509($0) }
        k += 1
    }
    _ = parser.takeEvents()
    // The X.509 reader straight on the input too (a certificate need not come via TLS).
    fuzzX509(input)
    return 0
}

/// Layout, names, serial and subjectAltName names of a would-be certificate into a small
/// window: must never trap nor write past the window.
func fuzzX509(_ der: ByteView) {
    let slab = ByteSlab(capacity: 512)
    var text = X509Text(slab: slab, start: 0, capacity: 256)
    if let l = X509.layout(der) {
        X509.writeName(l.subject, into: &text)
        X509.writeName(l.issuer, into: &text)
        X509.writeHex(l.serial, separator: 58, upper: true, into: &text)
        X509.forEachDNSName(l.extensions, limit: 256) { text.put($0) }
    }
    X509.writeName(der, into: &text)
}
