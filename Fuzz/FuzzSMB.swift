// libFuzzer target: pieces of an SMB session, each led by a control byte (bits 0-5: length in
// units of 5 bytes + 1, bit 6: from the server, bit 7: a gap before it), fed to one parser
// that lives across inputs (reset between them), with small buffers and a small pending table
// so the cut and eviction paths are reached. Must never trap; every string is read in full.
// The pieces are read by Fuzz/Shared/FuzzPieces.swift (compiled in by tools/fuzz.sh).
import UTMCore
import UTMAppLayer

nonisolated(unsafe) var fuzzSMBParser: SMBParser = {
    var c = SMBConfig()
    c.maxRecordBuffer = 160
    c.maxPending = 3
    c.maxStoreBytes = 96
    return SMBParser(config: c)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSMB(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var sum = 0
    func read(_ p: borrowing SMBParser, _ t: SMBTransaction) {
        for f in [t.share, t.filename, t.ntlmUser, t.ntlmDomain, t.ntlmHost, t.serverGUID, t.dialectNames] {
            p.store.withView(f) { $0.forEachByte { sum &+= Int($0) } }
        }
        for i in t.clientDialects where i < p.dialects.count { sum &+= Int(p.dialects[i]) }
        sum &+= Int(t.command) &+ Int(truncatingIfNeeded: t.status) &+ Int(truncatingIfNeeded: t.id)
    }
    fuzzSMBParser.reset()
    forEachPiece(data, size, unit: 5) { piece, direction, gap in
        fuzzSMBParser.feed(piece, direction: direction, gap: gap, onTransaction: read) { d, file, bytes, cut in
            // Named-pipe data (session 12): read in full.
            bytes.forEachByte { sum &+= Int($0) }
            sum &+= Int(truncatingIfNeeded: file) &+ (cut ? 1 : 0) &+ (d == .toServer ? 0 : 2)
        }
    }
    fuzzSMBParser.finish(onTransaction: read)
    return sum == -1 ? 1 : 0
}
