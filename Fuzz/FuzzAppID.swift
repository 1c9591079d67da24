// libFuzzer target: App-ID on hostile bytes. The first two bytes choose the transport and a
// port (so port-restricted dissectors run too); the rest is split into packets whose sizes
// come from the data, alternating directions, then offered as a server name of every kind.
// Must never trap, whatever the input.
import UTMCore
import UTMAppID

private let identifier = AppIdentifier()
private let ports: [UInt16] = [22, 25, 53, 67, 88, 110, 123, 137, 138, 139, 143, 161, 389, 443, 445, 500,
                               514, 853, 993, 1080, 1194, 1433, 1812, 1883, 1900, 3306, 3389, 3478,
                               4500, 5060, 5353, 5355, 5432, 5938, 17500, 51820, 57621, 40000]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAppID(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let all = ByteView(unsafeStart: UnsafeRawPointer(data), count: size)
    guard let b0 = all.u8(0), let b1 = all.u8(1) else { return 0 }
    let transport: UInt8 = b0 & 1 == 0 ? 6 : 17
    let port = ports[Int(b1) % ports.count]
    var state = AppIDState()
    var rest = all.dropFirst(2)
    var dir = Direction.toServer
    while !rest.isEmpty && !state.done {
        let n = Int(rest.u8(0) ?? 0) * 8 + 1
        identifier.onPayload(&state, payload: rest.prefix(n), direction: dir, transport: transport,
                             serverPort: port, clientPort: 40000)
        rest = rest.dropFirst(n)
        dir = dir.reversed
    }
    identifier.onEnd(&state, transport: transport, serverPort: port, clientPort: 40000)
    for kind in [NameKind.sni, .httpHost, .dnsQuery, .quicSNI] {
        identifier.onName(&state, name: all.dropFirst(2), kind: kind)
    }
    var out = 0
    AppIdentifier.writeName(state) { _ in out += 1 }
    return 0
}
