// libFuzzer target: the whole input as one SIP datagram, then a prefix of it (length from the
// first byte), as the probe and the parser see them; then the whole input as a SIP-over-TCP
// stream in chunks (size from the second byte) through one `SIPStream` with a small buffer
// that lives across inputs. Must never trap; every field range the message hands out is read
// in full so ASan sees a bad one.
import UTMCore
import UTMAppLayer

nonisolated(unsafe) var fuzzSIPStream = SIPStream(maxMessage: 256)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSIP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let all = ByteView(unsafeStart: UnsafeRawPointer(data), count: size)
    var sum = 0
    func read(_ v: ByteView) {
        if SIP.probe(v) { sum &+= 1 }
        guard let m = SIP.parse(v) else { return }
        for f in [m.startLine, m.method, m.uri, m.version, m.code, m.reason, m.from, m.to, m.callID,
                  m.cseq, m.via, m.userAgent, m.contentType] {
            m.field(f, in: v).forEachByte { sum &+= Int($0) }
        }
        sum &+= Int(m.statusCode) &+ (m.contentLength ?? 0) &+ m.headerCount
        if m.headersComplete, let body = v.suffix(from: m.bodyOffset) { sum &+= body.count }
    }
    read(all)
    let cut = Int(all.u8(0) ?? 0) * 4
    if cut < all.count { read(all.prefix(cut)) }
    fuzzSIPStream.reset()
    let chunk = Int(all.u8(1) ?? 0) + 1
    var rest = all
    while !rest.isEmpty {
        fuzzSIPStream.feed(rest.prefix(chunk), direction: chunk & 1 == 0 ? .toServer : .toClient, gap: false) { _, msg in
            read(msg)
        }
        rest = rest.dropFirst(chunk)
    }
    return sum == -1 ? 1 : 0
}
