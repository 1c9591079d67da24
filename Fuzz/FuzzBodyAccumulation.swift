// libFuzzer target: HTTP response bodies through the per-transaction accumulation
// (`DetectEngine.feedBody`, UTMDetect BodyAccumulators.swift) with tiny sizes (48-byte
// accumulators, 40-byte minimal inspect size, 16-byte window, 400-byte limit), so steps, windows,
// the limit and in-place inspection all happen within a short input.
// Input: records, each a control byte — bits 0-5 length (0...63), bit 6 the body ends after it,
// bit 7 a new transaction before it (with length 0: the previous body is abandoned, not ended,
// and handed back as a cut body when the next one's bytes come) — then that many bytes, each
// mapped onto "ABCDx\r\n". An odd-sized input ends its last body abandoned at the flow's end
// (`flushOrphanedBody`).
// Checks: a rule alerts at most once per transaction; every alert is also an alert of one
// inspection of the whole body (nothing is invented by windows, steps or positions); a body no
// smaller than the minimal size gives exactly the whole body's alerts; a 3-byte pattern (shorter
// than the window) found in the whole body is found (not for an abandoned body: a cut is judged
// without its end). bsize rules check the body's length is judged, never a window's. Must never trap.
import UTMCore
import UTMDetect

let fuzzBodyRules = """
    alert http any any -> any any (msg:"two"; file_data; content:"AAAA"; content:"BBBB"; distance:0; sid:1;)
    alert http any any -> any any (msg:"head"; file_data; content:"AB"; depth:3; sid:2;)
    alert http any any -> any any (msg:"tail"; file_data; content:"DD"; endswith; sid:3;)
    alert http any any -> any any (msg:"pcre"; file_data; pcre:"/DA.{0,10}AD/s"; sid:4;)
    alert http any any -> any any (msg:"short"; file_data; content:"CxC"; sid:5;)
    alert http any any -> any any (msg:"offset"; file_data; content:"BA"; offset:5; depth:10; sid:6;)
    alert http any any -> any any (msg:"large"; file_data; content:"x"; bsize:>60; sid:7;)
    alert http any any -> any any (msg:"small"; file_data; content:"x"; bsize:<50; sid:8;)
    """
let fuzzBodyDefs: DetectDefinitions = {
    var p = RuleParser()
    p.load(text: fuzzBodyRules, file: "fuzz.rules")
    return DetectDefinitions(ruleSet: p.finish())
}()
func fuzzBodyEngine() -> DetectEngine {
    var c = DetectConfig()
    c.flowCapacity = 4
    c.bodyAccumulators = 2
    c.bodyAccumulatorBytes = 48
    c.requestBodyMinimal = 40
    c.requestBodyWindow = 16
    c.responseBodyMinimal = 40
    c.responseBodyWindow = 16
    c.bodyInspectLimit = 400
    return DetectEngine(definitions: fuzzBodyDefs, config: c)
}
let fuzzBodyEngines = (fuzzBodyEngine(), fuzzBodyEngine())
nonisolated(unsafe) var fuzzBodyFlow: UInt64 = 0
let fuzzBodyAlphabet = Array("ABCDx\r\n".utf8)
let fuzzBodyMinimal = 40
let fuzzBodyLimit = 400

func fuzzBodyFacts() -> PacketFacts {
    var f = PacketFacts()
    f.ipProto = 6
    f.source = IPAddress(v4: 0x0a58_0002)
    f.destination = IPAddress(v4: 0x0a58_0001)
    f.sourcePort = 80
    f.destinationPort = 40000
    f.direction = .toClient
    f.established = true
    f.appProto = .http
    return f
}

/// Feeds `bytes` as one piece of transaction `seq`'s response body; sids into `out`.
/// `orphans`: alerts on an abandoned earlier body handed back by this feed.
func fuzzBodyFeed(_ e: DetectEngine, _ slot: Int, _ seq: UInt32, _ bytes: [UInt8], ended: Bool,
                  _ out: inout [UInt32], orphans: inout [UInt32]) {
    var got: [UInt32] = []
    var back: [UInt32] = []
    e.beginPacket()
    bytes.withUnsafeBytes { raw in
        e.feedBody(slot: slot, direction: .toClient, sequence: seq, ByteView(raw), ended: ended, orphan: { _, v in
            var b = InspectionBuffers()
            b[.fileData] = v
            b[.httpServerBody] = v
            e.inspectApp(.http, phaseMask: 1 << 4, fuzzBodyFacts(), buffers: b, slot: slot, time: 0) { i, _ in
                back.append(e.defs.signature(i).sid)
            }
            e.beginTransaction()
        }) { v in
            var b = InspectionBuffers()
            b[.fileData] = v
            b[.httpServerBody] = v
            e.inspectApp(.http, phaseMask: 1 << 4, fuzzBodyFacts(), buffers: b, slot: slot, time: 0) { i, _ in
                got.append(e.defs.signature(i).sid)
            }
        }
    }
    out += got
    orphans += back
}

func fuzzBodyFeed(_ e: DetectEngine, _ slot: Int, _ seq: UInt32, _ bytes: [UInt8], ended: Bool,
                  _ out: inout [UInt32]) {
    var none: [UInt32] = []
    fuzzBodyFeed(e, slot, seq, bytes, ended: ended, &out, orphans: &none)
    precondition(none.isEmpty, "an orphan handed back while no body was abandoned")
}

/// Sids of one inspection of the whole body (cut at the limit).
func fuzzBodyWhole(_ body: [UInt8]) -> Set<UInt32> {
    fuzzBodyFlow &+= 1
    let e = fuzzBodyEngines.1
    let slot = e.flowSlot(index: 0, flowID: fuzzBodyFlow)
    var out: [UInt32] = []
    fuzzBodyFeed(e, slot, 1, Array(body.prefix(fuzzBodyLimit)), ended: true, &out)
    return Set(out)
}

func fuzzBodyCheck(_ body: [UInt8], _ alerts: [UInt32], abandoned: Bool = false) {
    let once = Set(alerts)
    precondition(once.count == alerts.count, "a rule alerted twice on one transaction: \(alerts)")
    let whole = fuzzBodyWhole(body)
    precondition(once.isSubset(of: whole), "alerts \(once) not all in the whole body's \(whole)")
    if abandoned {
        // A cut: what is not anchored to its end is still found.
        let unanchored = whole.subtracting([3, 8])
        if body.count <= fuzzBodyMinimal { precondition(once == unanchored, "abandoned small body: \(once) vs \(whole)") }
        return
    }
    if body.count < fuzzBodyMinimal { precondition(once == whole, "small body: \(once) vs \(whole)") }
    // At exactly the minimal size the first inspection is not the last: a `bsize:<N` rule whose
    // content lies before the last window is not judged (known limit, README session 8).
    if body.count == fuzzBodyMinimal {
        precondition(once.subtracting([8]) == whole.subtracting([8]), "minimal body: \(once) vs \(whole)")
    }
    if whole.contains(5) { precondition(once.contains(5), "a 3-byte pattern was lost across a step") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBodyAccumulation(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let all = ByteView(unsafeStart: UnsafeRawPointer(data), count: size)
    let e = fuzzBodyEngines.0
    fuzzBodyFlow &+= 1
    let slot = e.flowSlot(index: 1, flowID: fuzzBodyFlow)
    var seq: UInt32 = 1
    var body: [UInt8] = []
    var alerts: [UInt32] = []
    var open = false
    var at = 0
    while let c = all.u8(at) {
        at += 1
        let n = Int(c & 0x3f)
        if c & 0x80 != 0 && n == 0 && open {
            // The previous body is abandoned: the next piece (a new transaction) hands it back.
            var piece: [UInt8] = []
            var k = 0
            while k < 8, let b = all.u8(at) {
                piece.append(fuzzBodyAlphabet[Int(b) % fuzzBodyAlphabet.count])
                at += 1
                k += 1
            }
            var next: [UInt32] = []
            fuzzBodyFeed(e, slot, seq &+ 1, piece, ended: false, &next, orphans: &alerts)
            fuzzBodyCheck(body, alerts, abandoned: true)
            seq &+= 1
            body = piece
            alerts = next
            continue
        }
        if c & 0x80 != 0 && open {
            // A new transaction: the previous body ends here (an empty last piece).
            fuzzBodyFeed(e, slot, seq, [], ended: true, &alerts)
            fuzzBodyCheck(body, alerts)
            seq &+= 1
            body = []
            alerts = []
            open = false
        }
        var piece: [UInt8] = []
        var k = 0
        while k < n, let b = all.u8(at) {
            piece.append(fuzzBodyAlphabet[Int(b) % fuzzBodyAlphabet.count])
            at += 1
            k += 1
        }
        let ended = c & 0x40 != 0
        fuzzBodyFeed(e, slot, seq, piece, ended: ended, &alerts)
        body += piece
        open = true
        if ended {
            fuzzBodyCheck(body, alerts)
            seq &+= 1
            body = []
            alerts = []
            open = false
        }
    }
    if open && size & 1 == 1 {
        // The flow ends with the body abandoned (HTTP/1: no later body hands it back): the
        // flow-end flush inspects what is held as a cut body, as the orphan hand-back does.
        e.beginPacket()
        e.flushOrphanedBody(slot: slot, direction: .toClient) { _, v in
            var b = InspectionBuffers()
            b[.fileData] = v
            b[.httpServerBody] = v
            e.inspectApp(.http, phaseMask: 1 << 4, fuzzBodyFacts(), buffers: b, slot: slot, time: 0) { i, _ in
                alerts.append(e.defs.signature(i).sid)
            }
        }
        fuzzBodyCheck(body, alerts, abandoned: true)
    } else if open {
        fuzzBodyFeed(e, slot, seq, [], ended: true, &alerts)
        fuzzBodyCheck(body, alerts)
    }
    e.endFlow(index: Int32(slot))
    precondition(e.bodyAccumulatorsInUse == 0, "an accumulator outlived its flow")
    return 0
}
