import ArgumentParser
import Foundation
import UTMAntivirus
import UTMCore
import UTMSystem

/// `utmctl scan`: the antivirus engine on files, the way `clamscan` is used — for checking a
/// signature database against samples and for the benchmark (tools/avbench.sh), which compares
/// both tools on the same files and database.
struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Scan files with ClamAV signature files (like clamscan), and time it.",
        discussion: """
            Prints `PATH: NAME FOUND` for each detection (as clamscan does), then one summary \
            line on stderr: files, bytes, scan CPU seconds and MB/s on one core, database load \
            time, body-signature anchors, peak RSS. Directories are scanned recursively; \
            --db takes signature files or a directory of them (.hdb .hsb .ndb .ldb ...).
            """
    )

    @Option(name: .long, help: "Signature file or directory (repeatable).")
    var db: [String] = []

    @Option(name: .long, help: "Bytes per feed call (a TCP payload is ~1460).")
    var chunk: Int = 65536

    @Flag(name: .long, help: "Skip the fileinfo MD5/SHA-256 digests (hash signatures still work).")
    var noFileinfoDigests = false

    @Argument(help: "Files or directories to scan.")
    var paths: [String]

    func run() throws {
        let fm = FileManager.default
        let t0 = MonotonicClock.nanoseconds()
        var builder = AVDatabaseBuilder()
        var dbFiles: [String] = []
        for p in db {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: p, isDirectory: &isDir) else { throw ValidationError("--db \(p): no such file") }
            if isDir.boolValue {
                for f in ((try? fm.contentsOfDirectory(atPath: p)) ?? []).sorted() { dbFiles.append(p + "/" + f) }
            } else {
                dbFiles.append(p)
            }
        }
        for f in dbFiles {
            guard let format = AVSignatureFormat.from(fileName: f) else { continue }
            guard let data = fm.contents(atPath: f) else { throw ValidationError("--db \(f): cannot read the file") }
            builder.load([UInt8](data), format: format, source: f)
        }
        let database = builder.build()
        let loadSeconds = MonotonicClock.seconds(since: t0)
        let r = database.report
        if r.unsupportedCount + r.malformedCount > 0 {
            FileHandle.standardError.write(Data("warning: \(r.unsupportedCount) unsupported, \(r.malformedCount) malformed signature lines skipped\n".utf8))
        }

        var files: [String] = []
        for p in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: p, isDirectory: &isDir) else { throw ValidationError("\(p): no such file") }
            if isDir.boolValue {
                let e = fm.enumerator(atPath: p)
                var found: [String] = []
                while let f = e?.nextObject() as? String {
                    var d: ObjCBool = false
                    if fm.fileExists(atPath: p + "/" + f, isDirectory: &d), !d.boolValue { found.append(p + "/" + f) }
                }
                files += found.sorted()
            } else {
                files.append(p)
            }
        }

        var config = AVScanConfig()
        if noFileinfoDigests { config.fileinfoDigests = [] }
        let scanner = AVScanner(database: database, config: config, sessions: 1)
        let step = max(1, chunk)
        var total = 0, infected = 0, cpu = 0.0
        for path in files {
            // Read outside the timed part: the figure is the engine's, not the disk's.
            guard let data = fm.contents(atPath: path) else {
                FileHandle.standardError.write(Data("\(path): cannot read\n".utf8))
                continue
            }
            let c0 = ProcessStats.cpuSeconds()
            guard let s = scanner.begin(declaredSize: noFileinfoDigests ? Int64(data.count) : -1) else { continue }
            data.withUnsafeBytes { raw in
                let all = ByteView(raw)
                var off = 0
                while off < all.count {
                    if s.feed(all.dropFirst(off).prefix(step)) { break }
                    off += step
                }
            }
            let result = s.end()
            s.release()
            cpu += ProcessStats.cpuSeconds() - c0
            total += data.count
            if case .infected(let name) = result.verdict {
                infected += 1
                print("\(path): \(name) FOUND")
            }
        }
        let line = String(format: "scan: %d files, %.1f MiB, %d infected; %.2f s CPU = %.1f MB/s per core; db %d hash + %d body + %d logical, load %.2f s, %d anchors (%.1f MiB automaton); peak RSS %d MiB\n",
                          files.count, Double(total) / 1_048_576, infected, cpu, Double(total) / max(cpu, 1e-9) / 1e6,
                          database.hashSignatureCount, database.bodySignatureCount, database.logicalSignatureCount, loadSeconds,
                          database.matcher.anchorPatterns, Double(database.matcher.anchorMemoryBytes) / 1_048_576,
                          ProcessStats.peakResidentBytes() / 1_048_576)
        FileHandle.standardError.write(Data(line.utf8))
    }
}
