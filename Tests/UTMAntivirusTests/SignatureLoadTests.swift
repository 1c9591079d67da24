import Foundation
import Testing
import UTMAntivirus

@Suite struct SignatureLoadTests {
    @Test func hashLinesGoodAndBad() {
        var b = AVDatabaseBuilder()
        b.load("""
        # comment
        44d88612fea8a8f36de82e1278abb02f:68:Eicar-Hash
        4a2a55f483339bf55fae340f82d3b42001b30e16:*:Sha1-Any:73
        71e7b604d18aefd839e51a39c88df8383bb4c071dc31f87f00a2b5df580d4495:544:Sha256
        zz:1:bad
        44d88612fea8a8f36de82e1278abb02f:abc:badsize
        44d88612fea8a8f36de82e1278abb02f:68
        """, format: .hdb)
        #expect(b.report.loaded[.hdb] == 3)
        #expect(b.report.malformedCount == 3)
    }

    @Test func ndbLinesGoodAndBad() {
        var b = AVDatabaseBuilder()
        b.load("""
        A:0:*:41424344
        B:0:0:4142??44{2-4}45(46|4748)*4950
        C:0:EOF-4:5a5a5a5a
        D:1:EP+10:41424344
        E:0:10,20:4142434445
        F:0:*:4x
        G:0:*:*4142
        H:0:*:a?4142?b
        I:0:*:!(41|42)434445
        """, format: .ndb)
        #expect(b.report.loaded[.ndb] == 7 - 1)
        #expect(b.report.unsupportedCount == 1)  // EP+
        #expect(b.report.malformedCount == 2)    // bad hex, leading *
    }

    @Test func ldbLines() {
        var b = AVDatabaseBuilder()
        b.load("""
        L1;Engine:51-255,Target:0;0&1;41424344;45464748
        L2;Target:0;(0|1)>1;41424344;45464748
        L3;Target:1,IconGroup1:X;0;41424344
        L4;Target:0;0&2;41424344;45464748
        L5;Target:0;0;0/abc/i
        L6;Target:0;0;6869646465::iw
        """, format: .ldb)
        #expect(b.report.loaded[.ldb] == 3)
        #expect(b.report.unsupportedCount == 2)
        #expect(b.report.malformedCount == 1)
    }

    /// Every signature file of a supported format in ClamAV's unit-test inputs loads (lines may
    /// be reported unsupported, never fatal); counts are printed for the report.
    @Test func clamavUnitTestInputsLoad() throws {
        guard let e = FileManager.default.enumerator(atPath: AV.unitInputs) else {
            if AV.inCI { Issue.record("shared corpus missing") }
            return
        }
        var b = AVDatabaseBuilder()
        var files = 0
        for case let rel as String in e {
            guard let f = AVSignatureFormat.from(fileName: rel), let text = AV.read(AV.unitInputs + "/" + rel) else { continue }
            b.load(text, format: f, source: rel)
            files += 1
        }
        let r = b.report
        let db = b.build()
        print("unit-test inputs: \(files) files; loaded \(r.loaded.map { "\($0.key.rawValue)=\($0.value)" }.sorted().joined(separator: " ")); unsupported \(r.unsupportedCount), malformed \(r.malformedCount)")
        for (reason, n) in r.reasons.sorted(by: { $0.key < $1.key }) { print("  \(n)× \(reason)") }
        #expect(files > 50)
        #expect(r.malformedCount == 0)
        #expect(db.hashSignatureCount >= 20)
    }
}
