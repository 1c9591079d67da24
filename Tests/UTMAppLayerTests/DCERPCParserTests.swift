import Testing
import UTMCore
@testable import UTMAppLayer

/// Connection-oriented DCE/RPC PDUs built after [C706] 12.6 in either byte order.
enum DCEBuild {
    static let spoolss = "12345678-1234-abcd-ef00-0123456789ab"
    static let lsarpc = "12345778-1234-abcd-ef00-0123456789ab"
    static let ndr = "8a885d04-1ceb-11c9-9fe8-08002b104860"

    static func u16(_ v: Int, _ le: Bool) -> [UInt8] {
        le ? [UInt8(v & 0xff), UInt8(v >> 8 & 0xff)] : [UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
    }
    static func u32(_ v: Int, _ le: Bool) -> [UInt8] {
        le ? u16(v & 0xffff, true) + u16(v >> 16 & 0xffff, true) : u16(v >> 16 & 0xffff, false) + u16(v & 0xffff, false)
    }
    /// A UUID's wire form: the first three fields in the PDU's byte order.
    static func uuid(_ s: String, _ le: Bool) -> [UInt8] {
        let hex = Array(s.replacingOccurrences(of: "-", with: "").utf8)
        var b: [UInt8] = []
        var i = 0
        while i < 32 { b.append(UInt8(String(decoding: hex[i ..< i + 2], as: UTF8.self), radix: 16)!); i += 2 }
        guard le else { return b }
        return Array(b[0 ..< 4].reversed()) + Array(b[4 ..< 6].reversed()) + Array(b[6 ..< 8].reversed()) + Array(b[8...])
    }
    static func pdu(_ type: UInt8, flags: UInt8 = 3, call: Int, le: Bool, auth: Int = 0, _ body: [UInt8]) -> [UInt8] {
        let authPart: [UInt8] = auth > 0 ? [10, 2, 0, 0] + u32(0, le) + [UInt8](repeating: 0xaa, count: auth) : []
        let len = 16 + body.count + authPart.count
        return [5, 0, type, flags, le ? 0x10 : 0x00, 0, 0, 0] + u16(len, le) + u16(auth, le) + u32(call, le) + body + authPart
    }
    static func bind(call: Int, le: Bool = true, type: UInt8 = 11, _ ctxs: [(Int, String, Int, Int)]) -> [UInt8] {
        var body = u16(4280, le) + u16(4280, le) + u32(0, le) + [UInt8(ctxs.count), 0, 0, 0]
        for (id, u, major, minor) in ctxs {
            body += u16(id, le) + [1, 0] + uuid(u, le) + u16(major, le) + u16(minor, le) + uuid(ndr, le) + u32(2, le)
        }
        return pdu(type, call: call, le: le, body)
    }
    static func bindAck(call: Int, le: Bool = true, type: UInt8 = 12, _ results: [Int]) -> [UInt8] {
        let sec: [UInt8] = Array("\\PIPE\\spoolss".utf8) + [0]
        var body = u16(4280, le) + u16(4280, le) + u32(0x1234, le) + u16(sec.count, le) + sec
        while (16 + body.count) % 4 != 0 { body.append(0) }
        body += [UInt8(results.count), 0, 0, 0]
        for r in results { body += u16(r, le) + u16(0, le) + uuid(ndr, le) + u32(2, le) }
        return pdu(type, call: call, le: le, body)
    }
    static func request(call: Int, ctx: Int, opnum: Int, le: Bool = true, flags: UInt8 = 3, object: String? = nil,
                        auth: Int = 0, _ stub: [UInt8]) -> [UInt8] {
        var body = u32(stub.count, le) + u16(ctx, le) + u16(opnum, le)
        if let object { body += uuid(object, le) }
        return pdu(0, flags: flags | (object != nil ? 0x80 : 0), call: call, le: le, auth: auth, body + stub)
    }
    static func response(call: Int, ctx: Int = 0, le: Bool = true, flags: UInt8 = 3, _ stub: [UInt8]) -> [UInt8] {
        pdu(2, flags: flags, call: call, le: le, u32(stub.count, le) + u16(ctx, le) + [0, 0] + stub)
    }
    static func fault(call: Int, status: Int, le: Bool = true) -> [UInt8] {
        pdu(3, call: call, le: le, u32(0, le) + u16(0, le) + [0, 0] + u32(status, le) + u32(0, le))
    }
}

/// What the parser lent out, copied for comparison.
struct DCESeen: Equatable {
    var kind: String
    var call: UInt32
    var opnum: UInt16
    var ctx: UInt16
    var reqType: UInt8
    var respType: UInt8
    var stub: [UInt8]
    var reqStubSize: Int
    var frags: UInt32
    var little: Bool
    var object: DCERPCUUID?
    var iface: DCERPCInterface?
}

@Suite struct DCERPCParserTests {
    typealias B = DCEBuild

    static func conversation(le: Bool) -> [(Direction, [UInt8])] {
        [
            (.toServer, B.bind(call: 1, le: le, [(0, B.spoolss, 1, 0), (1, B.lsarpc, 0, 0)])),
            (.toClient, B.bindAck(call: 1, le: le, [0, 2])),
            (.toServer, B.request(call: 2, ctx: 0, opnum: 89, le: le, [1, 2, 3, 4, 5, 6, 7, 8])),
            (.toClient, B.response(call: 2, le: le, [9, 9, 0, 0])),
        ]
    }

    /// Feeds `items` cut into `chunk`-byte pieces (0: whole) and records what comes out.
    static func run(_ items: [(Direction, [UInt8])], chunk: Int = 0,
                    config: DCERPCConfig = .init()) -> ([DCESeen], DCERPCParser) {
        var p = DCERPCParser(config: config)
        var seen: [DCESeen] = []
        for (d, bytes) in items {
            var o = 0
            repeat {
                let n = chunk == 0 ? bytes.count : min(chunk, bytes.count - o)
                Array(bytes[o ..< o + n]).withByteView { v in
                    p.feed(v, direction: d, gap: false) { parser, kind, tx in
                        let d: Direction = kind == .request ? .toServer : .toClient
                        let stub = (kind == .request || tx.hasResponse) ? parser.withStub(d) { $0.bytes } : []
                        seen.append(DCESeen(kind: kind == .request ? "request" : "complete", call: tx.callID, opnum: tx.opnum,
                                            ctx: tx.contextID, reqType: tx.requestType, respType: tx.responseType,
                                            stub: stub, reqStubSize: tx.requestStubSize,
                                            frags: kind == .request ? tx.requestFrags : tx.responseFrags,
                                            little: kind == .request ? tx.requestLittleEndian : tx.responseLittleEndian,
                                            object: tx.objectUUID, iface: parser.interface(contextID: tx.contextID)))
                    }
                }
                o += n
            } while o < bytes.count
        }
        return (seen, p)
    }

    @Test(arguments: [true, false])
    func bindAckRequestResponse(le: Bool) {
        let (seen, p) = Self.run(Self.conversation(le: le))
        #expect(p.malformed == 0)
        #expect(p.interfaces.count == 2)
        #expect(p.interfaces[0].uuid == DCERPCUUID(text: Substring(B.spoolss)))
        #expect(p.interfaces[0].acked && p.interfaces[0].result == 0 && p.interfaces[0].versionMajor == 1)
        #expect(p.interfaces[1].uuid == DCERPCUUID(text: Substring(B.lsarpc)))
        #expect(p.interfaces[1].acked && p.interfaces[1].result == 2)
        #expect(seen.map(\.kind) == ["complete", "request", "complete"])
        #expect(seen[0].reqType == DCERPCType.bind && seen[0].respType == DCERPCType.bindAck && seen[0].call == 1)
        #expect(seen[1].opnum == 89 && seen[1].ctx == 0 && seen[1].stub == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(seen[1].little == le)
        #expect(seen[1].iface?.uuid == DCERPCUUID(text: Substring(B.spoolss)))
        #expect(seen[2].respType == DCERPCType.response && seen[2].stub == [9, 9, 0, 0] && seen[2].reqStubSize == 8)
        #expect(p.pending.isEmpty)
    }

    @Test func uuidText() {
        let u = DCERPCUUID(text: Substring(B.spoolss))!
        #expect(u.withText { String(decoding: $0.bytes, as: UTF8.self) } == B.spoolss)
        #expect(DCERPCUUID(text: "12345678-1234-abcd-ef00-0123456789a") == nil)
        #expect(DCERPCUUID(text: "12345678x1234-abcd-ef00-0123456789ab") == nil)
        #expect(DCERPCUUID(text: "1234567g-1234-abcd-ef00-0123456789ab") == nil)
    }

    @Test(arguments: [true, false])
    func multiFragmentStub(le: Bool) {
        let a = [UInt8](repeating: 0x41, count: 30), b = [UInt8](repeating: 0x42, count: 20), c: [UInt8] = [1, 2, 3]
        let items: [(Direction, [UInt8])] = [
            (.toServer, B.bind(call: 1, le: le, [(3, B.spoolss, 1, 0)])),
            (.toClient, B.bindAck(call: 1, le: le, [0])),
            (.toServer, B.request(call: 7, ctx: 3, opnum: 65, le: le, flags: 1, a)),
            (.toServer, B.request(call: 7, ctx: 3, opnum: 65, le: le, flags: 0, b)),
            (.toServer, B.request(call: 7, ctx: 3, opnum: 65, le: le, flags: 2, c)),
        ]
        let (seen, _) = Self.run(items)
        #expect(seen.map(\.kind) == ["complete", "request"])
        #expect(seen[1].stub == a + b + c && seen[1].frags == 3 && seen[1].opnum == 65)
    }

    @Test func stubCutAtBound() {
        var config = DCERPCConfig()
        config.maxStubBytes = 10
        let items: [(Direction, [UInt8])] = [
            (.toServer, B.request(call: 7, ctx: 0, opnum: 1, flags: 1, [UInt8](repeating: 1, count: 8))),
            (.toServer, B.request(call: 7, ctx: 0, opnum: 1, flags: 2, [UInt8](repeating: 2, count: 8))),
        ]
        let (seen, p) = Self.run(items, config: config)
        #expect(seen.count == 1 && seen[0].stub == [1, 1, 1, 1, 1, 1, 1, 1, 2, 2] && seen[0].reqStubSize == 10, "the buffered length, as Suricata")
        #expect(p.stubBytesCut == 6)
    }

    @Test func authTrailerIsNotStub() {
        let (seen, _) = Self.run([(.toServer, B.request(call: 3, ctx: 0, opnum: 4, auth: 16, [7, 7, 7, 7]))])
        #expect(seen.count == 1 && seen[0].stub == [7, 7, 7, 7] && seen[0].opnum == 4)
    }

    @Test(arguments: [true, false])
    func objectUUID(le: Bool) {
        let obj = "01020304-0506-0708-090a-0b0c0d0e0f10"
        let (seen, _) = Self.run([(.toServer, B.request(call: 3, ctx: 1, opnum: 2, le: le, object: obj, [5, 6]))])
        #expect(seen.count == 1 && seen[0].object == DCERPCUUID(text: Substring(obj)) && seen[0].stub == [5, 6])
    }

    @Test func faultCompletesTheCall() {
        let items: [(Direction, [UInt8])] = [
            (.toServer, B.request(call: 9, ctx: 0, opnum: 1, [1])),
            (.toClient, B.fault(call: 9, status: 0x1c010002)),
        ]
        var faults: [UInt32] = []
        var p = DCERPCParser()
        for (d, b) in items {
            b.withByteView { v in p.feed(v, direction: d, gap: false) { _, k, tx in if k == .complete { faults.append(tx.faultStatus) } } }
        }
        #expect(faults == [0x1c010002])
    }

    @Test func splitAtEveryOffsetGivesTheSameResult() {
        for le in [true, false] {
            let whole = Self.run(Self.conversation(le: le)).0
            for chunk in 1 ... 40 {
                #expect(Self.run(Self.conversation(le: le), chunk: chunk).0 == whole, "chunk \(chunk)")
            }
            // Two-piece splits at every offset of each PDU.
            for (k, item) in Self.conversation(le: le).enumerated() {
                for cut in 0 ... item.1.count {
                    var items: [(Direction, [UInt8])] = []
                    for (j, it) in Self.conversation(le: le).enumerated() {
                        if j == k {
                            items.append((it.0, Array(it.1[..<cut])))
                            items.append((it.0, Array(it.1[cut...])))
                        } else {
                            items.append(it)
                        }
                    }
                    #expect(Self.run(items.filter { !$0.1.isEmpty }).0 == whole, "pdu \(k) cut \(cut)")
                }
            }
        }
    }

    @Test func truncatedAtEveryLengthNeverTraps() {
        let all = Self.conversation(le: true).flatMap { $0.1 }
        for (d, bytes) in Self.conversation(le: false) + [(.toServer, all)] {
            for n in 0 ... bytes.count {
                var p = DCERPCParser()
                Array(bytes[..<n]).withByteView { v in p.feed(v, direction: d, gap: false) { _, _, _ in } }
                p.finish { _, _, _ in }
            }
        }
    }

    @Test func nonsenseAfterAGoodPDUStopsTheDirection() {
        let good = B.request(call: 1, ctx: 0, opnum: 5, [1, 2])
        let junk: [UInt8] = Array("GET / HTTP/1.1\r\n\r\n".utf8)
        let (seen, p) = Self.run([(.toServer, good + junk + good)])
        #expect(seen.count == 1 && seen[0].opnum == 5)
        #expect(p.malformed == 1)
        // A valid PDU afterwards is not read: the framing is lost.
        let (again, _) = Self.run([(.toServer, good + junk), (.toServer, good)])
        #expect(again.count == 1)
    }

    @Test func gapStopsTheDirection() {
        var p = DCERPCParser()
        var n = 0
        B.request(call: 1, ctx: 0, opnum: 5, [1]).withByteView { v in p.feed(v, direction: .toServer, gap: true) { _, _, _ in n += 1 } }
        #expect(n == 0)
    }

    @Test func probe() {
        #expect(B.bind(call: 1, [(0, B.spoolss, 1, 0)]).withByteView { DCERPCParser.probe($0) })
        #expect(B.bind(call: 1, le: false, type: 14, [(0, B.spoolss, 1, 0)]).withByteView { DCERPCParser.probe($0) })
        #expect(!B.request(call: 1, ctx: 0, opnum: 1, [1]).withByteView { DCERPCParser.probe($0) })
        #expect(!Array("GET / HTTP/1.1\r\n".utf8).withByteView { DCERPCParser.probe($0) })
        var bad = B.bind(call: 1, [(0, B.spoolss, 1, 0)])
        bad[1] = 2
        #expect(!bad.withByteView { DCERPCParser.probe($0) })
    }

    @Test func boundsOnInterfacesAndPending() {
        var config = DCERPCConfig()
        config.maxInterfaces = 2
        config.maxPending = 2
        var items: [(Direction, [UInt8])] = [(.toServer, B.bind(call: 1, [(0, B.spoolss, 1, 0), (1, B.lsarpc, 0, 0), (2, B.ndr, 2, 0)]))]
        for c in 2 ... 5 { items.append((.toServer, B.request(call: c, ctx: 0, opnum: 1, [1]))) }
        let (seen, p) = Self.run(items, config: config)
        #expect(p.interfaces.count == 2 && p.interfacesDropped == 1)
        #expect(p.pending.count == 2 && p.pendingEvicted == 3)
        #expect(seen.filter { $0.kind == "request" }.count == 4)
    }

    @Test func alterContextAddsAndBindReplaces() {
        let items: [(Direction, [UInt8])] = [
            (.toServer, B.bind(call: 1, [(0, B.spoolss, 1, 0)])),
            (.toClient, B.bindAck(call: 1, [0])),
            (.toServer, B.bind(call: 2, type: 14, [(1, B.lsarpc, 0, 0)])),
            (.toClient, B.bindAck(call: 2, type: 15, [0])),
        ]
        let (_, p) = Self.run(items)
        #expect(p.interfaces.count == 2 && p.interfaces.allSatisfy { $0.acked && $0.result == 0 })
        // A new BIND replaces the list when its BIND_ACK comes, not before.
        let (_, q) = Self.run(items + [(.toServer, B.bind(call: 3, [(0, B.ndr, 1, 0)]))])
        #expect(q.interfaces.count == 3 && q.interface(contextID: 0)?.uuid == DCERPCUUID(text: Substring(B.spoolss)))
        let (_, r) = Self.run(items + [(.toServer, B.bind(call: 3, [(0, B.ndr, 1, 0)])), (.toClient, B.bindAck(call: 3, [0]))])
        #expect(r.interfaces.count == 1 && r.interfaces[0].acked && r.interfaces[0].callID == 3)
    }

    /// Review 12A (5): A's first fragment, B whole, A's last fragment (interleaved calls, as
    /// a multiplexing client sends them): B's stub is B's alone, A's is both its fragments;
    /// then a third call while A is parked and A resumes under it starts afresh (bounded).
    @Test func interleavedCallsKeepTheirStubs() {
        let items: [(Direction, [UInt8])] = [
            (.toServer, B.request(call: 2, ctx: 0, opnum: 5, flags: 1, [0xa1, 0xa1, 0xa1])),
            (.toServer, B.request(call: 3, ctx: 0, opnum: 6, flags: 3, [0xb1, 0xb2])),
            (.toServer, B.request(call: 2, ctx: 0, opnum: 5, flags: 2, [0xa2])),
            (.toClient, B.response(call: 3, flags: 1, [0xc3])),
            (.toClient, B.response(call: 2, flags: 3, [0xc2, 0xc2])),
            (.toClient, B.response(call: 3, flags: 2, [0xd3])),
        ]
        for chunk in [0, 1, 7] {
            let (seen, _) = Self.run(items, chunk: chunk)
            let reqs = seen.filter { $0.kind == "request" }
            #expect(reqs.count == 2 && reqs[0].call == 3 && reqs[0].stub == [0xb1, 0xb2] && reqs[0].reqStubSize == 2, "\(chunk)")
            #expect(reqs.count == 2 && reqs[1].call == 2 && reqs[1].stub == [0xa1, 0xa1, 0xa1, 0xa2] && reqs[1].frags == 2
                    && reqs[1].reqStubSize == 4, "\(chunk)")
            let done = seen.filter { $0.kind == "complete" }
            #expect(done.count == 2 && done[0].call == 2 && done[0].stub == [0xc2, 0xc2], "\(chunk)")
            #expect(done.count == 2 && done[1].call == 3 && done[1].stub == [0xc3, 0xd3] && done[1].frags == 2, "\(chunk)")
        }
        // A parked, B started and interrupted by A: A restarts from this fragment (not first).
        let (seen, _) = Self.run([
            (.toServer, B.request(call: 2, ctx: 0, opnum: 5, flags: 1, [1])),
            (.toServer, B.request(call: 3, ctx: 0, opnum: 6, flags: 1, [2])),
            (.toServer, B.request(call: 4, ctx: 0, opnum: 6, flags: 3, [3])),
            (.toServer, B.request(call: 2, ctx: 0, opnum: 5, flags: 2, [4])),
        ])
        #expect(seen.map(\.stub) == [[3], [4]], "\(seen.map(\.stub))")
    }

    /// Review 12E (2): A and B interleaved fragment by fragment, each returning while the
    /// other is open: every return swaps them, so each stub is its own fragments in order.
    @Test func callsSwappedFragmentByFragmentKeepTheirStubs() {
        let items: [(Direction, [UInt8])] = [
            (.toServer, B.request(call: 2, ctx: 0, opnum: 5, flags: 1, [0xa1, 0xa1])),
            (.toServer, B.request(call: 3, ctx: 0, opnum: 6, flags: 1, [0xb1])),
            (.toServer, B.request(call: 2, ctx: 0, opnum: 5, flags: 0, [0xa2])),
            (.toServer, B.request(call: 3, ctx: 0, opnum: 6, flags: 0, [0xb2, 0xb2, 0xb2])),
            (.toServer, B.request(call: 2, ctx: 0, opnum: 5, flags: 2, [0xa3])),
            (.toServer, B.request(call: 3, ctx: 0, opnum: 6, flags: 2, [0xb3])),
        ]
        for chunk in [0, 1, 7] {
            let (seen, p) = Self.run(items, chunk: chunk)
            #expect(seen.map(\.call) == [2, 3], "\(chunk)")
            #expect(seen.map(\.stub) == [[0xa1, 0xa1, 0xa2, 0xa3], [0xb1, 0xb2, 0xb2, 0xb2, 0xb3]], "\(chunk)")
            #expect(seen.map(\.frags) == [3, 3] && seen.map(\.reqStubSize) == [4, 5] && p.parkedCallsDropped == 0, "\(chunk)")
        }
    }

    /// Review 12E (2): each swap moves the whole stub buffer, so a client alternating two
    /// calls forever gets 8 swaps; the 9th return starts that call afresh (counted).
    @Test func swapsBetweenTwoCallsAreBounded() {
        var items: [(Direction, [UInt8])] = [
            (.toServer, B.request(call: 2, ctx: 0, opnum: 5, flags: 1, [100])),
            (.toServer, B.request(call: 3, ctx: 0, opnum: 6, flags: 1, [101])),
        ]
        for i in 0 ..< 9 { items.append((.toServer, B.request(call: i % 2 == 0 ? 2 : 3, ctx: 0, opnum: 5, flags: 0, [UInt8(i)]))) }
        items.append((.toServer, B.request(call: 2, ctx: 0, opnum: 5, flags: 2, [200])))
        let (seen, p) = Self.run(items)
        #expect(p.parkedCallsDropped == 1)
        #expect(seen.count == 1 && seen[0].call == 2 && seen[0].stub == [8, 200] && seen[0].frags == 2, "\(seen.map(\.stub))")
        // Control: 7 returns, A's last fragment while A is active (no swap): A keeps all.
        let (ok, q) = Self.run(Array(items.prefix(9)) + [items.last!])
        #expect(q.parkedCallsDropped == 0 && ok.count == 1 && ok[0].stub == [100, 0, 2, 4, 6, 200], "\(ok.map(\.stub))")
    }

    /// Review 12E (1): a parked call filling the buffer is dropped (counted) for the next
    /// call's stub, which gets its full room.
    @Test func parkedCallGivesWayToTheCurrentCall() {
        var config = DCERPCConfig()
        config.maxStubBytes = 8
        let (seen, p) = Self.run([
            (.toServer, B.request(call: 2, ctx: 0, opnum: 5, flags: 1, [UInt8](repeating: 1, count: 6))),
            (.toServer, B.request(call: 3, ctx: 0, opnum: 6, flags: 3, [2, 2, 2, 2, 2, 2, 2, 2])),
            (.toServer, B.request(call: 2, ctx: 0, opnum: 5, flags: 2, [3])),
        ], config: config)
        #expect(seen.map(\.stub) == [[2, 2, 2, 2, 2, 2, 2, 2], [3]] && p.parkedCallsDropped == 1 && p.stubBytesCut == 0)
    }

    /// Review 12E (4): a pipe switch (`resetFraming(keepingCalls:)`) keeps the call when the
    /// abandoned PDU put no stub bytes in the buffer, and drops it when it was cut inside its
    /// stub (those bytes cannot be told from the call's).
    @Test func pipeSwitchKeepsTheCallOnlyWithoutCutStubBytes() {
        let first = B.request(call: 2, ctx: 0, opnum: 5, flags: 1, [1, 1])
        let other = B.request(call: 9, ctx: 0, opnum: 5, flags: 3, [7, 7, 7, 7])
        let last = B.request(call: 2, ctx: 0, opnum: 5, flags: 2, [3])
        for (cutAt, kept) in [(0, true), (5, true), (24, true), (26, false)] {
            var p = DCERPCParser()
            var stubs: [[UInt8]] = []
            for (k, bytes) in [first, Array(other.prefix(cutAt)), last].enumerated() {
                if k == 2 { p.resetFraming(keepingCalls: true) }
                bytes.withByteView { v in
                    p.feed(v, direction: .toServer, gap: false) { q, _, _ in stubs.append(q.withStub(.toServer) { $0.bytes }) }
                }
            }
            #expect(stubs.first == (kept ? [1, 1, 3] : [3]), "cut at \(cutAt): \(stubs)")
        }
    }

    /// Review 12A (b): a second BIND the server naks leaves the accepted bindings in place.
    @Test func nakedBindKeepsTheBindings() {
        let items: [(Direction, [UInt8])] = [
            (.toServer, B.bind(call: 1, [(0, B.spoolss, 1, 0)])),
            (.toClient, B.bindAck(call: 1, [0])),
            (.toServer, B.bind(call: 2, [(0, B.lsarpc, 0, 0)])),
            (.toClient, B.pdu(DCERPCType.bindNak, call: 2, le: true, B.u16(0, true) + [0])),
        ]
        let (_, p) = Self.run(items)
        let b = p.interface(contextID: 0)
        #expect(b?.uuid == DCERPCUUID(text: Substring(B.spoolss)) && b?.acked == true && b?.result == 0)
    }

    /// Review 12A (a): an ALTER_CONTEXT re-offering context 0 with another UUID, which the
    /// server rejects, does not shadow the accepted binding (the accepted entry wins).
    @Test func rejectedReofferDoesNotShadowTheAcceptedContext() {
        let items: [(Direction, [UInt8])] = [
            (.toServer, B.bind(call: 1, [(0, B.spoolss, 1, 0)])),
            (.toClient, B.bindAck(call: 1, [0])),
            (.toServer, B.bind(call: 2, type: 14, [(0, B.lsarpc, 0, 0)])),
        ]
        let (_, p) = Self.run(items)
        #expect(p.interface(contextID: 0)?.uuid == DCERPCUUID(text: Substring(B.spoolss)), "un-acked re-offer")
        let (_, q) = Self.run(items + [(.toClient, B.bindAck(call: 2, type: 15, [2]))])
        #expect(q.interface(contextID: 0)?.uuid == DCERPCUUID(text: Substring(B.spoolss)), "rejected re-offer")
        // Without an accepted entry, the last offered is still answered (its state says so).
        let (_, r) = Self.run([(.toServer, B.bind(call: 1, [(0, B.lsarpc, 0, 0)]))])
        #expect(r.interface(contextID: 0)?.acked == false)
    }

    /// Review 12A (1): 255 contexts in one BIND (n_context_elem is a byte) are all bound, the
    /// last one too, and a full list makes room for an ALTER_CONTEXT's new context.
    @Test func fullBindOf255Contexts() {
        let ctxs = (0 ..< 255).map { ($0, String(format: "00000000-1111-2222-3333-%012x", $0), 1, 0) }
        let items: [(Direction, [UInt8])] = [
            (.toServer, B.bind(call: 1, ctxs)),
            (.toClient, B.bindAck(call: 1, [Int](repeating: 0, count: 255))),
            (.toServer, B.bind(call: 2, type: 14, [(300, B.spoolss, 1, 0), (301, B.lsarpc, 1, 0)])),
            (.toClient, B.bindAck(call: 2, type: 15, [0, 0])),
        ]
        let (_, p) = Self.run(items)
        #expect(p.interface(contextID: 254)?.acked == true)
        #expect(p.interface(contextID: 300)?.uuid == DCERPCUUID(text: Substring(B.spoolss)) && p.interface(contextID: 300)?.acked == true)
        #expect(p.interface(contextID: 301)?.acked == true && p.interfacesDropped == 1 && p.interface(contextID: 0) == nil)
    }
}

import AllocationCounter

/// DESIGN: feeding a reset parser allocates nothing (its buffers are reserved in `init`).
@Suite(.serialized) struct DCERPCAllocationTests {
    @Test func feedingDoesNotAllocate() {
        guard allocationCounterWorks() else { return }
        let items = DCERPCParserTests.conversation(le: true) + DCERPCParserTests.conversation(le: false)
            + [(.toServer, DCEBuild.request(call: 9, ctx: 0, opnum: 1, flags: 1, [1, 2])),
               (.toServer, DCEBuild.request(call: 9, ctx: 0, opnum: 1, flags: 2, [3])),
               (.toClient, DCEBuild.fault(call: 9, status: 5)),
               // Review 12E: park, swap (rotation), the parked call dropped for the room.
               (.toServer, DCEBuild.request(call: 10, ctx: 0, opnum: 1, flags: 1, [UInt8](repeating: 1, count: 40_000))),
               (.toServer, DCEBuild.request(call: 11, ctx: 0, opnum: 1, flags: 1, [4])),
               (.toServer, DCEBuild.request(call: 10, ctx: 0, opnum: 1, flags: 0, [5])),
               (.toServer, DCEBuild.request(call: 11, ctx: 0, opnum: 1, flags: 2, [UInt8](repeating: 6, count: 30_000))),
               (.toClient, DCEBuild.response(call: 11, [7]))]
        var p = DCERPCParser()
        var seen = 0
        func run() {
            p.reset()
            // Indices, not `for (d, bytes) in items`: the tuple iteration allocates in debug builds.
            for i in items.indices {
                items[i].1.withByteView { v in
                    p.feed(v, direction: items[i].0, gap: false) { q, _, tx in seen += q.withStub(.toServer) { $0.count } + Int(tx.opnum) }
                }
            }
            p.resetFraming(keepingCalls: true)
            p.finish { _, _, _ in }
        }
        run()
        let n = countAllocations { run() }
        #expect(n == 0, "the parser allocated \(n) times")
        #expect(p.parkedCallsDropped == 1)
        #expect(seen > 0)
    }
}

extension DCERPCParserTests {
    /// A RESPONSE from the client or a REQUEST from the server is framed and ignored: it
    /// neither completes a call nor touches the stub being reassembled the other way.
    @Test func pduTypesTheWrongWayAreIgnored() {
        let items: [(Direction, [UInt8])] = [
            (.toServer, DCEBuild.request(call: 4, ctx: 0, opnum: 7, flags: 1, [1, 2])),
            (.toServer, DCEBuild.response(call: 4, [9, 9])),
            (.toClient, DCEBuild.request(call: 4, ctx: 0, opnum: 8, [8, 8])),
            (.toServer, DCEBuild.request(call: 4, ctx: 0, opnum: 7, flags: 2, [3])),
            (.toClient, DCEBuild.response(call: 4, [6])),
        ]
        let (seen, p) = Self.run(items)
        #expect(seen.map(\.kind) == ["request", "complete"])
        #expect(seen[0].stub == [1, 2, 3] && seen[0].opnum == 7 && seen[1].stub == [6])
        #expect(p.malformed == 0 && p.pending.isEmpty)
    }
}
