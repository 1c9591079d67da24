// libFuzzer target: `base64_decode` / `base64_data` on hostile bytes. The first byte picks the
// output capacity (0-63) for the bare decoder; the rest is the input. The decoder must never
// write past the capacity, must agree with a plain reference decode of the same input, and a
// rule with a relative, offset and bounded base64_decode (and contents, pcre and byte_test on
// the decoded bytes) runs over the input through the verifier. Must never trap.
import UTMCore
import UTMDetect

/// A reference RFC 4648 decoder (the slow, obvious way) the fast one must agree with.
func referenceBase64(_ v: ByteView) -> [UInt8] {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var values: [UInt32] = []
    for i in 0 ..< v.count {
        guard let k = alphabet.firstIndex(of: v[checked: i]) else { break }
        values.append(UInt32(k))
    }
    var out: [UInt8] = []
    var i = 0
    while i + 4 <= values.count {
        let g = values[i] << 18 | values[i + 1] << 12 | values[i + 2] << 6 | values[i + 3]
        out += [UInt8(g >> 16 & 0xff), UInt8(g >> 8 & 0xff), UInt8(g & 0xff)]
        i += 4
    }
    let rest = values.count - i
    if rest >= 2 {
        var g: UInt32 = 0
        for k in 0 ..< rest { g |= values[i + k] << UInt32(18 - 6 * k) }
        out.append(UInt8(g >> 16 & 0xff))
        if rest == 3 { out.append(UInt8(g >> 8 & 0xff)) }
    }
    return out
}

let base64Rules: [Signature] = {
    var p = RuleParser()
    p.load(text: """
        alert tcp any any -> any any (msg:"a"; content:"="; base64_decode:bytes 40,offset 1,relative; base64_data; content:"cmd"; pcre:"/^.{0,8}exe/R"; byte_test:1,>,32,0,relative; sid:1;)
        alert tcp any any -> any any (msg:"b"; base64_decode; base64_data; content:"MZ"; depth:2; isdataat:60,relative; sid:2;)
        alert tcp any any -> any any (msg:"c"; base64_decode:bytes 3,offset 2; base64_data; content:!"x"; sid:3;)
        """, file: "fuzz.rules")
    return p.finish().signatures
}()

let base64Slab = ByteSlab(capacity: 64)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBase64(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let all = ByteView(unsafeStart: UnsafeRawPointer(data), count: size)
    guard let control = all.u8(0) else { return 0 }
    let input = all.dropFirst(1)
    let capacity = Int(control & 0x3f)
    let n = Base64Decoder.decode(input, into: base64Slab, capacity: capacity)
    precondition(n >= 0 && n <= capacity, "decoded past the capacity")
    let reference = referenceBase64(input)
    precondition(n == min(capacity, reference.count) || n == min(capacity, reference.count) / 3 * 3,
                 "decoded length disagrees with the reference")
    for i in 0 ..< n { precondition(base64Slab.read(i) == reference[i], "decoded byte \(i) disagrees") }
    var verifier = Verifier()
    var matched = 0
    for sig in base64Rules {
        guard let list = sig.list(for: .payload) else { continue }
        if verifier.inspect(list, in: input) { matched &+= 1 }
    }
    return matched == -1 ? 1 : 0
}
