// libFuzzer target: the whole input as one DHCP datagram, then every prefix the first byte
// picks (a datagram cut short). Must never trap; every field range the message hands out is
// read in full so ASan sees a bad one.
import UTMCore
import UTMAppLayer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDHCP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let all = ByteView(unsafeStart: UnsafeRawPointer(data), count: size)
    var sum = 0
    func read(_ v: ByteView) {
        guard let m = DHCP.parse(v) else { return }
        m.field(m.hostname, in: v).forEachByte { sum &+= Int($0) }
        m.field(m.clientID, in: v).forEachByte { sum &+= Int($0) }
        sum &+= Int(m.messageType) &+ Int(m.leaseTime ?? 0) &+ Int(m.clientMAC.octet(5))
        sum &+= Int(truncatingIfNeeded: m.assignedIP.lo)
    }
    read(all)
    let cut = Int(all.u8(0) ?? 0) * 2
    if cut < all.count { read(all.prefix(cut + 236)) }
    return sum == -1 ? 1 : 0
}
