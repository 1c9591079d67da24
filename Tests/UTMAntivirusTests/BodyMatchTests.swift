import Testing
import UTMAntivirus

@Suite struct BodyMatchTests {
    func hits(_ sig: String, _ text: String, format: AVSignatureFormat = .ndb) -> Bool {
        let db = AV.db([(sig, format)])
        let bytes = Array(text.utf8)
        let r = AV.scan(bytes, db: db)
        // Any split gives the same answer.
        for c in [1, 2, 3, 7, 64] { #expect(AV.scan(bytes, db: db, chunk: c).verdict == r.verdict, "chunk \(c)") }
        return AV.name(r) == "S"
    }

    @Test func literalsAndWildcards() {
        #expect(hits("S:0:*:41424344", "xxABCDyy"))
        #expect(!hits("S:0:*:41424344", "xxABCyy"))
        #expect(hits("S:0:*:4142??4445", "ABzDE"))
        #expect(hits("S:0:*:41424?4445", "ABCDE"))           // high nibble 4
        #expect(!hits("S:0:*:41425?4445", "ABCDE"))
        #expect(hits("S:0:*:4142?34445", "ABCDE"))           // low nibble 3
        #expect(hits("S:0:*:41424344*58595a", "ABCD.........XYZ"))
        #expect(!hits("S:0:*:41424344*58595a", "XYZ....ABCD"))
        #expect(hits("S:0:*:41424344{2-4}58595a", "ABCD..XYZ"))
        #expect(hits("S:0:*:41424344{2-4}58595a", "ABCD....XYZ"))
        #expect(!hits("S:0:*:41424344{2-4}58595a", "ABCD.....XYZ"))
        #expect(hits("S:0:*:41424344{300-400}58595a", "ABCD" + String(repeating: ".", count: 350) + "XYZ"))
        #expect(!hits("S:0:*:41424344{300-400}58595a", "ABCD" + String(repeating: ".", count: 450) + "XYZ"))
        #expect(hits("S:0:*:41424344(45|4647)5a", "ABCDFGZ"))
        #expect(hits("S:0:*:41424344(45|4647)5a", "ABCDEZ"))
        #expect(!hits("S:0:*:41424344(45|4647)5a", "ABCDFZ"))
        #expect(hits("S:0:*:41424344!(45|46)5a", "ABCDGZ"))
        #expect(!hits("S:0:*:41424344!(45|46)5a", "ABCDEZ"))
        #expect(hits("S:0:*:41424344[1-2]5a", "ABCD.Z"))
    }

    @Test func offsets() {
        #expect(hits("S:0:0:41424344", "ABCDxxxx"))
        #expect(!hits("S:0:0:41424344", "xABCDxxx"))
        #expect(hits("S:0:2,3:41424344", "xxxABCD"))
        #expect(!hits("S:0:2,3:41424344", "xxxxxxABCD"))
        #expect(hits("S:0:EOF-4:41424344", "xxxxxxABCD"))
        #expect(!hits("S:0:EOF-5:41424344", "xxxxxxABCD"))
        #expect(hits("S:0:3:41??", "xxxAZ"))                   // no anchor: positional
    }

    @Test func targets() {
        #expect(hits("S:1:*:41424344", "MZ......ABCD"))
        #expect(!hits("S:1:*:41424344", "......ABCD"))
    }

    @Test func logical() {
        #expect(hits("S;Target:0;0&1;41424344;58595a", "ABCD....XYZ", format: .ldb))
        #expect(!hits("S;Target:0;0&1;41424344;58595a", "ABCD....", format: .ldb))
        #expect(hits("S;Target:0;0|1;41424344;58595a", "....XYZ", format: .ldb))
        #expect(hits("S;Target:0;0>1;41424344", "ABCD..ABCD", format: .ldb))
        #expect(!hits("S;Target:0;0>1;41424344", "ABCD....", format: .ldb))
        #expect(hits("S;Target:0;0=1;41424344", "ABCD....", format: .ldb))
        #expect(hits("S;Target:0;0;6869646465::i", "..HiDDe..", format: .ldb))
        #expect(hits("S;Target:0;0;6869646465::w", "..h\0i\0d\0d\0e\0..", format: .ldb))
        #expect(hits("S;Target:0;0;3:41424344", "xxxABCD", format: .ldb))
        #expect(!hits("S;Target:0,FileSize:1-5;0;41424344", "xxxABCD", format: .ldb))
    }

    @Test func matchAcrossWindowOfLargeFile() {
        var bytes = [UInt8](repeating: 0x2e, count: 300_000)
        bytes.replaceSubrange(200_000..<200_004, with: Array("ABCD".utf8))
        let db = AV.db([("S:0:*:41424344", .ndb)])
        #expect(AV.name(AV.scan(bytes, db: db, chunk: 1460)) == "S")
        #expect(AV.name(AV.scan(bytes, db: db, chunk: 65536)) == "S")
    }
}
