// libFuzzer target: pieces of an SSH connection, each led by a control byte (bits 0-5: length
// in units of 3 bytes + 1, bit 6: from the server, bit 7: a gap before it), fed to one parser
// that lives across inputs (like a pool slot, reset between them). Small limits so long
// banners, skipped lines and cut HASSH strings are reached. Must never trap; every stored
// field is read in full.
// The pieces are read by Fuzz/Shared/FuzzPieces.swift (compiled in by tools/fuzz.sh).
import UTMCore
import UTMAppLayer

nonisolated(unsafe) var fuzzSSHParser: SSHParser = {
    var c = SSHConfig()
    c.maxBanner = 40
    c.maxHasshString = 64
    c.maxPreBannerLines = 2
    c.maxLineSkip = 200
    c.maxPacket = 4096
    return SSHParser(config: c)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSSH(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var sum = 0
    fuzzSSHParser.reset()
    forEachPiece(data, size, unit: 3) { piece, direction, gap in
        sum &+= Int(fuzzSSHParser.feed(piece, direction: direction, gap: gap).rawValue)
    }
    for d in [Direction.toServer, .toClient] {
        let s = fuzzSSHParser.side(d)
        for f in [s.protoVersion, s.softwareVersion, s.hasshString, s.hassh] {
            fuzzSSHParser.withField(d, f) { $0.forEachByte { sum &+= Int($0) } }
        }
        if s.store.used > s.store.capacity { fatalError("store grew past its capacity") }
    }
    return sum == -1 ? 1 : 0
}
