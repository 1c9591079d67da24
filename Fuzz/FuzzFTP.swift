// libFuzzer target: pieces of an FTP control channel, each led by a control byte (bits 0-5:
// length in units of 3 bytes + 1, bit 6: from the server, bit 7: a gap before it), fed to one
// parser that lives across inputs (like a pool slot, reset between them). Small buffers so the
// line cap, the reply-line limit and pipelining overflow are reached. Must never trap; every
// stored field of every lent transaction is read in full.
// The pieces are read by Fuzz/Shared/FuzzPieces.swift (compiled in by tools/fuzz.sh).
import UTMCore
import UTMAppLayer

nonisolated(unsafe) var fuzzFTPParser: FTPParser = {
    var c = FTPConfig()
    c.maxLine = 48
    c.maxPending = 2
    c.maxReplyLines = 3
    c.maxTransactionBytes = 96
    return FTPParser(config: c)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var sum = 0
    func read(_ tx: FTPTransaction) {
        for f in [tx.commandName, tx.argument] + tx.replyLines {
            tx.withField(f) { v in
                v.forEachByte { sum &+= Int($0) }
                sum &+= Int(FTPParser.code(v))
            }
        }
        sum &+= Int(tx.dynamicPort) &+ Int(tx.portAddress ?? 0) &+ Int(tx.command.rawValue)
    }
    fuzzFTPParser.reset()
    forEachPiece(data, size, unit: 3) { piece, direction, gap in
        if FTPParser.probeGreeting(piece) { sum &+= 1 }
        fuzzFTPParser.feed(piece, direction: direction, gap: gap, onTransaction: read)
        sum &+= Int(fuzzFTPParser.lastPortAddress ?? 0)
    }
    fuzzFTPParser.finish(onTransaction: read)
    return sum == -1 ? 1 : 0
}
