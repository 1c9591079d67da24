// libFuzzer target: pieces of a DCE/RPC connection, each led by a control byte (bits 0-5:
// length in units of 4 bytes + 1, bit 6: from the server, bit 7: a gap before it), fed to one
// parser that lives across inputs (reset between them), with small limits (a 24-byte stub, a
// 64-byte PDU prefix, 3 contexts, 2 pending calls) so the cut, drop and eviction paths are
// reached; a gap piece starting with an odd byte is a pipe switch (framing reset, calls kept). Must never trap; every stub and interface lent out is read in full.
// The pieces are read by Fuzz/Shared/FuzzPieces.swift (compiled in by tools/fuzz.sh).
import UTMCore
import UTMAppLayer

nonisolated(unsafe) var fuzzDCERPCParser: DCERPCParser = {
    var c = DCERPCConfig()
    c.maxStubBytes = 24
    c.maxPDUPrefix = 64
    c.maxInterfaces = 3
    c.maxPending = 2
    return DCERPCParser(config: c)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDCERPC(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var sum = 0
    func read(_ p: borrowing DCERPCParser, _ kind: DCERPCEventKind, _ t: DCERPCTransaction) {
        let d: Direction = kind == .request ? .toServer : .toClient
        p.withStub(d) { $0.forEachByte { sum &+= Int($0) } }
        if let i = p.interface(contextID: t.contextID) {
            sum &+= Int(truncatingIfNeeded: i.uuid.hi) &+ Int(i.result)
            i.uuid.withText { $0.forEachByte { sum &+= Int($0) } }
        }
        sum &+= Int(t.opnum) &+ Int(t.callID) &+ t.requestStubSize &+ t.responseStubSize &+ Int(truncatingIfNeeded: t.id)
    }
    fuzzDCERPCParser.reset()
    if DCERPCParser.probe(ByteView(unsafeStart: UnsafeRawPointer(data), count: size)) { sum &+= 1 }
    forEachPiece(data, size, unit: 4) { piece, direction, gap in
        // A gap before a piece whose first byte is odd stands for an SMB pipe switch instead:
        // the framing restarts, the calls are kept (`resetFraming(keepingCalls:)`).
        if gap, let b = piece.u8(0), b & 1 == 1 {
            fuzzDCERPCParser.resetFraming(keepingCalls: true)
            fuzzDCERPCParser.feed(piece, direction: direction, gap: false, on: read)
        } else {
            fuzzDCERPCParser.feed(piece, direction: direction, gap: gap, on: read)
        }
    }
    fuzzDCERPCParser.finish(on: read)
    return sum == -1 ? 1 : 0
}
