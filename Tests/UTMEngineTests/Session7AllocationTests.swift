import AllocationCounter
import Testing
import UTMCore
import UTMDetect
@testable import UTMEngine

/// The session 7 buffers in steady state: TLS 1.2 flights with certificate chains (tls.certs
/// per certificate, tls.cert_chain_len, randoms, JA4), a QUIC Initial (quic.sni,
/// quic.version), DNS responses with several answer records (dns.queries.rrname,
/// dns.answers.rrname) and SMB2 tree connects (smb.share, smb.named_pipe), the leaf's subject / issuer / serial /
/// fingerprint / alt names: filling the buffers,
/// the per-instance inspections and their once-per-message alerts must not allocate.
@Suite(.serialized) struct Session7AllocationTests {
    typealias K = Session7KeywordEngineTests

    static let leafDER = K.x509(cn: "login.evil.example", serial: [0x00, 0x8f, 0x1a], sans: ["a.evil.example", "b.evil.example"])

    static func round() -> [[UInt8]] {
        var frames: [[UInt8]] = []
        for c in 0 ..< 4 {
            let port = UInt16(48000 + c)
            frames += EngineTraffic.tcpSession(v6: c % 2 == 1, sport: port, dport: 443, exchanges: [
                (EngineTraffic.clientHello(sni: "login\(c).evil.example"), K.tls12Flight([Self.leafDER, K.issuer, K.leaf])),
            ])
            frames += K.dnsExchange(sport: port)
            frames += K.smbSession(sport: port, path: c % 2 == 0 ? "\\\\fs01\\IPC$" : "\\\\fs01\\finance", type: c % 2 == 0 ? 2 : 1)
        }
        return frames
    }

    static let rules = """
        alert tls any any -> any any (msg:"certs"; tls.certs; content:"evil"; sid:1;)
        alert tls any any -> any any (msg:"chain"; tls.cert_chain_len:>1; sid:2;)
        alert tls any any -> any any (msg:"random"; flow:to_client; tls.random_time; content:"|a0|"; sid:3;)
        alert tls any any -> any any (msg:"ja4"; ja4.hash; content:"t13d"; sid:4;)
        alert quic any any -> any any (msg:"quic sni"; quic.sni; content:"example"; sid:5;)
        alert quic any any -> any any (msg:"quic version"; quic.version; content:"|00 00 00 01|"; sid:6;)
        alert dns any any -> any any (msg:"questions"; dns.queries.rrname; content:"evil"; sid:7;)
        alert dns any any -> any any (msg:"answers"; dns.answers.rrname; dotprefix; content:".cdn."; sid:8;)
        alert smb any any -> any any (msg:"share"; smb.share; content:"finance"; sid:9;)
        alert smb any any -> any any (msg:"pipe"; smb.named_pipe; content:"IPC$"; sid:10;)
        alert tls any any -> any any (msg:"random bytes"; tls.random_bytes; content:"|11 11|"; sid:11;)
        alert tls any any -> any any (msg:"subject"; tls.cert_subject; content:"CN=login"; sid:12;)
        alert tls any any -> any any (msg:"issuer"; tls.cert_issuer; content:"Cheap"; sid:13;)
        alert tls any any -> any any (msg:"serial"; tls.cert_serial; content:"8F"; sid:14;)
        alert tls any any -> any any (msg:"fingerprint"; tls.cert_fingerprint; content:":"; sid:15;)
        alert tls any any -> any any (msg:"alt names"; tls.subjectaltname; content:"evil"; sid:16;)
        alert tls any any -> any any (msg:"alpn"; tls.alpn; content:"http/1.1"; sid:17;)
        alert tls any any -> any any (msg:"validity"; tls_cert_valid; sid:18;)
        """

    static func engine(rules: Bool) -> Engine {
        let engine = Engine()
        if rules {
            var parser = RuleParser()
            parser.load(text: Self.rules, file: "alloc7.rules")
            let set = parser.finish()
            #expect(set.report.skipped.isEmpty && set.report.errors.isEmpty)
            engine.loadDetection(DetectDefinitions(ruleSet: set))
        }
        return engine
    }

    /// QUIC apart: each new QUIC flow's Initial key derivation allocates inside OpenSSL's HKDF
    /// (UTMCrypto, not the detection path), so the check there is that the session 7 rules add
    /// no allocation to what the flows cost without them.
    @Test func quicDetectionAddsNoAllocation() {
        guard allocationCounterWorks() else { return }
        var frames: [[UInt8]] = []
        for _ in 0 ..< 4 { frames += WebFilterEngineTests.quicInitial() }
        let with = Self.engine(rules: true)
        var alertsBefore = with.stats.alerts
        let n = steadyStateAllocations(with, frames, rounds: 10) { alertsBefore = with.stats.alerts }
        let without = steadyStateAllocations(Self.engine(rules: false), frames, rounds: 10)
        print("QUIC allocations with session 7 rules: \(n), without: \(without)")
        #expect(n == without, "quic.sni / quic.version / ja4 inspection allocated \(n - without) times")
        #expect(with.stats.alerts - alertsBefore == 20, "quic.sni and quic.version once per round: \(with.stats.alerts - alertsBefore)")
    }

    @Test func session7BuffersDoNotAllocate() {
        guard allocationCounterWorks() else { return }
        let engine = Self.engine(rules: true)
        var alertsBefore = engine.stats.alerts
        let rounds = 10
        let n = steadyStateAllocations(engine, Self.round(), rounds: rounds) { alertsBefore = engine.stats.alerts }
        let alerts = engine.stats.alerts - alertsBefore
        print("Engine allocations with session 7 rules: \(n); alerts \(alerts)")
        #expect(n == 0, "session 7 detection allocated \(n) times")
        // Per round: certs 4, chain 4, random 4, ja4 4, questions 8 (query and response),
        // answers 4, share 2, pipe 2, random bytes 4, and the leaf's subject, issuer, serial,
        // fingerprint and alt names 4 each (once per chain though two names match), alpn 4,
        // validity 4 = 64.
        #expect(alerts == UInt64(rounds) * 64, "\(alerts)")
    }
}
