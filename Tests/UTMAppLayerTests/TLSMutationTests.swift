import Testing
import UTMCore
@testable import UTMAppLayer

/// In-process stand-in for the fuzz targets: seeded byte mutations of valid inputs, fed in
/// random splits. Passing means nothing trapped.
@Suite struct TLSMutationTests {
    func mutate(_ base: [UInt8], _ rng: inout SplitRNG) -> [UInt8] {
        var m = base
        for _ in 0..<(1 + rng.next(upTo: 6)) {
            let i = rng.next(upTo: m.count)
            switch rng.next(upTo: 3) {
            case 0: m[i] = UInt8(truncatingIfNeeded: rng.next())
            case 1: m[i] = [0x00, 0xff, 0xc0, 0x3f, 0x80][rng.next(upTo: 5)]
            default: m.removeSubrange(i..<min(m.count, i + rng.next(upTo: 8)))
            }
            if m.isEmpty { m = [0] }
        }
        return m
    }

    @Test func mutatedTLSNeverTraps() {
        var rng = SplitRNG(seed: 7)
        let client = TLSBuild.records(TLSBuild.hello)
        let server = TLSBuild.records(TLSBuild.serverHello(cipher: 0x1301, extensions: [TLSBuild.ext(43, TLSBuild.u16(0x0304))]))
        for i in 0..<3000 {
            let c = mutate(client, &rng), s = mutate(server, &rng)
            let sizes = Splits.all(c.count, seeds: UInt64(i)...UInt64(i))[2]
            _ = runTLS(client: c, server: s, clientSplits: sizes)
            var q = TLSParser()
            c.withByteView { q.feedHandshake($0, direction: .toServer) }
        }
    }

    @Test func mutatedDNSNeverTraps() {
        var rng = SplitRNG(seed: 9)
        var p = DNSParser()
        for _ in 0..<5000 {
            let m = mutate(DNSBuild.response, &rng)
            if m.withByteView({ p.parse($0) }) {
                for a in p.message.answers { _ = p.withField(a.data) { $0.count } }
            }
            let framed = DNSBuild.u16(UInt16(m.count)) + m
            framed.withByteView { p.feedStream($0, direction: .toClient, gap: false) { _, _ in } }
        }
    }
}
