// mpm-bench: UTMMatch against Hyperscan on the ET Open fast patterns and an office capture.
//
//   swift run -c release mpm-bench [RULES] [DATA] [--min-length N] [--extra-random N] [--runs N]
//
// One pattern per enabled rule (the longest content, as Suricata's fast pattern would be),
// scanned over the capture's packet records (one scan call per record, as the IPS does) and over
// the whole file as one block. Both engines' matches are compared as multisets of
// (rule index, end offset).
import Glibc
import CHyperscan
import UTMCore
import UTMMatch

/// Thread CPU time: the build machine is shared, so wall time mostly measures the neighbours.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Fixed-point formatting without Foundation.
func f(_ x: Double, _ digits: Int = 2) -> String {
    var scale = 1.0
    for _ in 0 ..< digits { scale *= 10 }
    let v = Int((x * scale).rounded())
    let whole = v / Int(scale), frac = abs(v % Int(scale))
    var fs = String(frac)
    while fs.count < digits { fs = "0" + fs }
    return digits == 0 ? String(whole) : "\(whole).\(fs)"
}

extension String { func padding(_ n: Int) -> String { self + String(repeating: " ", count: max(0, n - count)) } }
func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }

func readFile(_ path: String) -> [UInt8]? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        out.append(contentsOf: buf[0 ..< n])
    }
    return out
}

func peakRSSKB() -> Int {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Int(u.ru_maxrss)
}

// MARK: Rule tokenizer (approximate: enough for a benchmark)

struct Content { var bytes: [UInt8]; var nocase: Bool }

/// Contents of one rule line: `content:"..."` strings with |hex| decoded, `nocase` applying to
/// the content it follows. Negated contents are skipped (they cannot be fast patterns).
func contents(ofRule line: [UInt8]) -> [Content] {
    var out: [Content] = []
    let key = Array("content:".utf8)
    var i = 0
    while i + key.count < line.count {
        guard Array(line[i ..< i + key.count]) == key,
              i == 0 || line[i - 1] == 0x20 || line[i - 1] == 0x3b || line[i - 1] == 0x28 else { i += 1; continue }
        i += key.count
        while i < line.count, line[i] == 0x20 { i += 1 }
        var negated = false
        if i < line.count, line[i] == 0x21 { negated = true; i += 1 }
        guard i < line.count, line[i] == 0x22 else { continue }
        i += 1
        var bytes: [UInt8] = []
        var hex = false
        var nib: [UInt8] = []
        while i < line.count, line[i] != 0x22 {
            let c = line[i]
            if c == 0x7c { hex.toggle(); nib = []; i += 1; continue }
            if hex {
                if let v = hexValue(c) {
                    nib.append(v)
                    if nib.count == 2 { bytes.append(nib[0] << 4 | nib[1]); nib = [] }
                }
            } else if c == 0x5c, i + 1 < line.count {
                bytes.append(line[i + 1]); i += 1
            } else {
                bytes.append(c)
            }
            i += 1
        }
        // Options up to the next content: look for nocase.
        var j = i
        var nocase = false
        let nc = Array("nocase;".utf8)
        while j + key.count < line.count, Array(line[j ..< j + key.count]) != key {
            if j + nc.count <= line.count, Array(line[j ..< j + nc.count]) == nc { nocase = true }
            j += 1
        }
        if !negated, !bytes.isEmpty { out.append(Content(bytes: bytes, nocase: nocase)) }
    }
    return out
}

func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30 ... 0x39: return c - 0x30
    case 0x41 ... 0x46: return c - 0x41 + 10
    case 0x61 ... 0x66: return c - 0x61 + 10
    default: return nil
    }
}

// MARK: Main

var args = Array(CommandLine.arguments.dropFirst())
var extraRandom = 0
if let k = args.firstIndex(of: "--extra-random"), k + 1 < args.count {
    extraRandom = Int(args[k + 1]) ?? 0
    args.removeSubrange(k ... k + 1)
}
var minLength = 1
/// Timed repetitions per measurement (best is kept); `--runs 1` for a profiler run.
var runs = 5
if let k = args.firstIndex(of: "--runs"), k + 1 < args.count {
    runs = max(1, Int(args[k + 1]) ?? 5)
    args.removeSubrange(k ... k + 1)
}
if let k = args.firstIndex(of: "--min-length"), k + 1 < args.count {
    minLength = Int(args[k + 1]) ?? 1
    args.removeSubrange(k ... k + 1)
}
let rulesPath = args.count > 0 ? args[0] : "/work/shared/corpus/rules/et-open-2019-suricata-4.0.rules"
let dataPath = args.count > 1 ? args[1] : "/tmp/office.pcap"

guard let rulesText = readFile(rulesPath) else { print("cannot read \(rulesPath)"); exit(1) }
guard let data = readFile(dataPath) else {
    print("cannot read \(dataPath); make it with: python3 /work/shared/bench/mktraffic.py /tmp/office.pcap --bytes 100000000 --seed 1 --categories /work/shared/corpus/ut1 --truth /tmp/office.truth.jsonl")
    exit(1)
}

var patterns: [Content] = []
for line in rulesText.split(separator: 0x0a) {
    let l = Array(line)
    guard l.starts(with: Array("alert ".utf8)) || l.starts(with: Array("drop ".utf8)) else { continue }
    let cs = contents(ofRule: l)
    if let best = cs.max(by: { $0.bytes.count < $1.bytes.count }), best.bytes.count >= minLength { patterns.append(best) }
}
// Antivirus-like extra body patterns (random binary, 10..40 bytes), to see the scaling.
var seed: UInt64 = 42
for _ in 0 ..< extraRandom {
    var bytes: [UInt8] = []
    seed = seed &* 6364136223846793005 &+ 1442695040888963407
    let len = 10 + Int(seed >> 59)
    for _ in 0 ..< len {
        seed = seed &* 6364136223846793005 &+ 1442695040888963407
        bytes.append(UInt8(truncatingIfNeeded: seed >> 56))
    }
    patterns.append(Content(bytes: bytes, nocase: false))
}
let lengths: [Int] = patterns.map { $0.bytes.count }.sorted()
let nocaseCount = patterns.filter { $0.nocase }.count
let shortCount = lengths.filter { $0 < 4 }.count
let median = lengths.isEmpty ? 0 : lengths[lengths.count / 2]
print("patterns: \(patterns.count) (nocase \(nocaseCount)), length min \(lengths.first ?? 0) median \(median) max \(lengths.last ?? 0), shorter than 4: \(shortCount)")

// Packet records of the pcap (24-byte file header, 16-byte record headers); whole file otherwise.
var records: [Range<Int>] = []
if data.count > 24, data[0] == 0xd4, data[1] == 0xc3 {
    var off = 24
    while off + 16 <= data.count {
        let incl = Int(data[off + 8]) | Int(data[off + 9]) << 8 | Int(data[off + 10]) << 16 | Int(data[off + 11]) << 24
        guard off + 16 + incl <= data.count else { break }
        records.append(off + 16 ..< off + 16 + incl)
        off += 16 + incl
    }
} else {
    records = stride(from: 0, to: data.count, by: 1500).map { $0 ..< min($0 + 1500, data.count) }
}
let recordBytes = records.reduce(0) { $0 + $1.count }
print("data: \(dataPath) \(data.count) bytes, \(records.count) records (\(recordBytes) bytes)")

// MARK: UTMMatch

var t0 = now()
var builder = PatternSetBuilder()
for (k, p) in patterns.enumerated() { builder.add(p.bytes, nocase: p.nocase, id: UInt32(k)) }
let set = builder.compile()
let compileSeconds = now() - t0
let blob = set.serialized()
t0 = now()
let loaded = blob.withByteView { CompiledPatternSet(serialized: $0) }
let loadSeconds = now() - t0
guard let loaded else { print("serialized set did not load"); exit(1) }
print("UTMMatch: compile \(f(compileSeconds, 3)) s, unique \(set.uniquePatterns), memory \(f(Double(set.memoryBytes) / 1e6, 1)) MB, serialized \(f(Double(blob.count) / 1e6, 1)) MB, load \(f(loadSeconds, 3)) s")

func key(_ id: UInt32, _ end: Int) -> UInt64 { UInt64(id) << 40 | UInt64(end) }

func bestOf(_ runs: Int, _ body: () -> Void) -> Double {
    var best = Double.infinity
    for _ in 0 ..< runs {
        let s = now()
        body()
        best = min(best, now() - s)
    }
    return best
}

var mineMatches: [UInt64] = []
mineMatches.reserveCapacity(1 << 22)
data.withByteView { all in
    for r in records {
        let v = all.slice(r.lowerBound, r.count)!
        loaded.scan(v) { id, end in mineMatches.append(key(id, r.lowerBound + end)) }
    }
}
var mineCount = 0
let minePacket = data.withByteView { all in
    bestOf(runs) {
        var c = 0
        for r in records { loaded.scan(all.slice(r.lowerBound, r.count)!) { _, _ in c &+= 1 } }
        mineCount = c
    }
}
var mineBlockCount = 0
let mineBlock = data.withByteView { all in
    bestOf(runs) {
        var c = 0
        loaded.scan(all) { _, _ in c &+= 1 }
        mineBlockCount = c
    }
}
// Streaming: the whole file in 1460-byte chunks through one MatchState.
var mineStreamCount = 0
let mineStream = data.withByteView { all in
    bestOf(runs) {
        var c = 0
        var st = MatchState()
        var off = 0
        while off < all.count {
            loaded.scan(all.slice(off, min(1460, all.count - off))!, state: &st) { _, _ in c &+= 1 }
            off += 1460
        }
        mineStreamCount = c
    }
}

// MARK: Hyperscan

final class HSCounter { var count = 0; var keys: [UInt64] = []; var base = 0; var record = false }

let hexDigits: [CChar] = Array("0123456789abcdef".utf8).map { CChar(bitPattern: $0) }
func escaped(_ p: Content) -> [CChar] {
    var s: [CChar] = []
    for b in p.bytes {
        s.append(0x5c); s.append(0x78)
        s.append(hexDigits[Int(b >> 4)]); s.append(hexDigits[Int(b & 15)])
    }
    s.append(0)
    return s
}
var exprStorage: [[CChar]] = patterns.map(escaped)
var flags: [UInt32] = patterns.map { $0.nocase ? UInt32(HS_FLAG_CASELESS) : 0 }
var hsIDs: [UInt32] = (0 ..< patterns.count).map { UInt32($0) }
var db: OpaquePointer? = nil
var compileErr: UnsafeMutablePointer<hs_compile_error_t>? = nil
t0 = now()
let rc: hs_error_t = exprStorage.withUnsafeMutableBufferPointer { storage in
    var ptrs: [UnsafePointer<CChar>?] = storage.map { UnsafePointer($0.withUnsafeBufferPointer { $0.baseAddress! }) }
    return hs_compile_multi(&ptrs, &flags, &hsIDs, UInt32(patterns.count), UInt32(HS_MODE_BLOCK), nil, &db, &compileErr)
}
let hsCompile = now() - t0
guard rc == HS_SUCCESS, let db else {
    print("hyperscan compile failed: \(compileErr.map { String(cString: $0.pointee.message) } ?? "?")")
    exit(1)
}
var dbSize = 0
hs_database_size(db, &dbSize)
var scratch: OpaquePointer? = nil
hs_alloc_scratch(db, &scratch)
var scratchSize = 0
hs_scratch_size(scratch, &scratchSize)
print("Hyperscan \(String(cString: hs_version())): compile \(f(hsCompile, 3)) s, database \(f(Double(dbSize) / 1e6, 1)) MB, scratch \(f(Double(scratchSize) / 1e3, 1)) KB")

let counter = HSCounter()
let onHS: match_event_handler = { id, _, to, _, ctx in
    let c = Unmanaged<HSCounter>.fromOpaque(ctx!).takeUnretainedValue()
    c.count &+= 1
    if c.record { c.keys.append(UInt64(id) << 40 | UInt64(c.base + Int(to))) }
    return 0
}
let ctx = Unmanaged.passUnretained(counter).toOpaque()
counter.record = true
counter.keys.reserveCapacity(mineMatches.count + 16)
data.withUnsafeBytes { all in
    for r in records {
        counter.base = r.lowerBound
        hs_scan(db, all.baseAddress!.advanced(by: r.lowerBound).assumingMemoryBound(to: CChar.self),
                UInt32(r.count), 0, scratch, onHS, ctx)
    }
}
counter.record = false
var hsCount = 0
let hsPacket = data.withUnsafeBytes { all in
    bestOf(runs) {
        counter.count = 0
        for r in records {
            hs_scan(db, all.baseAddress!.advanced(by: r.lowerBound).assumingMemoryBound(to: CChar.self),
                    UInt32(r.count), 0, scratch, onHS, ctx)
        }
        hsCount = counter.count
    }
}
var hsBlockCount = 0
let hsBlock = data.withUnsafeBytes { all in
    bestOf(runs) {
        counter.count = 0
        hs_scan(db, all.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(all.count), 0, scratch, onHS, ctx)
        hsBlockCount = counter.count
    }
}

// MARK: Report

mineMatches.sort()
counter.keys.sort()
var byLength = [Int](repeating: 0, count: 6)
for m in mineMatches { byLength[min(5, patterns[Int(m >> 40)].bytes.count)] += 1 }
print("matches by pattern length 1, 2, 3, 4, 5+: \(byLength.dropFirst().map(String.init).joined(separator: ", "))")
let agree = mineMatches == counter.keys
func gbps(_ bytes: Int, _ s: Double) -> Double { Double(bytes) * 8 / s / 1e9 }
print("")
print("                            UTMMatch           Hyperscan   speed ratio (ours/HS)")
let rows: [(String, Int, Double, Double?)] = [("per packet record", recordBytes, minePacket, hsPacket),
                                                ("whole file as one block", data.count, mineBlock, hsBlock),
                                                ("stream, 1460-byte chunks", data.count, mineStream, nil)]
for (name, bytes, mine, hs) in rows {
    var line = name.padding(26) + pad(f(gbps(bytes, mine)), 8) + " Gbit/s"
    if let hs { line += pad(f(gbps(bytes, hs)), 10) + " Gbit/s   " + f(hs / mine) + "x" }
    print(line)
}
print("matches per record: UTMMatch \(mineCount), Hyperscan \(hsCount); block: \(mineBlockCount) vs \(hsBlockCount); stream \(mineStreamCount)")
print("multisets of (pattern, end offset) per record: \(agree ? "identical" : "DIFFERENT") (\(mineMatches.count) matches)")
if !agree {
    var a = 0, b = 0, shown = 0
    while (a < mineMatches.count || b < counter.keys.count) && shown < 10 {
        if b >= counter.keys.count || (a < mineMatches.count && mineMatches[a] < counter.keys[b]) {
            print("  only UTMMatch: pattern \(mineMatches[a] >> 40) end \(mineMatches[a] & 0xff_ffff_ffff)"); a += 1; shown += 1
        } else if a >= mineMatches.count || counter.keys[b] < mineMatches[a] {
            print("  only Hyperscan: pattern \(counter.keys[b] >> 40) end \(counter.keys[b] & 0xff_ffff_ffff)"); b += 1; shown += 1
        } else { a += 1; b += 1 }
    }
}
print("block and stream counts equal: \(mineBlockCount == mineStreamCount && mineBlockCount == hsBlockCount)")
print("peak RSS \(peakRSSKB() / 1024) MB")
hs_free_scratch(scratch)
hs_free_database(db)
exit(agree ? 0 : 2)
