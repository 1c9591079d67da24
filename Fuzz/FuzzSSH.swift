// libFuzzer target: pieces of an SSH connection, each led by a control byte (bits 0-5: length
// in units of 3 bytes + 1, bit 6: from the server, bit 7: a gap before it), fed to one parser
// that lives across inputs (like a pool slot, reset between them). Small limits so long
// banners, skipped lines and cut HASSH strings are reached. Must never trap; every stored
// field is read in full.
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
    var rest = ByteView(unsafeStart: UnsafeRawPointer(data), count: size)
    var sum = 0
    fuzzSSHParser.reset()
    while let control = rest.u8(0) {
        rest = rest.dropFirst(1)
        let n = Int(control & 0x3f) * 3 + 1
        let piece = rest.prefix(n)
        rest = rest.dropFirst(n)
        let d: Direction = control & 0x40 != 0 ? .toClient : .toServer
        let ev = fuzzSSHParser.feed(piece, direction: d, gap: control & 0x80 != 0)
        sum &+= Int(ev.rawValue)
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
