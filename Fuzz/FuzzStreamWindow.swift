// libFuzzer target: stream rules over chunks of both directions of one flow, through the stream
// window (`DetectEngine.inspectStream`: new bytes, then the kept tail + new bytes, pending
// candidates, repeats suppressed), with a 16-byte and the default 1024-byte window.
// Input: records, each a control byte — bits 0-5 length (0...63), bit 6 to client, bit 7 a gap
// before it — then that many bytes, each mapped onto "ABCDx\r\n" so parts of matches are common.
// Checks: an alert of an unanchored rule is also found by one inspection of every byte of its
// direction since the last gap (a window match is a real match of the stream); a rule alerts at
// most once per chunk. Session 8: chunks carry their stream offsets (a gap loses 3 bytes); an
// alert of the stream-only anchored rule (sid 7) is also found by one inspection of the whole
// direction from its first byte, the lost bytes standing in as 0x00 (positions count from the
// stream's first byte, README "Stream positions, session 8"). Must never trap.
import UTMCore
import UTMDetect

let fuzzWindowRules = """
    alert tcp any any -> any any (msg:"two"; content:"AAAA"; content:"BBBB"; distance:0; sid:1;)
    alert tcp any any -> any any (msg:"fp second"; content:"AB"; content:"CCCCDD"; distance:0; within:20; fast_pattern; sid:2;)
    alert tcp any any -> any any (msg:"pcre"; pcre:"/DA.{0,30}AD/s"; sid:3;)
    alert tcp any any -> any any (msg:"three"; content:"CD"; content:"DC"; distance:1; content:"xAx"; distance:0; sid:4;)
    alert tcp any any -> any any (msg:"anchored"; content:"AB"; depth:3; content:"BA"; distance:0; sid:5;)
    alert tcp any any -> any any (msg:"byte_test"; content:"Cx"; byte_test:1,=,65,0,relative; sid:6;)
    alert tcp any any -> any any (msg:"stream only anchored"; flow:only_stream; content:"AB"; offset:1; depth:4; content:"BA"; distance:0; sid:7;)
    """
let fuzzWindowDefs: DetectDefinitions = {
    var p = RuleParser()
    p.load(text: fuzzWindowRules, file: "fuzz.rules")
    return DetectDefinitions(ruleSet: p.finish())
}()
let fuzzWindowEngines: [DetectEngine] = [16, 1024].map { n in
    var c = DetectConfig()
    c.flowCapacity = 4
    c.tailBytes = n
    c.tailSlots = 8
    return DetectEngine(definitions: fuzzWindowDefs, config: c)
}
let fuzzWholeEngine: DetectEngine = {
    var c = DetectConfig()
    c.flowCapacity = 4
    c.tailSlots = 8
    return DetectEngine(definitions: fuzzWindowDefs, config: c)
}()
nonisolated(unsafe) var fuzzWindowFlow: UInt64 = 0
let fuzzAlphabet = Array("ABCDx\r\n".utf8)

func fuzzWindowFacts(_ d: Direction) -> PacketFacts {
    var f = PacketFacts()
    f.ipProto = 6
    f.source = IPAddress(v4: 0x0a57_0001)
    f.destination = IPAddress(v4: 0x0a57_0002)
    f.sourcePort = 40000
    f.destinationPort = 8000
    if d == .toClient {
        swap(&f.source, &f.destination)
        swap(&f.sourcePort, &f.destinationPort)
    }
    f.direction = d
    f.established = true
    return f
}

/// Sids an inspection of `bytes` as one chunk of a new flow gives.
func fuzzWhole(_ bytes: [UInt8], _ d: Direction) -> Set<UInt32> {
    fuzzWindowFlow &+= 1
    let e = fuzzWholeEngine
    let slot = e.flowSlot(index: 0, flowID: fuzzWindowFlow)
    var out: Set<UInt32> = []
    e.beginPacket()
    bytes.withUnsafeBytes { raw in
        _ = e.inspectStream(fuzzWindowFacts(d), chunk: ByteView(raw), gap: false, direction: d, slot: slot, time: 0) { i, _ in
            out.insert(e.defs.signature(i).sid)
        }
    }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStreamWindow(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let all = ByteView(unsafeStart: UnsafeRawPointer(data), count: size)
    for e in fuzzWindowEngines {
        fuzzWindowFlow &+= 1
        let slot = e.flowSlot(index: 1, flowID: fuzzWindowFlow)
        var since: [[UInt8]] = [[], []]
        var whole: [[UInt8]] = [[], []]
        var at = 0
        while let c = all.u8(at) {
            at += 1
            let n = Int(c & 0x3f)
            let d: Direction = c & 0x40 != 0 ? .toClient : .toServer
            let gap = c & 0x80 != 0
            var chunk: [UInt8] = []
            for k in 0 ..< n { chunk.append(fuzzAlphabet[Int(all.u8(at + k) ?? 0) % fuzzAlphabet.count]) }
            at += n
            if gap {
                since[d.index] = []
                whole[d.index] += [0, 0, 0]
            }
            let offset = UInt64(whole[d.index].count)
            since[d.index] += chunk
            whole[d.index] += chunk
            var alerts: [UInt32] = []
            e.beginPacket()
            chunk.withUnsafeBytes { raw in
                _ = e.inspectStream(fuzzWindowFacts(d), chunk: ByteView(raw), gap: gap, streamOffset: offset,
                                    direction: d, slot: slot, time: 0) { i, _ in
                    alerts.append(e.defs.signature(i).sid)
                }
            }
            precondition(Set(alerts).count == alerts.count, "a rule alerted twice on one chunk")
            if alerts.contains(7) {
                precondition(fuzzWhole(whole[d.index], d).contains(7), "sid 7 alerted but the stream from its first byte does not match")
            }
            let unanchored = alerts.filter { $0 != 5 && $0 != 6 && $0 != 7 }
            if !unanchored.isEmpty {
                let whole = fuzzWhole(since[d.index], d)
                for s in unanchored { precondition(whole.contains(s), "sid \(s) alerted but the stream does not match") }
            }
        }
        e.endFlow(index: 1)
    }
    return 0
}
