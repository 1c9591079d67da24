// libFuzzer target: the whole input as one UDP message, then as a DNS-over-TCP stream in
// chunks whose size comes from the first byte. Must never trap.
import UTMCore
import UTMAppLayer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNS(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let all = ByteView(unsafeStart: UnsafeRawPointer(data), count: size)
    var parser = DNSParser()
    if parser.parse(all) {
        for a in parser.message.answers { _ = parser.withField(a.data) { $0.count } }
    }
    let chunk = Int(all.u8(0) ?? 0) + 1
    var off = 0
    var count = 0
    while off < all.count {
        parser.feedStream(all.dropFirst(off).prefix(chunk), direction: .toServer, gap: false) { _, p in
            count += p.message.answerCount
        }
        off += chunk
    }
    return 0
}
