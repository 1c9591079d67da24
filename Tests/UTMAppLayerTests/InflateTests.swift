import Testing
import UTMCore
import UTMInflate

/// Inflates `z` fed in pieces (1 = byte by byte, 0 = whole) and returns the output and state.
private func inflateAll(_ inf: Inflater, _ z: [UInt8], piece: Int, format: InflateFormat = .auto,
                        finish: Bool = true) -> ([UInt8], InflateState) {
    inf.reset(format: format)
    var out: [UInt8] = []
    var pos = 0
    while pos < z.count {
        let n = piece == 0 ? z.count : min(piece, z.count - pos)
        _ = z[pos ..< pos + n].withByteView { v in inf.feed(v) { out.append(contentsOf: $0.bytes) } }
        pos += n
    }
    return (out, finish ? inf.finish() : inf.state)
}

/// Named HTTP… so `swift test --filter HTTP` runs it with the parser tests.
@Suite struct HTTPInflateTests {
    let text = Array(String(repeating: "Mimamori inspects bodies. ", count: 3000).utf8)

    @Test func roundTripEveryFormatAndSplit() {
        let inf = Inflater(bufferCapacity: 1000)  // small slab: many output pieces
        for format in [InflateFormat.gzip, .zlib, .raw] {
            let z = Deflate.compress(text, format: format)
            #expect(!z.isEmpty)
            for piece in [0, 1, 3, 64, 1000] {
                let (auto, s1) = inflateAll(inf, z, piece: piece)
                #expect(auto == text && s1 == .finished, "\(format) piece \(piece)")
                #expect(inf.format == format)
                let (explicit, s2) = inflateAll(inf, z, piece: piece, format: format)
                #expect(explicit == text && s2 == .finished)
            }
        }
    }

    @Test func detectsLikeBrowsers() {
        #expect(Inflater.detect(0x1f, 0x8b) == .gzip)
        #expect(Inflater.detect(0x78, 0x9c) == .zlib)
        #expect(Inflater.detect(0x78, 0x01) == .zlib)
        #expect(Inflater.detect(0x78, 0xda) == .zlib)
        #expect(Inflater.detect(0xcb, 0x48) == .raw)
    }

    @Test func corruptAndTruncatedFail() {
        let inf = Inflater()
        var z = Deflate.compress(text, format: .gzip)
        let (_, cutState) = inflateAll(inf, Array(z[..<(z.count / 2)]), piece: 7)
        #expect(cutState == .failed)
        for i in 10 ..< 30 { z[i] = 0xff }
        let (_, bad) = inflateAll(inf, z, piece: 0)
        #expect(bad == .failed)
        let (_, junk) = inflateAll(inf, Array("this is not compressed at all".utf8), piece: 1)
        #expect(junk == .failed)
        let (one, lone) = inflateAll(inf, [0x1f], piece: 1)
        #expect(one.isEmpty && lone == .failed)
        // The same stream object still works afterwards.
        let (ok, st) = inflateAll(inf, Deflate.compress(text, format: .raw), piece: 5)
        #expect(ok == text && st == .finished)
    }

    @Test func bombIsBoundedByOutputAndRatio() {
        let zeros = [UInt8](repeating: 0, count: 10_000_000)
        let z = Deflate.compress(zeros, format: .gzip, level: 9)
        let inf = Inflater(limits: InflateLimits(maxOutput: 1 << 20))
        for piece in [0, 1, 100] {
            let (out, st) = inflateAll(inf, z, piece: piece, finish: false)
            #expect(out.count == 1 << 20, "piece \(piece)")
            #expect(st == .limited)
        }
        // A large output budget: the ratio guard stops it soon after the grace amount.
        let wide = Inflater(limits: InflateLimits(maxOutput: 1 << 40, maxRatio: 100, ratioGrace: 1 << 20))
        for piece in [0, 1, 100] {
            let (out, st) = inflateAll(wide, z, piece: piece, finish: false)
            #expect(st == .limited)
            #expect(out.count < 2 << 20, "piece \(piece)")
        }
    }

    @Test func trailingBytesAreCountedNotInflated() {
        let inf = Inflater()
        let z = Deflate.compress(text, format: .zlib) + Array("garbage".utf8)
        let (out, st) = inflateAll(inf, z, piece: 0)
        #expect(out == text && st == .finished)
        #expect(inf.trailingBytes == 7)
    }
}
