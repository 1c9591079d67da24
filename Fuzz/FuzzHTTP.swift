// libFuzzer target for the HTTP parser.
// Build (from the package root, after `swift build --target UTMAppLayer`), e.g.:
//   swiftc -sanitize=fuzzer,address -parse-as-library -I .build/debug/Modules -I Sources/CZlib \
//     Fuzz/FuzzHTTP.swift .build/debug/UTMAppLayer.build/*.o .build/debug/UTMCore.build/*.o \
//     .build/debug/UTMInflate.build/*.o .build/debug/UTMCrypto.build/*.o -lz -lcrypto -o fuzz-http
import UTMCore
import UTMAppLayer

/// The input drives both directions: each piece starts with a control byte whose low bits pick
/// the length, bit 6 the direction and bit 7 a gap. The parser is reused across inputs, as the
/// engine's pool reuses it across flows, so `reset` is fuzzed too.
nonisolated(unsafe) private var parser = HTTPParser()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    parser.reset()
    let all = ByteView(unsafeStart: UnsafeRawPointer(data), count: size)
    var pos = 0
    var sink = 0
    while pos < all.count {
        guard let control = all.u8(pos) else { break }
        pos += 1
        let length = Int(control & 0x3f) &* 7 &+ 1
        let piece = all.slice(pos, min(length, all.count - pos)) ?? .empty
        pos += piece.count
        let direction: Direction = control & 0x40 == 0 ? .toServer : .toClient
        parser.feed(piece, direction: direction, gap: control & 0x80 != 0) { chunk in
            sink &+= chunk.data.count &+ (chunk.isLast ? 1 : 0)
        }
        for i in 0 ..< parser.readyCount {
            let t = parser.ready(i)
            sink &+= parser.withField(t.uri) { $0.count } &+ parser.withField(t.host) { $0.count }
        }
        if control & 0x3f == 0x3f { parser.consumeReady() }
    }
    parser.finish { chunk in sink &+= chunk.data.count }
    parser.consumeReady()
    return sink == -1 ? 1 : 0
}
