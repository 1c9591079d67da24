// libFuzzer target: the buffer transforms (dotprefix, case changes, whitespace, url_decode,
// xor, hashes, header transforms, pcrexform, from_base64) in chains over hostile bytes, through
// the engine's arena (`DerivedBuffers`) with a small capacity so overflow is reached too.
// First byte: chain length (bits 0-1, 1...4) and arena size (bits 2-3); then one byte per
// transform (its kind; xor takes its key length and key from the following bytes, from_base64
// its mode/offset/bytes from one more byte); the rest is the buffer. Checks: every output
// respects its transform's length bound, a cached view equals the fresh computation, and a
// new inspection (`begin`) computes again. Must never trap.
import UTMCore
import UTMDetect
import UTMRegex

let fuzzArenas = [DerivedBuffers(arenaBytes: 64), DerivedBuffers(arenaBytes: 512),
                  DerivedBuffers(arenaBytes: 4096), DerivedBuffers(arenaBytes: 65536)]
let fuzzRegex = PCRETransform(regex: try! Regex(pattern: Array("([a-z0-9.]+)=([^&;]*)".utf8)), source: "fuzz")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTransforms(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let all = ByteView(unsafeStart: UnsafeRawPointer(data), count: size)
    guard let control = all.u8(0) else { return 0 }
    let steps = Int(control & 3) + 1
    let derived = fuzzArenas[Int(control >> 2 & 3)]
    var at = 1
    var chain: [Transform] = []
    while chain.count < steps, let k = all.u8(at) {
        at += 1
        switch k % 14 {
        case 0: chain.append(.dotprefix)
        case 1: chain.append(.toLowercase)
        case 2: chain.append(.toUppercase)
        case 3: chain.append(.stripWhitespace)
        case 4: chain.append(.compressWhitespace)
        case 5: chain.append(.urlDecode)
        case 6:
            let n = Int(all.u8(at) ?? 0) % 8 + 1
            at += 1
            var key: [UInt8] = []
            for i in 0 ..< n { key.append(all.u8(at + i) ?? 0x5a) }
            at += n
            chain.append(.xor(key: key, offset: Int(k >> 4)))
        case 7: chain.append(.toMD5)
        case 8: chain.append(.toSHA1)
        case 9: chain.append(.toSHA256)
        case 10: chain.append(.headerLowercase)
        case 11: chain.append(.stripPseudoHeaders)
        case 12: chain.append(.pcrexform(fuzzRegex))
        default:
            let b = all.u8(at) ?? 0
            at += 1
            var o = Base64Options()
            o.mode = b & 3 == 0 ? .rfc4648 : b & 3 == 1 ? .rfc2045 : .strict
            o.offset = Int(b >> 2 & 7)
            o.bytes = Int(b >> 5) * 4
            chain.append(.fromBase64(o))
        }
    }
    let input = all.dropFirst(Swift.min(at, all.count))
    var bound = input.count
    for t in chain { bound = t.maxOutput(bound) }
    derived.begin()
    let first = derived.view(slot: 1, base: input, chain: chain)
    let firstBytes = first?.bytes
    if let first { precondition(first.count <= Swift.max(bound, input.count), "output past its bound") }
    // Cached: the same bytes without computing again.
    let again = derived.view(slot: 1, base: input, chain: chain)
    precondition(again?.bytes == firstBytes, "cached view differs")
    // A second derived buffer in the same inspection must not disturb the first.
    _ = derived.view(slot: 2, base: input, chain: [.dotprefix])
    precondition(derived.view(slot: 1, base: input, chain: chain)?.bytes == firstBytes, "slot 1 overwritten")
    // A new inspection computes again, with the same result.
    derived.begin()
    precondition(derived.view(slot: 1, base: input, chain: chain)?.bytes == firstBytes, "recomputed view differs")
    return 0
}
