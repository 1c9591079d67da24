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
/// The engine's buffer composition (http.header_names, http.start, joined values, normalized
/// host and URI) on every ready transaction's fields.
nonisolated(unsafe) private var composer = HTTPBufferComposer()
/// A composer whose scratch store a header block overflows, so http.header's fall-back path
/// (nothing kept, `complete` false) runs on hostile blocks too.
nonisolated(unsafe) private var tiny = HTTPBufferComposer(capacity: 96)

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
            sink &+= compose(t)
        }
        if control & 0x3f == 0x3f { parser.consumeReady() }
    }
    parser.finish { chunk in sink &+= chunk.data.count }
    parser.consumeReady()
    return sink == -1 ? 1 : 0
}

/// Runs every composition on one transaction's request and response fields.
private func compose(_ t: HTTPTransaction) -> Int {
    var n = 0
    composer.reset()
    n &+= parser.withField(t.uri) { composer.normalizedURI($0)?.count ?? 0 }
    n &+= parser.withField(t.host) { composer.lowerHost($0, stripPort: true, trailingDots: true)?.count ?? 0 }
    for (line, block) in [(t.statusLine, t.responseHeaders), (t.requestBlock, t.requestHeaders)] {
        parser.withField(block) { b in
            // Folds are joined and a blank-led first line is cut (libhtp's way): no complete
            // line of a kept block starts with a blank. (A message cut by a gap or the end
            // keeps its unfinished last line as it came: that one may.)
            var k = 0
            while k < b.count {
                guard let lf = b.firstIndex(of: 0x0A, from: k) else { break }
                if lf > k { precondition(b.u8(k) != 0x20 && b.u8(k) != 0x09) }
                k = lf + 1
            }
            composer.reset()
            let merge = composer.loadSpans(b)
            n &+= composer.composeNames(b, merge: merge)?.count ?? 0
            n &+= composer.mergedValue(b, "accept", merge: merge)?.count ?? 0
            n &+= composer.mergedValue(b, "content-length", merge: false)?.count ?? 0
            n &+= parser.withField(line) { composer.composeStart($0, b, merge: merge)?.count ?? 0 }
            // http.header and the header instances, merged and line by line, in both stores.
            n &+= checkHeaders(&composer, b, merge: merge)
            // A shared http.start is what composeStart builds.
            parser.withField(line) { l in
                let r = composer.composeHeaders(b, merge: merge, cookie: "cookie", startLine: l)
                if let shared = r.start {
                    let own = composer.composeStart(l, b, merge: merge) ?? .empty
                    // (composeStart cuts silently when the store fills: compare whole ones.)
                    if !composer.scratch.truncated {
                        precondition(shared.count == own.count && shared.starts(with: own))
                    }
                }
            }
            n &+= checkHeaders(&composer, b, merge: false)
            n &+= composer.joinedHosts(b, raw: false)?.count ?? 0
            n &+= composer.joinedHosts(b, raw: true)?.count ?? 0
            tiny.reset()
            let tinyMerge = tiny.loadSpans(b)
            n &+= checkHeaders(&tiny, b, merge: tinyMerge)
        }
    }
    return n
}

/// http.header's composition, with what must hold of it: the header part is a prefix of the
/// instances, a complete one ends with CRLF, an incomplete one kept nothing.
private func checkHeaders(_ c: inout HTTPBufferComposer, _ b: ByteView, merge: Bool) -> Int {
    let used = c.scratch.used
    let r = c.composeHeaders(b, merge: merge, cookie: "cookie")
    if !r.complete {
        precondition(c.scratch.used == used && r.header == nil && r.lines == nil)
        return 0
    }
    let h = r.header ?? .empty
    let l = r.lines ?? .empty
    precondition(h.count <= l.count && l.starts(with: h))
    if l.count > 0 { precondition(l.u8(l.count - 1) == 0x0A && l.u8(l.count - 2) == 0x0D) }
    return l.count
}
