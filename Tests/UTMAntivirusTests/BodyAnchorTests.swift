import Foundation
import Testing
import UTMAntivirus

/// Body signatures through the shared UTMMatch automaton: long anchors found across every
/// split of the input, wildcards/alternatives/offsets verified around the hit, and a naive
/// reference matcher agreeing with the streaming one on random signatures and inputs.
@Suite struct BodyAnchorTests {
    /// Verdict name for every chunk size 1...17 plus a few large ones; all must agree.
    func allSplits(_ db: AVDatabase, _ bytes: [UInt8]) -> String? {
        let whole = AV.name(AV.scan(bytes, db: db))
        for c in Array(1...17) + [64, 1460, 4097] {
            #expect(AV.name(AV.scan(bytes, db: db, chunk: c)) == whole, "chunk \(c)")
        }
        return whole
    }

    @Test func longAnchorSplitAtEveryByte() {
        // A 24-byte literal around a nibble wildcard and an alternative.
        let sig = "Long:0:*:" + Array("the-quick-brown-fox-jump".utf8).map { String(format: "%02x", $0) }.joined() + "?a(7a|7b)"
        let db = AV.db([(sig, .ndb)])
        #expect(db.matcher.anchorPatterns == 1)
        let hit = Array("....xx the-quick-brown-fox-jump\u{6a}z tail".utf8)
        #expect(allSplits(db, hit) == "Long")
        // Same literal, the wildcard's fixed nibble wrong.
        #expect(allSplits(db, Array("the-quick-brown-fox-jump\u{7b}z".utf8)) == nil)
        // Literal only, alternative missing.
        #expect(allSplits(db, Array("the-quick-brown-fox-jump\u{6a}q".utf8)) == nil)
    }

    @Test func bytesBeforeTheAnchorAreVerifiedFromTheWindow() {
        // The anchor is the long run at the end; the variable-length prefix lies in earlier
        // chunks when split, so it must come from the carried window.
        let db = AV.db([("Pre:0:*:4142{0-300}(43|44)0102030405060708090a0b0c", .ndb)])
        var bytes = Array("zzAB".utf8) + [UInt8](repeating: 0x2e, count: 250) + [0x44]
        bytes += Array(1...12) + Array("tail".utf8)
        #expect(allSplits(db, bytes) == "Pre")
        bytes[2] = 0x58  // "XB": the prefix no longer matches
        #expect(allSplits(db, bytes) == nil)
    }

    @Test func twoSegmentsInOneChunkAndAcrossChunks() {
        let db = AV.db([("Two:0:*:6865616465722d6d61726b*747261696c65722d6d61726b", .ndb)])
        #expect(allSplits(db, Array("..header-mark....trailer-mark..".utf8)) == "Two")
        #expect(allSplits(db, Array("..trailer-mark....header-mark..".utf8)) == nil)
    }

    @Test func offsetsAreCheckedAroundTheHit() {
        let db = AV.db([("Off:0:10,4:73656372657473747566", .ndb)])  // "secretstuf" at 10...14
        let pad = { (n: Int) in [UInt8](repeating: 0x2e, count: n) }
        #expect(allSplits(db, pad(12) + Array("secretstuf".utf8)) == "Off")
        #expect(allSplits(db, pad(15) + Array("secretstuf".utf8)) == nil)
        #expect(allSplits(db, pad(9) + Array("secretstuf".utf8)) == nil)
    }

    @Test func caselessLogicalSubsignatureAnchor() {
        let db = AV.db([("Ci;Target:0;0&1;6d616c6963696f75732d6d61726b6572::i;7061796c6f6164", .ldb)])
        #expect(allSplits(db, Array("MALICIOUS-Marker ... payload".utf8)) == "Ci")
        #expect(allSplits(db, Array("MALICIOUS-Marker ... pay_load".utf8)) == nil)
    }

    @Test func sharedAnchorReportsEverySignature() {
        // Two signatures with the same literal: the automaton stores it once and reports both
        // segment ids; the verification picks the one whose tail matches.
        let db = AV.db([("A:0:*:636f6d6d6f6e2d6c69746572616c41", .ndb), ("B:0:*:636f6d6d6f6e2d6c69746572616c42", .ndb)])
        #expect(allSplits(db, Array("..common-literalB..".utf8)) == "B")
        #expect(allSplits(db, Array("..common-literalA..".utf8)) == "A")
    }

    /// Random signatures of the supported token kinds against random inputs with planted
    /// matches: the streaming automaton path must agree with a naive reference, in any split.
    @Test func randomSignaturesAgreeWithNaiveMatcher() {
        var rng = SplitMix(seed: 7)
        let alphabet: [UInt8] = Array("abcdXYZ01".utf8)
        for round in 0..<60 {
            // lit1 {gap} (alt1|alt2) lit2
            let lit1 = (0..<Int(rng.next() % 6 + 2)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            let lit2 = (0..<Int(rng.next() % 6 + 2)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            let g0 = Int(rng.next() % 4), g1 = g0 + Int(rng.next() % 4)
            let altA = alphabet[Int(rng.next() % UInt64(alphabet.count))]
            let altB = alphabet[Int(rng.next() % UInt64(alphabet.count))]
            let hex = { (b: [UInt8]) in b.map { String(format: "%02x", $0) }.joined() }
            let sig = "R:0:*:\(hex(lit1)){\(g0)-\(g1)}(\(hex([altA]))|\(hex([altB])))\(hex(lit2))"
            let db = AV.db([(sig, .ndb)])
            var input = (0..<Int(rng.next() % 200)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            if rng.next() % 2 == 0 {
                let gap = (0..<(g0 + Int(rng.next() % UInt64(g1 - g0 + 1)))).map { _ in UInt8(0x2e) }
                let plant = lit1 + gap + [rng.next() % 2 == 0 ? altA : altB] + lit2
                let at = input.isEmpty ? 0 : Int(rng.next() % UInt64(input.count))
                input.insert(contentsOf: plant, at: at)
            }
            let expected = naive(lit1, g0, g1, [altA, altB], lit2, input)
            #expect(allSplits(db, input) == (expected ? "R" : nil), "round \(round) \(sig)")
        }
    }

    func naive(_ l1: [UInt8], _ g0: Int, _ g1: Int, _ alts: [UInt8], _ l2: [UInt8], _ s: [UInt8]) -> Bool {
        func at(_ p: Int, _ lit: [UInt8]) -> Bool { p + lit.count <= s.count && Array(s[p..<(p + lit.count)]) == lit }
        for i in 0..<s.count where at(i, l1) {
            for g in g0...g1 {
                let a = i + l1.count + g
                if a < s.count, alts.contains(s[a]), at(a + 1, l2) { return true }
            }
        }
        return false
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
