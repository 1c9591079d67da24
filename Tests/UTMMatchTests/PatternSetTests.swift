import Testing
import AllocationCounter
import UTMCore
@testable import UTMMatch

/// Small deterministic generator so failures reproduce.
struct SplitMix {
    var s: UInt64
    mutating func next() -> UInt64 {
        s &+= 0x9E37_79B9_7F4A_7C15
        var z = s
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

struct Match: Hashable, Comparable {
    var id: UInt32
    var end: Int
    static func < (a: Match, b: Match) -> Bool { (a.end, a.id) < (b.end, b.id) }
}

struct Pat { var bytes: [UInt8]; var nocase: Bool; var id: UInt32 }

/// The reference: every pattern compared at every position.
func naive(_ pats: [Pat], _ text: [UInt8]) -> [Match] {
    var out = Set<Match>()
    for p in pats {
        let n = p.bytes.count
        guard n > 0, n <= text.count else { continue }
        for s in 0 ... text.count - n {
            var ok = true
            for k in 0 ..< n {
                let a = text[s + k], b = p.bytes[k]
                if p.nocase ? asciiLower(a) != asciiLower(b) : a != b { ok = false; break }
            }
            if ok { out.insert(Match(id: p.id, end: s + n)) }
        }
    }
    return out.sorted()
}

func compile(_ pats: [Pat]) -> CompiledPatternSet {
    var b = PatternSetBuilder()
    for p in pats { b.add(p.bytes, nocase: p.nocase, id: p.id) }
    return b.compile()
}

func scanAll(_ set: CompiledPatternSet, _ text: [UInt8]) -> [Match] {
    var out: [Match] = []
    text.withByteView { v in set.scan(v) { out.append(Match(id: $0, end: $1)) } }
    return out.sorted()
}

func scanChunks(_ set: CompiledPatternSet, _ text: [UInt8], cuts: [Int]) -> [Match] {
    var out: [Match] = []
    var state = MatchState()
    var start = 0
    for c in cuts + [text.count] {
        text[start ..< c].withByteView { v in set.scan(v, state: &state) { out.append(Match(id: $0, end: $1)) } }
        start = c
    }
    #expect(state.offset == text.count)
    return out.sorted()
}

/// Random pattern sets drawn from a small alphabet (so patterns overlap, nest, and share
/// prefixes and suffixes), plus letters in both cases and the binary extremes.
func randomCase(_ r: inout SplitMix, maxPatterns: Int, textLength: Int) -> ([Pat], [UInt8]) {
    let alphabet: [UInt8] = [0x00, 0xff, 0x41, 0x61, 0x42, 0x62, 0x7a, 0x5a, 0x2f, 0x20, 0x5b, 0x40]
    let k = 2 + r.int(alphabet.count - 1)
    let sigma = Array(alphabet.prefix(k))
    var text = (0 ..< textLength).map { _ in sigma[r.int(sigma.count)] }
    var pats: [Pat] = []
    let np = 1 + r.int(maxPatterns)
    for _ in 0 ..< np {
        let len = 1 + (r.int(4) == 0 ? r.int(40) : r.int(6))
        var bytes: [UInt8]
        if r.int(2) == 0, text.count > len {
            // A substring of the text, sometimes with cases flipped.
            let s = r.int(text.count - len)
            bytes = Array(text[s ..< s + len])
            if r.int(3) == 0 { bytes = bytes.map { b in (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7a ? b ^ 0x20 : b } }
        } else {
            bytes = (0 ..< len).map { _ in sigma[r.int(sigma.count)] }
        }
        pats.append(Pat(bytes: bytes, nocase: r.int(2) == 0, id: UInt32(r.int(np + 3))))
    }
    if r.int(5) == 0 { text = text + text.prefix(r.int(20)) }
    return (pats, text)
}

@Suite struct PatternSetTests {
    @Test func literalExamples() {
        let pats = [Pat(bytes: Array("he".utf8), nocase: false, id: 1),
                    Pat(bytes: Array("she".utf8), nocase: false, id: 2),
                    Pat(bytes: Array("HIS".utf8), nocase: true, id: 3),
                    Pat(bytes: Array("hers".utf8), nocase: false, id: 4),
                    Pat(bytes: [0x00], nocase: false, id: 5),
                    Pat(bytes: Array("he".utf8), nocase: false, id: 6)]
        let text = Array("ushers His\u{0}hErs".utf8)
        let set = compile(pats)
        #expect(scanAll(set, text) == naive(pats, text))
        #expect(scanAll(set, text).contains(Match(id: 3, end: 10)))
        #expect(set.uniquePatterns == 5)
    }

    @Test func randomSetsAgreeWithNaive() {
        var r = SplitMix(s: 1)
        for round in 0 ..< 1500 {
            let (pats, text) = randomCase(&r, maxPatterns: round % 10 == 0 ? 200 : 12, textLength: r.int(300))
            let set = compile(pats)
            let want = naive(pats, text)
            let got = scanAll(set, text)
            #expect(got == want, "round \(round)")
            if got != want { return }
        }
    }

    @Test func anySplitGivesTheSameMatches() {
        var r = SplitMix(s: 2)
        for round in 0 ..< 800 {
            let (pats, text) = randomCase(&r, maxPatterns: 15, textLength: 1 + r.int(120))
            let set = compile(pats)
            let want = naive(pats, text)
            var cuts: [Int] = []
            var c = 0
            let mode = r.int(3)
            while true {
                c += mode == 0 ? 1 : (mode == 1 ? 1 + r.int(4) : 1 + r.int(40))
                if c >= text.count { break }
                cuts.append(c)
            }
            if r.int(4) == 0 { cuts.insert(0, at: 0); cuts.append(cuts.last ?? 0) }  // empty chunks
            let got = scanChunks(set, text, cuts: cuts)
            #expect(got == want, "round \(round) cuts \(cuts)")
            if got != want { return }
        }
    }

    @Test func everySingleSplitPointOfALongMatch() {
        let long = (0 ..< 300).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let pats = [Pat(bytes: long, nocase: false, id: 9), Pat(bytes: Array(long[100 ..< 140]), nocase: true, id: 8)]
        let text = [UInt8](repeating: 0x55, count: 50) + long + [0xff]
        let set = compile(pats)
        let want = naive(pats, text)
        #expect(want.count == 2)
        for cut in 0 ... text.count {
            #expect(scanChunks(set, text, cuts: [cut]) == want)
        }
        #expect(scanChunks(set, text, cuts: Array(1 ..< text.count)) == want)
    }

    @Test func emptyAndDegenerate() {
        let set = PatternSetBuilder().compile()
        #expect(scanAll(set, Array("anything".utf8)).isEmpty)
        let one = compile([Pat(bytes: [0xff], nocase: false, id: 0)])
        #expect(scanAll(one, [0xff, 0xff, 0]).count == 2)
        #expect(scanAll(one, []).isEmpty)
    }

    @Test func serializationRoundTrip() {
        var r = SplitMix(s: 3)
        for _ in 0 ..< 50 {
            let (pats, text) = randomCase(&r, maxPatterns: 60, textLength: 200)
            let set = compile(pats)
            let blob = set.serialized()
            guard let back = blob.withByteView({ CompiledPatternSet(serialized: $0) }) else {
                Issue.record("round trip failed"); return
            }
            #expect(back.serialized() == blob)
            #expect(scanAll(back, text) == naive(pats, text))
        }
    }

    @Test func damagedBlobsAreRefusedNotTrapped() {
        var r = SplitMix(s: 4)
        let (pats, text) = randomCase(&r, maxPatterns: 40, textLength: 100)
        let blob = compile(pats).serialized()
        for len in 0 ..< blob.count {
            #expect(blob.prefix(len).withByteView { CompiledPatternSet(serialized: $0) } == nil)
        }
        for _ in 0 ..< 3000 {
            var bad = blob
            let flips = 1 + r.int(3)
            for _ in 0 ..< flips { bad[r.int(bad.count)] ^= UInt8(1 << r.int(8)) }
            if let s = bad.withByteView({ CompiledPatternSet(serialized: $0) }) {
                _ = scanAll(s, text)  // must not trap; only a flip that cancels out gets here
            }
        }
    }

    /// Tampering behind a recomputed checksum: structure validation must still hold the line.
    @Test func tamperedWithValidChecksumNeverTraps() {
        var r = SplitMix(s: 5)
        let (pats, text) = randomCase(&r, maxPatterns: 40, textLength: 200)
        let blob = compile(pats).serialized()
        var accepted = 0
        for _ in 0 ..< 5000 {
            var bad = Array(blob.dropLast(8))
            let pos = 4 + r.int(bad.count - 4)
            bad[pos] = r.int(2) == 0 ? UInt8(r.int(256)) : bad[pos] ^ 1
            var w = BlobWriter(); w.out = bad; w.u64(fnv1a(bad))
            if let s = w.out.withByteView({ CompiledPatternSet(serialized: $0) }) {
                accepted += 1
                _ = scanAll(s, text)
                _ = scanChunks(s, text, cuts: [1, 7, 50, 51])
            }
        }
        print("tampered blobs that still validate (scanned safely): \(accepted) of 5000")
    }

    @Test func largeSetCompiles() {
        var r = SplitMix(s: 6)
        var b = PatternSetBuilder()
        var pats: [Pat] = []
        for id in 0 ..< 20000 {
            let len = 4 + r.int(30)
            let p = Pat(bytes: (0 ..< len).map { _ in UInt8(0x20 + r.int(90)) }, nocase: r.int(2) == 0, id: UInt32(id))
            pats.append(p)
            b.add(p.bytes, nocase: p.nocase, id: p.id)
        }
        let set = b.compile()
        var text = (0 ..< 20000).map { _ in UInt8(r.int(256)) }
        for k in 0 ..< 50 { let p = pats[k * 300].bytes; text.replaceSubrange(k * 400 ..< k * 400 + p.count, with: p) }
        let got = scanAll(set, text)
        #expect(got == naive(pats.filter { _ in true }, text))
        #expect(got.count >= 50)
    }
}

@Suite(.serialized) struct PatternSetAllocationTests {
    @Test func scanningDoesNotAllocate() {
        guard allocationCounterWorks() else { return }
        var r = SplitMix(s: 7)
        let (pats, text) = randomCase(&r, maxPatterns: 100, textLength: 2000)
        let set = compile(pats)
        var hits = 0
        var state = MatchState()
        text.withByteView { v in set.scan(v) { _, _ in hits += 1 } }  // warm up
        let n = text.withByteView { v in
            countAllocations {
                set.scan(v) { _, _ in hits += 1 }
                set.scan(v.prefix(777), state: &state) { _, _ in hits += 1 }
                set.scan(v.dropFirst(777), state: &state) { _, _ in hits += 1 }
            }
        }
        #expect(hits > 0)
        #expect(n == 0, "scan allocated \(n) times")
    }
}
