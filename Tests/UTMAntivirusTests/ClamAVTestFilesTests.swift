import Foundation
import Testing
import UTMAntivirus

/// Debian's clamav-testfiles scanned with ClamAV's unit-test signature (clamav.hdb), side by
/// side with clamscan on the same files and signature (clamscan finds all 44).
@Suite struct ClamAVTestFilesTests {
    @Test func detectsTestFilesWithUnitTestSignature() throws {
        let hdbPath = AV.unitInputs + "/clamav.hdb"
        guard let hdb = AV.read(hdbPath), let files = try? FileManager.default.contentsOfDirectory(atPath: AV.testFiles) else {
            if AV.inCI { Issue.record("clamav-testfiles or the shared corpus is missing (CI=true)") }
            else { print("skipped: install clamav-testfiles and ../shared/corpus to run ClamAVTestFilesTests") }
            return
        }
        var b = AVDatabaseBuilder()
        b.load(hdb, format: .hdb, source: "clamav.hdb")
        let db = b.build()
        #expect(db.report.loaded[.hdb] == 1)
        var detected: [String] = []
        var missed: [String] = []
        for f in files.sorted() {
            guard let bytes = AV.read(AV.testFiles + "/" + f) else { continue }
            let r = AV.scan(bytes, db: db, chunk: 1460)
            if AV.name(r) != nil { detected.append(f) } else { missed.append(f) }
            // Any split gives the same verdict.
            #expect(AV.scan(bytes, db: db).verdict == r.verdict, "\(f)")
        }
        print("clamav-testfiles: Mimamori \(detected.count)/\(files.count), clamscan 44/44")
        print("  detected: \(detected.joined(separator: " "))")
        print("  missed:   \(missed.joined(separator: " "))")
        #expect(detected.count >= 14)  // 12 before bzip2
    }
}
