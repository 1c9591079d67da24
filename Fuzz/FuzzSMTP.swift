// libFuzzer target: pieces of an SMTP session, each led by a control byte (bits 0-5: length in
// units of 3 bytes + 1, bit 6: from the server, bit 7: a gap before it), fed to one parser that
// lives across inputs (like a pool slot, reset between them). Small limits so the line caps,
// the message-line cap, the pending ring, the recipient and Received limits and the store are
// reached. Must never trap; every stored field of every lent transaction is read in full, and
// the message lines streamed for the MIME decoder are read too.
// The pieces are read by Fuzz/Shared/FuzzPieces.swift (compiled in by tools/fuzz.sh).
import UTMCore
import UTMAppLayer

nonisolated(unsafe) var fuzzSMTPParser: SMTPParser = {
    var c = SMTPConfig()
    c.maxLine = 48
    c.maxCommandLine = 40
    c.maxReplyLine = 40
    c.maxMessageLine = 40
    c.maxPending = 3
    c.maxRecipients = 2
    c.maxReceived = 2
    c.maxTransactionBytes = 96
    c.maxHelo = 16
    c.maxHold = 24
    c.maxPath = 20
    c.headerReserve = 8
    return SMTPParser(config: c)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSMTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var sum = 0
    func read(_ tx: SMTPTransaction) {
        for f in [tx.helo, tx.mailFrom, tx.from, tx.to, tx.cc, tx.subject, tx.date, tx.messageID, tx.xMailer]
            + tx.rcptTo + tx.received {
            tx.withField(f) { v in v.forEachByte { sum &+= Int($0) } }
        }
        for u in tx.urls { tx.withField(u) { sum &+= $0.count } }
        sum &+= Int(tx.message.rawValue) &+ Int(tx.rcptRejected) &+ tx.recipientCount &+ Int(truncatingIfNeeded: tx.messageBytes)
    }
    fuzzSMTPParser.reset()
    forEachPiece(data, size, unit: 3) { piece, direction, gap in
        if SMTPParser.probeGreeting(piece) { sum &+= 1 }
        fuzzSMTPParser.feed(piece, direction: direction, gap: gap, on: { ev in
            switch ev {
            case .transaction(let tx): read(tx)
            case .messageData(let l): sum &+= l.count
            case .messageBegin: sum &+= 1
            case .messageEnd(let complete): sum &+= complete ? 2 : 3
            }
        })
        sum &+= Int(truncatingIfNeeded: fuzzSMTPParser.takeAppEvents().rawValue) &+ fuzzSMTPParser.tlsStart
    }
    fuzzSMTPParser.finish(onTransaction: read)
    return sum == -1 ? 1 : 0
}
