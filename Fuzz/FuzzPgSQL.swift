// libFuzzer target: pieces of a PostgreSQL session, each led by a control byte (bits 0-5:
// length in units of 3 bytes + 1, bit 6: from the server, bit 7: a gap before it), fed to one
// parser that lives across inputs (like a pool slot, reset between them). Small buffers so
// truncation paths are reached. Must never trap; every stored field is read in full.
// The pieces are read by Fuzz/Shared/FuzzPieces.swift (compiled in by tools/fuzz.sh).
import UTMCore
import UTMAppLayer

nonisolated(unsafe) var fuzzPgSQLParser: PgSQLParser = {
    var c = PgSQLConfig()
    c.maxMessageBuffer = 96
    c.maxTransactionBytes = 128
    c.maxParameters = 4
    return PgSQLParser(config: c)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPgSQL(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var sum = 0
    func read(_ p: borrowing PgSQLParser) {
        let t = p.tx
        for f in [t.query, t.saslMechanism, t.saslData, t.authData, t.commandCompleted, t.error.code,
                  t.error.message, t.error.file, t.error.line, t.error.routine] {
            p.store.withView(f) { $0.forEachByte { sum &+= Int($0) } }
        }
        for i in t.startupParameters.lowerBound ..< max(t.startupParameters.upperBound, t.parameterStatus.upperBound) {
            _ = p.withParameter(i) { n, v in sum &+= n.count &+ v.count }
        }
        sum &+= Int(truncatingIfNeeded: t.dataSize &+ t.dataRows) &+ (t.fieldCount ?? 0)
    }
    fuzzPgSQLParser.reset()
    forEachPiece(data, size, unit: 3) { piece, direction, gap in
        fuzzPgSQLParser.feed(piece, direction: direction, gap: gap, onTransaction: read)
    }
    fuzzPgSQLParser.finish(onTransaction: read)
    return sum == -1 ? 1 : 0
}
