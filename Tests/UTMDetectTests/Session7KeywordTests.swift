import Testing
import UTMCore
@testable import UTMDetect

/// Session 7 keywords (Suricata 7/8 buffers) at the rule level: what loads, for which
/// protocol, at which inspection point and phase, what is refused with a one-line error, the
/// byte form of a compiled bundle, and `rules check` counts on a file with every keyword.
/// Matching on built traffic through the engine: UTMEngineTests/Session7KeywordEngineTests.
@Suite struct Session7KeywordTests {
    /// keyword, rule protocol, buffer, app, point, phase without and with flow:to_client.
    static let stickies: [(String, String, BufferID, AppProto?, InspectionPoint, UInt8, UInt8)] = [
        ("ja4.hash", "tls", .ja4Hash, .tls, .tls, 1, 1),
        ("ja4.hash", "quic", .ja4Hash, .quic, .tls, 1, 1),
        ("tls.random", "tls", .tlsRandom, .tls, .tls, 1, 2),
        ("tls.random_time", "tcp", .tlsRandomTime, .tls, .tls, 1, 2),
        ("tls.random_bytes", "tls", .tlsRandomBytes, .tls, .tls, 1, 2),
        ("tls.certs", "tls", .tlsCerts, .tls, .tls, 3, 3),
        ("tls.subjectaltname", "tls", .tlsSubjectAltName, .tls, .tls, 3, 3),
        ("tls.alpn", "tcp", .tlsALPN, .tls, .tls, 4, 4),
        ("quic.sni", "udp", .quicSNI, .quic, .tls, 1, 1),
        ("quic.version", "quic", .quicVersion, .quic, .tls, 1, 2),
        ("dns.queries.rrname", "dns", .dnsQueriesRRName, .dns, .dns, 3, 3),
        ("dns.answers.rrname", "udp", .dnsAnswersRRName, .dns, .dns, 4, 4),
        ("dns.answer.name", "tcp", .dnsAnswersRRName, .dns, .dns, 4, 4),
        ("smb.share", "smb", .smbShare, .smb, .smb, 1, 1),
        ("smb.named_pipe", "tcp", .smbNamedPipe, .smb, .smb, 1, 1),
    ]

    @Test func stickyBuffersLoadWhereTheyAreInspected() throws {
        for (kw, proto, buffer, app, point, phase, toClientPhase) in Self.stickies {
            let s = try #require(rule(opts("\(kw); content:\"abc\";", proto: proto)), "\(kw)")
            #expect(s.list(for: buffer) != nil && s.list(for: .payload) == nil, "\(kw)")
            #expect(s.proto.app == app, "\(kw) on \(proto): \(String(describing: s.proto.app))")
            #expect(DetectDefinitions.point(of: s) == point, "\(kw)")
            #expect(DetectDefinitions.phase(of: s, point) == phase, "\(kw)")
            #expect(s.prefilter?.buffer == buffer, "\(kw): the content is its fast pattern")
            let c = try #require(rule(opts("flow:to_client; \(kw); content:\"abc\";", proto: proto)))
            #expect(DetectDefinitions.phase(of: c, point) == toClientPhase, "\(kw) to_client")
            #expect(ruleError(opts("\(kw):x; content:\"abc\";", proto: proto))?.kind == .invalid, "\(kw) takes no value")
            #expect(buffer.name == kw || kw == "dns.answer.name")
        }
    }

    @Test func wrongProtocolsAreRefusedInOneLine() {
        for (kw, proto) in [("quic.sni", "tcp"), ("quic.version", "tls"), ("quic.sni", "http"), ("tls.certs", "udp"),
                            ("tls.random", "dns"), ("smb.share", "udp"), ("smb.named_pipe", "http"),
                            ("dns.queries.rrname", "icmp"), ("dns.answers.rrname", "tls"), ("ja4.hash", "http"),
                            ("tls.cert_chain_len:1", "quic")] {
            let e = ruleError(opts("\(kw); content:\"x\";", proto: proto))
            #expect(e?.kind == .invalid, "\(kw) on \(proto): \(String(describing: e))")
            #expect(e.map { !$0.description.contains("\n") } == true)
        }
    }

    @Test func certChainLen() throws {
        let s = try #require(rule(opts("tls.cert_chain_len:>2;", proto: "tls")))
        #expect(s.headerMatches == [.tlsCertChainLen(IntMatch(mode: .greater, a: 2))])
        #expect(DetectDefinitions.point(of: s) == .tls && DetectDefinitions.phase(of: s, .tls) == 3)
        var f = PacketFacts()
        f.ipProto = 6
        f.appProto = .tls
        var v = Verifier()
        var bits = FlowBits()
        f.tlsCertCount = 3
        #expect(v.verify(s, packet: f, buffers: InspectionBuffers(), flowbits: &bits) != .noMatch)
        f.tlsCertCount = 2
        #expect(v.verify(s, packet: f, buffers: InspectionBuffers(), flowbits: &bits) == .noMatch)
        let zero = try #require(rule(opts("tls.cert_chain_len:0;", proto: "tls")))
        f.tlsCertCount = -1
        #expect(v.verify(zero, packet: f, buffers: InspectionBuffers(), flowbits: &bits) == .noMatch,
                "no Certificate message seen is not an empty chain")
        f.tlsCertCount = 0
        #expect(v.verify(zero, packet: f, buffers: InspectionBuffers(), flowbits: &bits) != .noMatch)
        for bad in ["tls.cert_chain_len;", "tls.cert_chain_len:x;", "tls.cert_chain_len:-1;"] {
            #expect(ruleError(opts(bad, proto: "tls"))?.kind == .invalid, "\(bad)")
        }
    }

    @Test func certValidityDatesAndModes() throws {
        let day = Int64(1_445_472_000)   // 2015-10-22T00:00:00Z
        let cases: [(String, TLSCertValidity)] = [
            ("tls_cert_notbefore:2015-10-22", TLSCertValidity(field: .notBefore, mode: .equal, a: day)),
            ("tls_cert_notafter:<2015-10-22T01", TLSCertValidity(field: .notAfter, mode: .atMost, a: day + 3600)),
            ("tls_cert_notafter: > 2015-10-22 00:01:02", TLSCertValidity(field: .notAfter, mode: .atLeast, a: day + 62)),
            ("tls_cert_notbefore:2015-10<>2015-10-22T00:00", TLSCertValidity(field: .notBefore, mode: .range, a: 1_443_657_600, b: day)),
            ("tls_cert_notbefore:1445472000", TLSCertValidity(field: .notBefore, mode: .equal, a: day)),
            ("tls_cert_notbefore:2015", TLSCertValidity(field: .notBefore, mode: .equal, a: 2015)),
            ("tls_cert_expired", TLSCertValidity(field: .notAfter, mode: .expired)),
            ("tls_cert_valid", TLSCertValidity(field: .notAfter, mode: .valid)),
        ]
        for (kw, want) in cases {
            let s = try #require(rule(opts("\(kw);", proto: "tls")), "\(kw)")
            #expect(s.headerMatches == [.tlsCertValidity(want)], "\(kw)")
            #expect(DetectDefinitions.point(of: s) == .tls && DetectDefinitions.phase(of: s, .tls) == 3, "\(kw)")
        }
        for bad in ["tls_cert_notbefore:;", "tls_cert_notbefore:2015-13-01;", "tls_cert_notafter:yesterday;",
                    "tls_cert_notafter:2016<>2015;", "tls_cert_notafter:<2015<>2016;", "tls_cert_expired:1;",
                    "tls_cert_notbefore:2015-10-22X10;"] {
            #expect(ruleError(opts(bad, proto: "tls"))?.kind == .invalid, "\(bad)")
        }
        #expect(ruleError(opts("tls_cert_expired;", proto: "http")) != nil)
        // Suricata's comparisons: inclusive bounds, 0 (unknown) never matches, expired and
        // valid against the packet time and notAfter.
        let v = TLSCertValidity(field: .notAfter, mode: .range, a: 10, b: 20)
        #expect(v.matches(notBefore: 0, notAfter: 10, now: 0) && v.matches(notBefore: 0, notAfter: 20, now: 0))
        #expect(!v.matches(notBefore: 0, notAfter: 21, now: 0) && !v.matches(notBefore: 5, notAfter: 0, now: 0))
        let expired = TLSCertValidity(field: .notAfter, mode: .expired), valid = TLSCertValidity(field: .notAfter, mode: .valid)
        #expect(expired.matches(notBefore: 1, notAfter: 100, now: 101) && !expired.matches(notBefore: 1, notAfter: 100, now: 100))
        #expect(valid.matches(notBefore: 1, notAfter: 100, now: 100) && !valid.matches(notBefore: 1, notAfter: 100, now: 101))
        #expect(CivilTime.seconds(year: 1970, month: 1, day: 1) == 0 && CivilTime.seconds(year: 2000, month: 2, day: 29) == 951_782_400)
    }

    @Test func bundleRoundTripKeepsTheNewBuffersAndTag() throws {
        let texts = Self.stickies.map { opts("\($0.0); content:\"abc\"; nocase;", proto: $0.1) }
            + [opts("tls.cert_chain_len:2-5;", proto: "tls"), opts("tls.certs; to_lowercase; content:\"cn=\";", proto: "tls"),
               opts("tls_cert_notafter:2015-10<>2016-01-01;", proto: "tls"), opts("tls_cert_expired;", proto: "tls")]
        let sigs = try texts.map { try #require(rule($0)) }
        let bytes = SignatureCodec.encode(sigs, flowbitNames: FlowbitNames())
        let back = try bytes.withByteView { try SignatureCodec.decode($0) }.signatures
        #expect(back.count == sigs.count)
        for (a, b) in zip(sigs, back) {
            #expect(a.lists.map(\.buffer) == b.lists.map(\.buffer))
            #expect(a.headerMatches == b.headerMatches)
            #expect(a.proto.app == b.proto.app)
        }
    }

    /// `utmctl rules check`'s counts on a file of every session 7 keyword: all load but the
    /// three Google QUIC ones, which are skipped with the reason.
    @Test func rulesCheckCounts() {
        var text = Self.stickies.enumerated().map { i, k in
            "alert \(k.1) any any -> any any (msg:\"\(k.0)\"; \(k.0); content:\"x\"; sid:\(100 + i);)"
        }.joined(separator: "\n")
        text += "\nalert tls any any -> any any (msg:\"chain\"; tls.cert_chain_len:>2; sid:200;)"
        for (i, kw) in ["quic.ua", "quic.cyu.hash", "quic.cyu.string"].enumerated() {
            text += "\nalert quic any any -> any any (msg:\"\(kw)\"; \(kw); content:\"x\"; sid:\(300 + i);)"
        }
        var p = RuleParser()
        p.load(text: text, file: "session7.rules")
        let set = p.finish()
        #expect(set.signatures.count == Self.stickies.count + 1)
        #expect(set.report.loaded == Self.stickies.count + 1 && set.report.enabledRules == Self.stickies.count + 4)
        #expect(set.report.skipped.count == 3 && set.report.errors.isEmpty, "\(set.report.errors)")
        #expect(set.report.skipped.allSatisfy { "\($0)".contains("Google QUIC") }, "\(set.report.skipped)")
    }
}
