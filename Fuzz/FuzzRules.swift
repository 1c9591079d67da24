// libFuzzer target: the input as rule text (one or more lines), loaded like a rule file; every
// rule that loads is then verified against the input itself in every buffer. Must never trap.
import UTMCore
import UTMDetect

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRules(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let view = ByteView(unsafeStart: UnsafeRawPointer(data), count: size)
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    var parser = RuleParser()
    parser.load(text: text, file: "fuzz.rules")
    let set = parser.finish()
    var buffers = InspectionBuffers()
    for id in BufferID.allCases { buffers[id] = view }
    var facts = PacketFacts()
    facts.ipProto = 6
    facts.direction = .toServer
    facts.established = true
    facts.payloadSize = size
    facts.appProto = .http
    var bits = FlowBits()
    var verifier = Verifier()
    for sig in set.signatures {
        _ = verifier.verify(sig, packet: facts, buffers: buffers, flowbits: &bits)
        for list in sig.lists { _ = verifier.inspect(list, in: view) }
    }
    return 0
}
