import Testing
import UTMCore
@testable import UTMAppLayer

/// Deterministic RNG for split tests (SplitMix64).
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One piece of a flow as captured: direction, bytes, and whether bytes were lost before it.
struct HTTPSeg {
    var dir: Direction
    var bytes: [UInt8]
    var gap = false
    init(_ dir: Direction, _ s: String, gap: Bool = false) {
        self.dir = dir
        bytes = Array(s.utf8)
        self.gap = gap
    }
    init(_ dir: Direction, bytes: [UInt8], gap: Bool = false) {
        self.dir = dir
        self.bytes = bytes
        self.gap = gap
    }
}

enum HTTPSplit {
    case whole
    case bytes
    case random(UInt64)
}

/// Everything a run produced, in a form that compares across splits.
struct HTTPRun: Equatable, CustomStringConvertible {
    var txs: [[String: String]] = []
    /// Body bytes per "tx/direction", and how many isLast chunks came.
    var bodies: [String: [UInt8]] = [:]
    var lasts: [String: Int] = [:]
    var dropped = 0
    var events: HTTPEvents.RawValue = 0

    var description: String { "\(txs) bodies=\(bodies.mapValues { $0.count }) lasts=\(lasts)" }

    func body(_ tx: Int, _ dir: Direction) -> String {
        String(decoding: bodies["\(tx)/\(dir == .toServer ? "s" : "c")"] ?? [], as: UTF8.self)
    }
    func bodyBytes(_ tx: Int, _ dir: Direction) -> [UInt8] {
        bodies["\(tx)/\(dir == .toServer ? "s" : "c")"] ?? []
    }
    func last(_ tx: Int, _ dir: Direction) -> Int {
        lasts["\(tx)/\(dir == .toServer ? "s" : "c")"] ?? 0
    }
}

func describe(_ p: HTTPParser, _ t: HTTPTransaction) -> [String: String] {
    func s(_ f: Field) -> String {
        f.isPresent ? p.withField(f) { String(decoding: $0.bytes, as: UTF8.self) } : "<absent>"
    }
    return [
        "method": s(t.method), "uri": s(t.uri), "protocol": s(t.protocolName), "host": s(t.host),
        "port": t.hostPort.map { String($0) } ?? "-", "ua": s(t.userAgent), "referer": s(t.referer),
        "cookie": s(t.cookie), "reqType": s(t.requestContentType), "reqHeaders": s(t.requestHeaders),
        "respProtocol": s(t.responseProtocol), "statusLine": s(t.statusLine),
        "message": s(t.statusMessage), "respType": s(t.responseContentType), "location": s(t.location),
        "respHeaders": s(t.responseHeaders), "status": String(t.status),
        "reqLen": String(t.requestContentLength), "respLen": String(t.responseContentLength),
        "reqBody": String(t.requestBodyBytes), "respBody": String(t.responseBodyBytes),
        "reqDelivered": String(t.requestBodyDelivered), "respDelivered": String(t.responseBodyDelivered),
        "hasReq": String(t.hasRequest), "hasResp": String(t.hasResponse),
        "reqComplete": String(t.requestComplete), "respComplete": String(t.responseComplete),
        "flags": String(t.flags.rawValue, radix: 16), "seq": String(t.sequence),
    ]
}

/// Feeds `segs` split as asked, consuming ready transactions after every call like the engine.
func runHTTP(_ segs: [HTTPSeg], config: HTTPConfig = .init(), split: HTTPSplit,
             finish: Bool = true, parser reuse: inout HTTPParser?) -> HTTPRun {
    var p = reuse ?? HTTPParser(config: config)
    p.reset()
    var out = HTTPRun()
    var consumed = 0
    var rng = SplitMix(seed: 0)
    if case .random(let seed) = split { rng = SplitMix(seed: seed) }
    func collect() {
        for i in 0 ..< p.readyCount { out.txs.append(describe(p, p.ready(i))) }
        consumed += p.readyCount
        p.consumeReady()
    }
    func onBody(_ c: HTTPBodyChunk) {
        let key = "\(consumed + c.transaction)/\(c.direction == .toServer ? "s" : "c")"
        if c.isLast { out.lasts[key, default: 0] += 1 }
        out.bodies[key, default: []].append(contentsOf: c.data.bytes)
    }
    for seg in segs {
        var pos = 0
        var first = true
        while pos < seg.bytes.count || (first && seg.bytes.isEmpty) {
            var n: Int
            switch split {
            case .whole: n = seg.bytes.count
            case .bytes: n = 1
            case .random:
                n = rng.next() % 4 == 0 ? Int(rng.next() % 600) + 1 : Int(rng.next() % 9) + 1
            }
            n = min(n, seg.bytes.count - pos)
            seg.bytes[pos ..< pos + n].withByteView { v in
                p.feed(v, direction: seg.dir, gap: seg.gap && first, onBody: onBody)
            }
            out.events |= p.events.rawValue & ~(HTTPEvents.txReady.rawValue | HTTPEvents.bodyData.rawValue)
            collect()
            pos += n
            first = false
            if seg.bytes.isEmpty { break }
        }
    }
    if finish {
        p.finish(onBody: onBody)
        collect()
    }
    out.dropped = p.droppedTransactions
    reuse = p
    return out
}

/// Runs whole, byte by byte and in random splits (reusing one parser, which also checks
/// `reset`), expects identical results, and returns the whole-feed one.
func runAllSplits(_ segs: [HTTPSeg], config: HTTPConfig = .init(), finish: Bool = true,
                  seeds: ClosedRange<UInt64> = 1 ... 6,
                  sourceLocation: SourceLocation = #_sourceLocation) -> HTTPRun {
    var parser: HTTPParser? = nil
    let whole = runHTTP(segs, config: config, split: .whole, finish: finish, parser: &parser)
    let bytes = runHTTP(segs, config: config, split: .bytes, finish: finish, parser: &parser)
    #expect(bytes == whole, "byte-by-byte differs", sourceLocation: sourceLocation)
    for seed in seeds {
        let r = runHTTP(segs, config: config, split: .random(seed), finish: finish, parser: &parser)
        #expect(r == whole, "random split \(seed) differs", sourceLocation: sourceLocation)
    }
    return whole
}
