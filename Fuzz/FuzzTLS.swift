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
    }
    if let sh = parser.serverHello { _ = parser.withField(sh.random) { $0.count } }
    // Session 7: the server's certificate list (tls.certs) is lent entry by entry; every
    // index up to and past the count must stay within the kept message.
    var k = 0
    while k <= parser.certificateCount && k < 64 {
        _ = parser.withCertificate(k) { $0.count }
        k += 1
    }
    _ = parser.takeEvents()
    return 0
}
