// libFuzzer target: the BER walker behind the `asn1` keyword. The first byte picks the start
// offset (0-15) and which checks run; the rest is the buffer. Every element the walker hands
// out must lie inside the buffer (checked, so ASan and the trap both see a bad one), and the
// walk must stop within the element limit. Must never trap.
import UTMCore
import UTMDetect

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzASN1(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let all = ByteView(unsafeStart: UnsafeRawPointer(data), count: size)
    guard let control = all.u8(0) else { return 0 }
    let buf = all.dropFirst(1)
    var reader = BERReader(buf, from: Int(control & 0x0f))
    var n = 0
    var sum = 0
    while let e = reader.next() {
        n &+= 1
        precondition(n <= BERReader.maxElements, "walk past the element limit")
        precondition(e.contentStart >= 0 && e.available >= 0 && e.contentStart &+ e.available <= buf.count,
                     "element outside the buffer")
        precondition(e.depth < BERReader.maxDepth, "walk past the depth limit")
        if e.available > 0 { sum &+= Int(buf[checked: e.contentStart]) &+ Int(buf[checked: e.contentStart &+ e.available &- 1]) }
    }
    var o = ASN1Options()
    o.bitstringOverflow = control & 0x10 != 0
    o.doubleOverflow = control & 0x20 != 0
    o.oversizeLength = control & 0x40 != 0 ? 64 : nil
    if control & 0x80 != 0 { o.relativeOffset = Int(control & 0x0f) &- 8 } else { o.absoluteOffset = Int(control & 0x0f) }
    if o.matches(buf, prevEnd: 4) { sum &+= 1 }
    return sum == -1 ? 1 : 0
}
