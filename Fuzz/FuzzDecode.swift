// libFuzzer target for the packet decoder. Built by the fuzz script with -sanitize=fuzzer
// (and address/undefined sanitizers) against UTMCore and UTMDecode.
//
// Input: the first byte picks the link type (values past the table decode the rest under every
// link type in turn); the remaining bytes are the frame. One decoder with a small reassembly
// pool lives across inputs, so fragment state, eviction and timeouts are fuzzed too.
import UTMCore
import UTMDecode

private let fuzzLinkTypes: [UInt32] = [1, 113, 276, 101, 228, 229, 0, 12, 14, 9, 104, 192, 147]

nonisolated(unsafe) private var fuzzDecoder: Decoder = {
    var config = DecoderConfig()
    config.maxReassemblies = 8
    config.maxDatagramSize = 4096
    config.fragmentTimeoutMicros = 1_000_000
    return Decoder(config: config)
}()
nonisolated(unsafe) private var fuzzPacket = DecodedPacket()
nonisolated(unsafe) private var fuzzClock: Int64 = 0

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDecode(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let selector = Int(data[0])
    let frame = ByteView(unsafeStart: UnsafeRawPointer(data + 1), count: size - 1)
    // A tenth of a second per input: inputs a few dozen apart see their fragments time out.
    fuzzClock &+= 100_000
    let timestamp = Timestamp(seconds: fuzzClock / 1_000_000, micros: Int32(truncatingIfNeeded: fuzzClock % 1_000_000))
    if selector < fuzzLinkTypes.count {
        _ = fuzzDecoder.decode(frame, rawLinkType: fuzzLinkTypes[selector], timestamp: timestamp, into: &fuzzPacket)
        touch(fuzzPacket)
    } else {
        for linkType in fuzzLinkTypes {
            _ = fuzzDecoder.decode(frame, rawLinkType: linkType, timestamp: timestamp, into: &fuzzPacket)
            touch(fuzzPacket)
        }
    }
    return 0
}

/// Reads every byte the packet's views claim, so a view that points outside its buffer is
/// caught by the address sanitizer rather than going unnoticed.
@inline(never)
private func touch(_ packet: DecodedPacket) {
    var sum: UInt8 = 0
    packet.payload.forEachByte { sum &+= $0 }
    packet.ipPacket.forEachByte { sum &+= $0 }
    // ARP and tunnel fields are plain values: reading them checks they were set consistently.
    if packet.arpOpcode != 0 && packet.ipVersion != 0 { print("unreachable: ARP with an IP version") }
    if packet.tunnelProto != 0 && packet.tunnelIPVersion == 0 { print("unreachable: tunnel without its layer") }
    if sum == 0x5A && packet.ipLength < 0 { print("unreachable") }
}
