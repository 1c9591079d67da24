import Testing
import UTMCore
@testable import UTMDecode

/// Valid frames whose every proper prefix must be reported as broken, never decoded or trapped.
let wholeFrames: [(String, LinkType, [UInt8])] = [
    ("eth/ipv4/tcp+opts", .ethernet, Build.ethernet(0x0800, Build.ipv4(proto: 6, Build.tcp(options: Build.synOptions, [1, 2, 3])))),
    ("eth/vlan/ipv4opts/udp", .ethernet, Build.ethernet(0x0800, vlans: [(0x8100, 5)],
        Build.ipv4(proto: 17, Build.udp([4, 5]), options: [1, 1, 1, 0]))),
    ("eth/qinq/ipv6/ext/tcp", .ethernet, Build.ethernet(0x86DD, vlans: [(0x88A8, 1), (0x8100, 2)],
        Build.ipv6(next: 0, Build.ext(next: 60) + Build.ext(next: 6, units: 1) + Build.tcp([9])))),
    ("eth/ipv6/ah/udp", .ethernet, Build.ethernet(0x86DD, Build.ipv6(next: 51,
        [17, 1, 0, 0] + Build.be32(1) + Build.be32(2) + Build.udp([1])))),
    ("eth/pppoe/ipv4/icmp", .ethernet, Build.ethernet(0x8864, [0x11, 0, 0, 1, 0, 30, 0, 0x21]
        + Build.ipv4(proto: 1, Build.icmp(type: 8, [1, 2])))),
    ("eth/mpls/ipv4/udp", .ethernet, Build.ethernet(0x8847, [0, 1, 1, 64] + Build.ipv4(proto: 17, Build.udp([7])))),
    ("sll/ipv4/udp", .linuxSLL, Build.sll(0x0800, Build.ipv4(proto: 17, Build.udp([1])))),
    ("sll2/ipv6/icmpv6", .linuxSLL2, Build.sll2(0x86DD, Build.ipv6(next: 58, Build.icmp(type: 128, [1])))),
    ("null/ipv4/tcp", .null, [2, 0, 0, 0] + Build.ipv4(proto: 6, Build.tcp([]))),
    ("raw/ipv6/udp", .raw, Build.ipv6(next: 17, Build.udp([1, 2]))),
    ("ipv4 first fragment", .ipv4, Build.ipv4(proto: 17, Build.bytes(16), more: true)),
    ("ipv6 fragment", .ipv6, Build.ipv6(next: 44, Build.fragment6(next: 17, offset: 8, more: true, id: 1) + Build.bytes(8))),
]

@Suite struct RobustnessTests {
    @Test(arguments: 0..<wholeFrames.count)
    func everyTruncationIsReported(_ index: Int) {
        let (name, linkType, frame) = wholeFrames[index]
        var d = Decoder()
        let whole = d.run(frame, linkType)
        #expect(whole.result == .decoded || whole.result == .fragmentHeld, "\(name)")
        #expect(whole.packet.events.isEmpty, "\(name)")
        for n in 0..<frame.count {
            var fresh = Decoder()
            let r = fresh.run(Array(frame[0..<n]), linkType)
            #expect(r.result == .invalid, "\(name) cut at \(n): \(r.result)")
            #expect(!r.packet.events.isEmpty, "\(name) cut at \(n)")
            #expect(fresh.counters.invalid == 1)
        }
    }

    /// Deterministic pseudo-random bytes and bit flips of valid frames under every link type:
    /// the decoder must not trap, and events must be counted consistently.
    @Test func randomAndMutatedInputNeverTraps() {
        var rng = SplitMix(seed: 0x5EED)
        var d = Decoder()
        let linkTypes: [LinkType] = [.ethernet, .linuxSLL, .linuxSLL2, .raw, .ipv4, .ipv6, .null, .rawAlt12]
        var total: UInt64 = 0
        for i in 0..<30_000 {
            var frame: [UInt8]
            if i % 2 == 0 {
                frame = wholeFrames[Int(rng.next() % UInt64(wholeFrames.count))].2
                let flips = Int(rng.next() % 4) + 1
                for _ in 0..<flips {
                    let at = Int(rng.next() % UInt64(frame.count))
                    frame[at] ^= UInt8(truncatingIfNeeded: rng.next()) | 1
                }
                if rng.next() % 3 == 0 { frame = Array(frame[0..<Int(rng.next() % UInt64(frame.count + 1))]) }
            } else {
                frame = (0..<Int(rng.next() % 120)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                // Bias towards plausible headers so deeper layers get exercised.
                if frame.count > 0 && i % 4 == 1 { frame[0] = 0x45 }
                if frame.count > 0 && i % 4 == 3 { frame[0] = 0x60 }
            }
            let lt = linkTypes[Int(rng.next() % UInt64(linkTypes.count))]
            let r = d.run(frame, lt, at: Int64(i / 100))
            if r.result == .invalid { #expect(!r.packet.events.isEmpty) }
            total += 1
        }
        #expect(d.counters.packets == total)
        #expect(d.fragmentsInProgress <= DecoderConfig().maxReassemblies)
    }

    @Test func eventNamesCoverEveryBit() {
        for bit in 0..<DecodeEvents.definedBits {
            #expect(DecodeEvents.name(ofBit: bit) != nil)
        }
        #expect(DecodeEvents.name(ofBit: DecodeEvents.definedBits) == nil)
        #expect(DecodeEvents.sllTooShort.rawValue == 1 << (DecodeEvents.definedBits - 1), "the newest event is the last bit")
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
