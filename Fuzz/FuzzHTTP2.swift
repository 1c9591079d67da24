// libFuzzer target for the HTTP/2 parser (frames, HPACK, Huffman). Built by tools/fuzz.sh.
import UTMCore
import UTMAppLayer

/// The input drives both directions: each piece starts with a control byte whose low bits pick
/// the length, bit 6 the direction and bit 7 a gap. Before the pieces, the client's preface is
/// fed once (unless the first byte is odd), so the fuzzer reaches frames and HPACK at once;
/// with bit 1 of the first byte set, stream 1 is opened as an h2c upgrade first.
/// The parser is reused across inputs, as the engine's pool reuses it across flows. DATA is
/// delivered as body (decoded when the stream's content-encoding is gzip or deflate).
nonisolated(unsafe) private var parser = HTTP2Parser()
nonisolated(unsafe) private var ready: [Int] = []
private let preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP2(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    parser.reset()
    let all = ByteView(unsafeStart: UnsafeRawPointer(data), count: size)
    var sink = 0
    if let first = all.u8(0), first & 1 == 0 {
        preface.withByteView { parser.feed($0, direction: .toServer, gap: false) }
    }
    if let first = all.u8(0), first & 2 != 0 {
        // An h2c upgrade: stream 1 from an HTTP/1 request (method, target, host from the input).
        parser.startUpgraded(method: all.prefix(3), path: all.prefix(9), authority: all.prefix(5))
    }
    var pos = 1
    while pos < all.count {
        guard let control = all.u8(pos) else { break }
        pos += 1
        let length = Int(control & 0x3f) &* 7 &+ 1
        let piece = all.slice(pos, min(length, all.count - pos)) ?? .empty
        pos += piece.count
        let direction: Direction = control & 0x40 == 0 ? .toServer : .toClient
        // Bodies (DATA, gzip/deflate decoded per stream) are lent to the closure and read.
        parser.feed(piece, direction: direction, gap: control & 0x80 != 0 && control & 0x3f == 0x3f) { body in
            sink &+= body.data.count &+ Int(body.data.u8(0) ?? 0) &+ Int(truncatingIfNeeded: body.offset)
        }
        while let (s, response) = parser.takeNewHeaders() {
            parser.buildHeaderLines(s, response: response)
            sink &+= parser.withHeaderLines { $0.count } &+ parser.withAllHeaderLines { $0.count }
        }
        parser.readyIndices(into: &ready)
        for i in ready {
            let st = parser.stream(i)
            sink &+= parser.withField(i, response: false, st.request.path) { $0.count } &+ st.response.statusCode
            parser.consume(i)
        }
    }
    parser.finish()
    parser.readyIndices(into: &ready)
    for i in ready { parser.consume(i) }
    return sink == -1 ? 1 : 0
}
