// libFuzzer target for UTMMatch. Must never trap.
// First byte selects the mode:
//   even: the rest is a serialized set; if it loads, scan its own bytes in block and stream mode.
//   odd:  the rest builds a pattern set (length-prefixed patterns, nocase from the length
//         byte's high bit) and the remainder is scanned whole and in chunks; both must agree,
//         and agree with a naive comparison at every position (the stage-1 loop, direct or
//         hashed table, must never lose a match).
import UTMCore
import UTMMatch

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMatch(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let all = ByteView(unsafeStart: UnsafeRawPointer(data), count: size)
    guard let mode = all.u8(0) else { return 0 }
    let rest = all.dropFirst(1)
    if mode & 1 == 0 {
        if let set = CompiledPatternSet(serialized: rest) {
            var n = 0
            set.scan(rest) { _, _ in n += 1 }
            var state = MatchState()
            var off = 0
            let chunk = Int(mode >> 1) + 1
            while off < rest.count {
                set.scan(rest.dropFirst(off).prefix(chunk), state: &state) { _, _ in n -= 1 }
                off += chunk
            }
            if n != 0 { fatalError("stream and block scans disagree on a loaded set") }
        }
        return 0
    }
    var builder = PatternSetBuilder()
    var off = 0
    var id: UInt32 = 0
    var patterns: [(bytes: [UInt8], nocase: Bool)] = []
    while off < rest.count, id < 64 {
        let l = Int(rest.u8(off)!)
        let len = l & 0x3f
        if len == 0 { off += 1; break }
        guard let p = rest.slice(off + 1, len) else { break }
        builder.add(p, nocase: l & 0x80 != 0, id: id)
        patterns.append((p.bytes, l & 0x80 != 0))
        id += 1
        off += 1 + len
    }
    let set = builder.compile()
    let text = rest.dropFirst(off)
    var block: [UInt64] = []
    set.scan(text) { i, e in block.append(UInt64(i) << 32 | UInt64(e)) }
    var stream: [UInt64] = []
    var state = MatchState()
    var pos = 0
    let chunk = Int(mode >> 1) % 17 + 1
    while pos < text.count {
        set.scan(text.dropFirst(pos).prefix(chunk), state: &state) { i, e in stream.append(UInt64(i) << 32 | UInt64(e)) }
        pos += chunk
    }
    if block.sorted() != stream.sorted() { fatalError("stream and block scans disagree") }
    // Ids are distinct here, so the reference is one report per (pattern, end).
    var want: [UInt64] = []
    let bytes = text.bytes
    for (k, p) in patterns.enumerated() where p.bytes.count <= bytes.count {
        for s in 0 ... bytes.count - p.bytes.count {
            var ok = true
            for j in 0 ..< p.bytes.count {
                let a = bytes[s + j], b = p.bytes[j]
                if p.nocase ? asciiLower(a) != asciiLower(b) : a != b { ok = false; break }
            }
            if ok { want.append(UInt64(k) << 32 | UInt64(s + p.bytes.count)) }
        }
    }
    if block.sorted() != want.sorted() { fatalError("scan and naive comparison disagree") }
    let blob = set.serialized()
    guard blob.withByteView({ CompiledPatternSet(serialized: $0) }) != nil else { fatalError("round trip failed") }
    return 0
}
