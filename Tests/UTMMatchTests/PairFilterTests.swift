import Testing
import UTMCore
@testable import UTMMatch

/// The stage-1 loop (C, CUTMMatch) in both table forms against the naive matcher: a wrong slot,
/// a lost position at a block or buffer end, or a hash collision treated as a miss would drop
/// matches here.
@Suite struct PairFilterTests {
    /// Both loops on the same set must give the naive matcher's result, whole and split.
    func checkBothFilters(_ pats: [Pat], _ text: [UInt8], _ note: String, splits: Bool = true) -> Bool {
        let set = compile(pats)
        let want = naive(pats, text)
        for hashed in [false, true] {
            let s = set.withFilter(hashed: hashed)
            #expect((s.filter.shift != 0) == hashed)
            let got = scanAll(s, text)
            #expect(got == want, "\(note) hashed=\(hashed) whole")
            if got != want { return false }
            if splits && text.count > 1 {
                let cut = text.count / 3 + 1
                let cuts = [cut, min(text.count, cut + 5), min(text.count, cut + 13)]
                let stream = scanChunks(s, text, cuts: cuts)
                #expect(stream == want, "\(note) hashed=\(hashed) split at \(cuts)")
                if stream != want { return false }
            }
        }
        return true
    }

    @Test func randomSetsBothFilters() {
        var r = SplitMix(s: 91)
        for round in 0 ..< 400 {
            let (pats, text) = randomCase(&r, maxPatterns: round % 8 == 0 ? 150 : 10, textLength: r.int(120))
            if !checkBothFilters(pats, text, "round \(round)") { return }
        }
    }

    /// Every buffer length 0...40 with patterns of one to six bytes placed at the first and
    /// the last positions (the C loop's eight-position blocks, its tail, and the trie walks of
    /// the last three positions all meet them).
    @Test func patternsAtBufferEnds() {
        var r = SplitMix(s: 92)
        for len in 0 ... 40 {
            for plen in 1 ... 6 where plen <= max(len, 1) {
                var text = (0 ..< len).map { _ in UInt8(0x61 + r.int(3)) }
                let head: [UInt8] = (0 ..< plen).map { k in [0x00, 0x41, 0xff, 0x7a, 0x2f, 0x5a][k] }
                let tail: [UInt8] = (0 ..< plen).map { k in [0x5a, 0x00, 0x61, 0xff, 0x20, 0x41][k] }
                if len >= plen {
                    text.replaceSubrange(0 ..< plen, with: head)
                    text.replaceSubrange(len - plen ..< len, with: tail)
                }
                let pats = [Pat(bytes: head, nocase: false, id: 1), Pat(bytes: tail, nocase: true, id: 2),
                            Pat(bytes: Array(tail.prefix(max(1, plen - 1))), nocase: false, id: 3),
                            Pat(bytes: Array("abc".utf8), nocase: true, id: 4), Pat(bytes: Array("AB".utf8), nocase: false, id: 5)]
                if !checkBothFilters(pats, text, "len \(len) plen \(plen)") { return }
            }
        }
    }

    /// Random bytes over the whole alphabet into the smallest hashed table (1,024 slots): most
    /// slots collide, so many candidates are false and must be rejected, none lost.
    @Test func collidingHashSlots() {
        var r = SplitMix(s: 93)
        for round in 0 ..< 60 {
            let text = (0 ..< 600).map { _ in UInt8(r.int(256)) }
            var pats: [Pat] = []
            for id in 0 ..< 1 + r.int(40) {
                let len = 1 + r.int(8)
                let s = r.int(text.count - len)
                pats.append(Pat(bytes: r.int(2) == 0 ? Array(text[s ..< s + len]) : (0 ..< len).map { _ in UInt8(r.int(256)) },
                                nocase: r.int(2) == 0, id: UInt32(id)))
            }
            if !checkBothFilters(pats, text, "round \(round)") { return }
        }
    }

    /// Nocase patterns of four bytes and more, found in every case mix of the text: the table
    /// entries of every case variant of both pairs must be lit.
    @Test func nocaseVariantsInBothTables() {
        let pats = [Pat(bytes: Array("GeT /".utf8), nocase: true, id: 1), Pat(bytes: Array("uSeR-aGeNt".utf8), nocase: true, id: 2),
                    Pat(bytes: Array("Host".utf8), nocase: false, id: 3), Pat(bytes: Array("ab".utf8), nocase: true, id: 4),
                    Pat(bytes: Array("x-Y".utf8), nocase: true, id: 5)]
        let text = Array("get / GET / gEt /\r\nUSER-AGENT: user-agent Host host HOST AB aB X-y x-Y".utf8)
        #expect(checkBothFilters(pats, text, "nocase"))
        #expect(naive(pats, text).count == 10)
    }

    /// A set big enough for the direct table by size, and a small one that gets a hashed table.
    @Test func tableFormBySize() {
        var r = SplitMix(s: 94)
        let big = (0 ..< 3000).map { id in
            Pat(bytes: (0 ..< 4 + r.int(6)).map { _ in UInt8(r.int(256)) }, nocase: false, id: UInt32(id))
        }
        #expect(compile(big).filter.shift == 0)
        #expect(compile(big).filter.table.count == 65536)
        let small = [Pat(bytes: Array("attack".utf8), nocase: true, id: 1)]
        #expect(compile(small).filter.shift != 0)
        #expect(compile(small).filter.table.count == 1 << PairFilter.minBits)
        var text = (0 ..< 5000).map { _ in UInt8(r.int(256)) }
        for k in 0 ..< 40 { let p = big[k * 70].bytes; text.replaceSubrange(k * 120 ..< k * 120 + p.count, with: p) }
        let set = compile(big)
        let got = scanAll(set, text)
        #expect(got == scanAll(set.withFilter(hashed: true), text))
        #expect(got.count >= 40)
    }

    /// The serialized form keeps its two 64 KiB tables: rebuilt from the tries, they are the
    /// builder's bytes, so a loaded set serializes to the same blob and scans the same.
    @Test func serializedPairTablesAreRebuiltExactly() {
        var r = SplitMix(s: 95)
        for _ in 0 ..< 20 {
            let (pats, text) = randomCase(&r, maxPatterns: 80, textLength: 300)
            let set = compile(pats)
            var lowered: [[UInt8]] = []
            for p in pats where !p.bytes.isEmpty { lowered.append(p.bytes.map(asciiLower)) }
            let direct = CompiledPatternSet.pairTables(lowered)
            let rebuilt = CompiledPatternSet.pairTables(set.patternTexts())
            #expect(direct.pairA == rebuilt.pairA && direct.pairB == rebuilt.pairB)
            let blob = set.serialized()
            let back = blob.withByteView { CompiledPatternSet(serialized: $0) }
            #expect(back?.serialized() == blob)
            if let back { #expect(scanAll(back, text) == naive(pats, text)) }
        }
    }
}
