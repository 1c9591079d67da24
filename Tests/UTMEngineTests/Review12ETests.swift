import Foundation
import Testing
import UTMCore
import UTMDetect
@testable import UTMEngine

/// Second review of session 12's DCE/RPC fixes (dcerpcfix): each test fails on ebce5c5.
@Suite struct Review12ETests {
    typealias D = DCERPCEngineTests
    typealias T = EngineTraffic
    typealias S = Session7KeywordEngineTests
    typealias A = Review12ATests

    static let rules = """
        alert dcerpc any any -> any any (msg:"spoolss"; flow:to_server; dcerpc.iface:\(D.spoolss); dcerpc.opnum:89; sid:1;)
        alert dcerpc any any -> any any (msg:"stub"; flow:to_server; dce_stub_data; content:"PrinterDriver"; sid:2;)
        alert dcerpc any any -> any any (msg:"whole stub"; flow:to_server; dce_stub_data; content:"RpcAddPrinterDriverEx"; sid:3;)
        """

    /// The parked call's bytes stay at the front of the one stub buffer and count against
    /// `maxStubBytes` of the call that interrupted it: call A's first fragments fill 64 KiB
    /// (never finished), then call B, whole, carries the payload: B's stub is empty, so
    /// `dce_stub_data` never sees it. Before the fix B cleared A and was inspected; Suricata
    /// keeps a buffer per call.
    @Test func aParkedCallDoesNotStarveTheNextCallsStub() throws {
        let junk = [UInt8](repeating: 0x41, count: 60_000)
        let frames = T.tcpSession(v6: false, sport: 48301, dport: 135, exchanges: [
            (D.bind(call: 1, le: true, [(0, D.spoolss)]), D.bindAck(call: 1, le: true, [0])),
            (D.request(call: 2, ctx: 0, opnum: 1, le: true, flags: 1, junk), []),
            (D.request(call: 2, ctx: 0, opnum: 1, le: true, flags: 0, Array(junk.prefix(6000))), []),
            (D.request(call: 3, ctx: 0, opnum: 89, le: true, Array("\\\\evil\\RpcAddPrinterDriverEx".utf8)),
             D.response(call: 3, le: true, [0, 0, 0, 0])),
        ])
        let n = try Session6KeywordEngineTests.alerts(Self.rules, frames)
        #expect(n[1] == 1 && n[2] == 1, "call B's stub was starved by the parked call A: \(n)")
    }

    /// A(first), B(first, not last), A(last): A comes back while B is active, so it is not
    /// resumed (only `!callActive` resumes) and both are dropped: A's stub is only its last
    /// fragment, a content across A's fragments is missed (Suricata: per call_id buffers).
    @Test func aCallResumedWhileTheInterrupterIsActiveKeepsItsStub() throws {
        let frames = T.tcpSession(v6: false, sport: 48302, dport: 135, exchanges: [
            (D.bind(call: 1, le: true, [(0, D.spoolss)]), D.bindAck(call: 1, le: true, [0])),
            (D.request(call: 2, ctx: 0, opnum: 89, le: true, flags: 1, Array("\\\\evil\\RpcAddPrin".utf8)), []),
            (D.request(call: 3, ctx: 0, opnum: 1, le: true, flags: 1, [1, 2, 3, 4]), []),
            (D.request(call: 2, ctx: 0, opnum: 89, le: true, flags: 2, Array("terDriverEx".utf8)),
             D.response(call: 2, le: true, [0, 0, 0, 0])),
        ])
        let n = try Session6KeywordEngineTests.alerts(Self.rules, frames)
        #expect(n[3] == 1, "A's first fragment was lost: \(n)")
    }

    // MARK: SMB pipe data streamed past the record buffer

    /// `decidePipe` requires NextCommand == 0: the same padded WRITE as
    /// Review12ATests.paddedWriteBeyondTheRecordBufferIsStillInspected, sent as the second
    /// message of a compound request (an ECHO first), is still hidden. Suricata parses every
    /// message of a compound record.
    @Test(.disabled("SMB pipe streaming: left for a later session (README)")) func paddedWriteInACompoundIsStillInspected() throws {
        let file = S.le64(0x77) + S.le64(0x99)
        let req = D.request(call: 3, ctx: 0, opnum: 89, le: true, Array("\\\\evil\\PrinterDriver".utf8))
        var echo = Array(S.smb2(command: 0x0d, messageID: 6, response: false, tree: 5, S.le16(4) + S.le16(0)).dropFirst(4))
        echo += [0, 0, 0, 0]  // 72: 8-byte aligned
        echo.replaceSubrange(20 ..< 24, with: S.le32(echo.count))
        let w = Array(A.write(7, file: file, req, pad: 8300).dropFirst(4))
        let smb = echo + w
        let record = [0, UInt8(smb.count >> 16), UInt8(smb.count >> 8 & 0xff), UInt8(smb.count & 0xff)] + smb
        let parts = stride(from: 0, to: record.count, by: 1400).map { Array(record[$0 ..< min($0 + 1400, record.count)]) }
        var middle: [([UInt8], [UInt8])] = parts.dropLast().map { ($0, []) }
        middle.append((parts.last!, A.written(7, req.count)))
        let n = try Session6KeywordEngineTests.alerts(Self.rules, A.pipeSession(sport: 48303, middle: middle))
        #expect(n[1] == 2 && n[2] == 2, "the padded write in a compound is not inspected: \(n)")
    }

    /// `decidePipe` runs only while the record is incomplete and at least 120 bytes of it are
    /// kept: when the first segment holds fewer (here 100) and the rest of the record comes in
    /// one chunk (a jumbo/GRO segment, or out-of-order segments released together), the
    /// record completes undecided and the kept-record path cuts the padded data away.
    @Test(.disabled("SMB pipe streaming: left for a later session (README)")) func paddedWriteWhoseHeaderIsSplitEarlyIsStillInspected() throws {
        let file = S.le64(0x77) + S.le64(0x99)
        let req = D.request(call: 3, ctx: 0, opnum: 89, le: true, Array("\\\\evil\\PrinterDriver".utf8))
        let w = A.write(6, file: file, req, pad: 8300)
        let middle: [([UInt8], [UInt8])] = [(Array(w.prefix(100)), []), (Array(w.dropFirst(100)), A.written(6, req.count))]
        let n = try Session6KeywordEngineTests.alerts(Self.rules, A.pipeSession(sport: 48304, middle: middle))
        #expect(n[1] == 2 && n[2] == 2, "the padded write is not inspected: \(n)")
    }

    /// The first chunk of the record is longer than the record buffer (a 9 KiB jumbo/GRO
    /// segment, or out-of-order segments released together): `decidePipe` lends the kept
    /// bytes (up to 8 KiB) and the later chunks, but the bytes of this first chunk beyond the
    /// buffer are never lent. Here the request PDU lies there: skipped, and the pipe's DCE/RPC
    /// framing desynchronised by the rest of it.
    @Test(.disabled("SMB pipe streaming: left for a later session (README)")) func pipeDataOfTheFirstChunkBeyondTheBufferIsNotSkipped() throws {
        let file = S.le64(0x77) + S.le64(0x99)
        let req = D.request(call: 3, ctx: 0, opnum: 89, le: true,
                            Array("\\\\evil\\PrinterDriver".utf8) + [UInt8](repeating: 0, count: 2000))
        let w = A.write(6, file: file, req, pad: 8150)
        let middle: [([UInt8], [UInt8])] = [(Array(w.prefix(8600)), []), (Array(w.dropFirst(8600)), A.written(6, req.count))]
        let n = try Session6KeywordEngineTests.alerts(Self.rules, A.pipeSession(sport: 48306, middle: middle))
        #expect(n[1] == 2 && n[2] == 2, "the first chunk's bytes beyond the buffer were skipped: \(n)")
    }

    /// A call in two fragments, each its own WRITE on pipe A (what a client does for a
    /// large call), with one byte written to pipe B between them: the switch resets the
    /// framing *and the stub* (`resetFraming`), so A's second fragment starts afresh and a
    /// content across A's fragments is missed. Suricata keeps the stub per call (SMB tx keyed
    /// by call id). Keep the stub (and the fragment state) per FileId, or at least not reset
    /// it when the next data of pipe A starts at a PDU boundary.
    @Test func aOneByteWriteToAnotherPipeBetweenFragmentsKeepsTheStub() throws {
        let file = S.le64(0x77) + S.le64(0x99), other = S.le64(0x78) + S.le64(0x9a)
        let f1 = D.request(call: 7, ctx: 0, opnum: 89, le: true, flags: 1, Array("\\\\evil\\RpcAddPrin".utf8))
        let f2 = D.request(call: 7, ctx: 0, opnum: 89, le: true, flags: 2, Array("terDriverEx".utf8))
        let n = try Session6KeywordEngineTests.alerts(Self.rules, A.pipeSession(sport: 48307, middle: [
            (A.write(5, file: file, f1), A.written(5, f1.count)),
            (A.write(6, file: other, [0]), A.written(6, 1)),
            (A.write(7, file: file, f2), A.written(7, f2.count)),
        ]))
        #expect(n[3] == 1, "the stub of pipe A's call was reset by a write to pipe B: \(n)")
    }

    /// Control for the test above (passes): without the write to pipe B the call matches.
    @Test func controlFragmentedCallOnOnePipeMatches() throws {
        let file = S.le64(0x77) + S.le64(0x99)
        let f1 = D.request(call: 7, ctx: 0, opnum: 89, le: true, flags: 1, Array("\\\\evil\\RpcAddPrin".utf8))
        let f2 = D.request(call: 7, ctx: 0, opnum: 89, le: true, flags: 2, Array("terDriverEx".utf8))
        let n = try Session6KeywordEngineTests.alerts(Self.rules, A.pipeSession(sport: 48308, middle: [
            (A.write(5, file: file, f1), A.written(5, f1.count)),
            (A.write(7, file: file, f2), A.written(7, f2.count)),
        ]))
        #expect(n[3] == 1, "\(n)")
    }

    /// Control for the two tests above (passes): a first chunk of 200 bytes (at least the
    /// 120 `decidePipe` needs, less than the buffer), the rest of the record in one chunk.
    @Test func controlPaddedWriteSplitAfterTheFixedPart() throws {
        let file = S.le64(0x77) + S.le64(0x99)
        let req = D.request(call: 3, ctx: 0, opnum: 89, le: true,
                            Array("\\\\evil\\PrinterDriver".utf8) + [UInt8](repeating: 0, count: 2000))
        let w = A.write(6, file: file, req, pad: 8150)
        let middle: [([UInt8], [UInt8])] = [(Array(w.prefix(200)), []), (Array(w.dropFirst(200)), A.written(6, req.count))]
        let n = try Session6KeywordEngineTests.alerts(Self.rules, A.pipeSession(sport: 48309, middle: middle))
        #expect(n[1] == 2 && n[2] == 2, "\(n)")
    }

    // MARK: Bindings

    /// Two pipelined ALTER_CONTEXTs of 255 decoys each (ids 1...510, never answered before
    /// the call) evict the accepted spoolss binding (the oldest: un-acked decoys are not
    /// "rejected"), so the call on context 0 has no interface. The server still has context 0
    /// bound to spoolss and serves the call. Evict un-acked/rejected entries of the newest
    /// pending offer before an accepted binding in use.
    @Test func pipelinedDecoyAlterContextsDoNotEvictTheAcceptedBinding() throws {
        func alter(_ call: Int, _ ids: Range<Int>) -> [UInt8] {
            var a = D.bind(call: call, le: true, ids.map { ($0, "00000000-1111-2222-3333-" + String(format: "%012x", $0)) })
            a[2] = 14
            return a
        }
        let flight = alter(2, 1 ..< 256) + alter(3, 256 ..< 511)
            + D.request(call: 4, ctx: 0, opnum: 89, le: true, [1, 2, 3, 4])
        let frames = T.tcpSession(v6: false, sport: 48305, dport: 135, exchanges: [
            (D.bind(call: 1, le: true, [(0, D.spoolss)]), D.bindAck(call: 1, le: true, [0])),
            (flight, D.response(call: 4, le: true, [0, 0, 0, 0])),
        ])
        let n = try Session6KeywordEngineTests.alerts(Self.rules, frames)
        #expect(n[1] == 1, "the accepted binding was evicted by decoys: \(n)")
    }
}
