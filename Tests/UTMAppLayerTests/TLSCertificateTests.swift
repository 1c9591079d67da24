import Testing
import UTMCore
@testable import UTMAppLayer

/// The server's Certificate message (session 7, `tls.certs` / `tls.cert_chain_len`) and the
/// hello randoms (`tls.random`): whole, split at every byte and at random places, across
/// records, truncated and with lying lengths. The certificates are opaque bytes here (the
/// parser reads only the list's framing), so made-up DER-looking blobs do.
extension Array {
    /// The array `n` times over (segment patterns that must cover a whole flight).
    func repeated(_ n: Int) -> [Element] { (0 ..< n).flatMap { _ in self } }
}

@Suite struct TLSCertificateTests {
    static func be24(_ n: Int) -> [UInt8] { [UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] }

    /// A Certificate handshake message carrying `certs`.
    static func certificate(_ certs: [[UInt8]]) -> [UInt8] {
        let list = certs.flatMap { be24($0.count) + $0 }
        let body = be24(list.count) + list
        return [11] + be24(body.count) + body
    }

    static let leaf: [UInt8] = [0x30, 0x82, 0x01, 0x00] + Array("leaf CN=evil.example".utf8) + [UInt8](repeating: 0xab, count: 300)
    static let intermediate: [UInt8] = [0x30, 0x82, 0x00, 0x50] + Array("intermediate CA".utf8) + [0x0d, 0x0a, 0x00]
    static let tls12ServerHello = TLSBuild.serverHello(random: Array(0 ..< 32), cipher: 0xc02f, extensions: [])
    static let serverHelloDone: [UInt8] = [14, 0, 0, 0]

    /// Feeds a TLS 1.2 ClientHello, then the server's flight in `sizes` pieces.
    static func run(_ server: [UInt8], sizes: [Int]? = nil, config: TLSConfig = .init()) -> TLSParser {
        var p = TLSParser(config: config)
        let client = TLSBuild.records(TLSBuild.clientHello(ciphers: [0xc02f], extensions: [TLSBuild.sni]))
        client.withByteView { p.feed($0, direction: .toServer, gap: false) }
        var off = 0
        for n in sizes ?? [server.count] where off < server.count {
            let end = min(server.count, off + n)
            server[off ..< end].withByteView { p.feed($0, direction: .toClient, gap: false) }
            off = end
        }
        return p
    }

    static func certs(_ p: TLSParser) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var k = 0
        while let c = p.withCertificate(k, { $0.bytes }) { out.append(c); k += 1 }
        return out
    }

    @Test func chainInOneRecordAndEverySplit() {
        let server = TLSBuild.records(Self.tls12ServerHello + Self.certificate([Self.leaf, Self.intermediate]) + Self.serverHelloDone)
        for sizes in Splits.all(server.count) {
            let p = Self.run(server, sizes: sizes)
            #expect(p.certificateCount == 2, "\(sizes.prefix(8))")
            #expect(Self.certs(p) == [Self.leaf, Self.intermediate], "\(sizes.prefix(8))")
            #expect(p.events.contains(.certificateDone))
            #expect(!p.events.contains(.malformed))
        }
    }

    @Test func chainSpreadOverSmallRecords() {
        // Records of 7 bytes: the message is reassembled from many records (and the
        // ServerHelloDone after it must not wipe the kept list).
        let server = TLSBuild.records(Self.tls12ServerHello + Self.certificate([Self.leaf, Self.intermediate, Self.leaf])
                                      + Self.serverHelloDone, maxRecord: 7)
        let p = Self.run(server, sizes: Array([[5, 11, 3]].flatMap { $0 + $0 + $0 }.repeated(server.count / 19 + 1)))
        #expect(p.certificateCount == 3)
        #expect(Self.certs(p) == [Self.leaf, Self.intermediate, Self.leaf])
    }

    @Test func randomsAreKept() {
        let server = TLSBuild.records(Self.tls12ServerHello + Self.certificate([Self.leaf]))
        let p = Self.run(server)
        let ch = p.clientHello, sh = p.serverHello
        #expect(ch.map { p.withField($0.random) { $0.bytes } } == [UInt8](repeating: 0x11, count: 32))
        #expect(sh.map { p.withField($0.random) { $0.bytes } } == Array(0 ..< 32))
    }

    @Test func noCertificateBeforeAServerHello() {
        // A Certificate without a ServerHello first is not kept; nor is one from the client.
        let p = Self.run(TLSBuild.records(Self.certificate([Self.leaf])))
        #expect(p.certificateCount == -1 && p.withCertificate(0, { $0.count }) == nil)
        var q = TLSParser()
        TLSBuild.records(Self.certificate([Self.leaf])).withByteView { q.feed($0, direction: .toServer, gap: false) }
        #expect(q.certificateCount == -1)
    }

    @Test func emptyListCountsZero() {
        let p = Self.run(TLSBuild.records(Self.tls12ServerHello + Self.certificate([])))
        #expect(p.certificateCount == 0 && p.withCertificate(0, { $0.count }) == nil)
        #expect(p.events.contains(.certificateDone))
    }

    @Test func lyingLengthsKeepTheWholeEntries() {
        // An entry claiming more than the list holds: the entries before it count, the event
        // says malformed, nothing reads past the message.
        var msg = Self.certificate([Self.intermediate, Self.leaf])
        let secondEntry = 4 + 3 + 3 + Self.intermediate.count
        msg[secondEntry] = 0x7f
        var p = Self.run(TLSBuild.records(Self.tls12ServerHello + msg))
        #expect(p.certificateCount == 1 && Self.certs(p) == [Self.intermediate])
        #expect(p.events.contains(.malformed))
        // A list length past the message: read up to the message's end.
        var long = Self.certificate([Self.intermediate])
        long[4] = 0x00; long[5] = 0x7f; long[6] = 0xff
        p = Self.run(TLSBuild.records(Self.tls12ServerHello + long))
        #expect(p.certificateCount == 1 && p.events.contains(.malformed))
        // A body too short for the list length.
        p = Self.run(TLSBuild.records(Self.tls12ServerHello + [11, 0, 0, 2, 0, 0]))
        #expect(p.certificateCount == -1 && p.events.contains(.malformed))
    }

    @Test func truncatedFlightKeepsNothingHalfRead() {
        let server = TLSBuild.records(Self.tls12ServerHello + Self.certificate([Self.leaf, Self.intermediate]))
        for cut in stride(from: 0, to: server.count, by: 13) {
            let p = Self.run(Array(server.prefix(cut)))
            #expect(p.certificateCount == -1 || p.certificateCount == 2, "cut \(cut)")
        }
    }

    @Test func lendsAtMostTheConfiguredCount() {
        var config = TLSConfig()
        config.maxCertificates = 2
        let p = Self.run(TLSBuild.records(Self.tls12ServerHello + Self.certificate([Self.leaf, Self.leaf, Self.intermediate])),
                         config: config)
        #expect(p.certificateCount == 3)
        #expect(Self.certs(p).count == 2)
    }

    @Test func resetForgetsTheChain() {
        var p = Self.run(TLSBuild.records(Self.tls12ServerHello + Self.certificate([Self.leaf])))
        #expect(p.certificateCount == 1)
        p.reset()
        #expect(p.certificateCount == -1 && p.withCertificate(0, { $0.count }) == nil)
    }

    /// A chain padded past the buffer (a 20 KiB certificate after the leaf, the way a server
    /// could hide its leaf from cert rules): the leaf is still lent, every entry is counted,
    /// the message is not malformed; whole, split at random places and byte by byte.
    @Test func chainLargerThanTheBufferKeepsItsHead() {
        let padding: [UInt8] = [0x30, 0x82, 0x4e, 0x20] + [UInt8](repeating: 0x41, count: 20_000)
        let server = TLSBuild.records(Self.tls12ServerHello + Self.certificate([Self.leaf, padding, Self.intermediate])
                                      + Self.serverHelloDone)
        for sizes in Splits.all(server.count, seeds: 1 ... 3) {
            let p = Self.run(server, sizes: sizes)
            #expect(p.certificateCount == 3, "\(sizes.prefix(8))")
            #expect(Self.certs(p) == [Self.leaf], "\(sizes.prefix(8))")
            #expect(p.events.contains(.certificateDone) && p.events.contains(.certificatePartial))
            #expect(!p.events.contains(.malformed) && !p.events.contains(.handshakeTooLarge))
        }
        // The same chain within a larger buffer: all three lent, not partial.
        var big = TLSConfig()
        big.maxHandshakeSize = 64 * 1024
        let whole = Self.run(server, config: big)
        #expect(Self.certs(whole) == [Self.leaf, padding, Self.intermediate] && !whole.events.contains(.certificatePartial))
    }

    /// A leaf larger than the buffer: nothing is lent (no cut certificate), the count holds;
    /// a flight cut inside the padding never completes the message; entry lengths that run
    /// past the message are not counted.
    @Test func partialChainEdges() {
        let huge: [UInt8] = [0x30, 0x82, 0x4e, 0x20] + [UInt8](repeating: 0x42, count: 20_000)
        let server = TLSBuild.records(Self.tls12ServerHello + Self.certificate([huge, Self.leaf]) + Self.serverHelloDone)
        let p = Self.run(server, sizes: [777].repeated(server.count / 777 + 1))
        #expect(p.certificateCount == 2 && Self.certs(p).isEmpty)
        for cut in [100, 9_000, 16_500, 20_100] {
            let q = Self.run(Array(server.prefix(cut)))
            #expect(q.certificateCount == -1 && Self.certs(q).isEmpty, "cut at \(cut)")
        }
        // The second entry claims 0xffffff bytes: the message ends long before.
        var lying = Self.certificate([Self.leaf, huge])
        let second = 4 + 3 + 3 + Self.leaf.count
        lying[second] = 0xff; lying[second + 1] = 0xff; lying[second + 2] = 0xff
        let r = Self.run(TLSBuild.records(Self.tls12ServerHello + lying + Self.serverHelloDone))
        #expect(r.certificateCount == 1 && Self.certs(r) == [Self.leaf])
    }

    /// The partial path judges a message as the whole path does: the same count (the list's
    /// declared length bounds it, trailing entry-shaped bytes are not entries) and the same
    /// `malformed` verdict, whatever the buffer size.
    @Test func partialAndWholeAgree() {
        func message(_ body: [UInt8]) -> [UInt8] { [11] + Self.be24(body.count) + body }
        let entries = [Self.leaf, Self.intermediate, Self.leaf].flatMap { Self.be24($0.count) + $0 }
        let trailing: [UInt8] = (0 ..< 10).flatMap { _ -> [UInt8] in Self.be24(4) + [1, 2, 3, 4] }
        let oneListed = Self.be24(3 + Self.leaf.count) + Self.be24(Self.leaf.count) + Self.leaf + trailing
        let listTooLong: [UInt8] = [0xff, 0xff, 0xff] + entries
        var entryTooLong = Self.be24(entries.count) + entries
        entryTooLong[3 + 3 + Self.leaf.count] = 0x7f  // the second entry claims ~8 MB
        let bodies: [(String, [UInt8])] = [("fine", Self.be24(entries.count) + entries), ("trailing", oneListed),
                                           ("list too long", listTooLong), ("entry too long", entryTooLong)]
        var small = TLSConfig()
        small.maxHandshakeSize = 96
        var big = TLSConfig()
        big.maxHandshakeSize = 64 * 1024
        for (name, body) in bodies {
            let server = TLSBuild.records(Self.tls12ServerHello + message(body) + Self.serverHelloDone)
            for sizes in [[server.count], [13].repeated(server.count / 13 + 1)] {
                let partial = Self.run(server, sizes: sizes, config: small)
                let whole = Self.run(server, sizes: sizes, config: big)
                #expect(partial.events.contains(.certificatePartial) && !whole.events.contains(.certificatePartial), "\(name)")
                #expect(partial.certificateCount == whole.certificateCount, "\(name): \(partial.certificateCount) vs \(whole.certificateCount)")
                #expect(partial.events.contains(.malformed) == whole.events.contains(.malformed), "\(name)")
            }
        }
    }
}
