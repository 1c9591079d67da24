// libFuzzer target: pieces of an FTP control channel, each led by a control byte (bits 0-5:
// length in units of 3 bytes + 1, bit 6: from the server, bit 7: a gap before it), fed to one
// parser that lives across inputs (like a pool slot, reset between them). Small buffers so the
// line cap, the reply-line limit and pipelining overflow are reached. Must never trap; every
// stored field of every lent transaction is read in full.
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
    var rest = ByteView(unsafeStart: UnsafeRawPointer(data), count: size)
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
    while let control = rest.u8(0) {
        rest = rest.dropFirst(1)
        let n = Int(control & 0x3f) * 3 + 1
        let piece = rest.prefix(n)
        rest = rest.dropFirst(n)
        if FTPParser.probeGreeting(piece) { sum &+= 1 }
        fuzzFTPParser.feed(piece, direction: control & 0x40 != 0 ? .toClient : .toServer,
                           gap: control & 0x80 != 0, onTransaction: read)
        sum &+= Int(fuzzFTPParser.lastPortAddress ?? 0)
    }
    fuzzFTPParser.finish(onTransaction: read)
    return sum == -1 ? 1 : 0
}
