import Testing
import UTMCore
@testable import UTMDetect

/// The protocol words of a rule header that the engine detects, and `app-layer-protocol`, with
/// Suricata's semantics; matching on real traffic is in UTMEngineTests/AppProtoRuleTests.
@Suite struct AppLayerProtocolKeywordTests {
    func facts(_ app: AppProto) -> PacketFacts {
        var p = PacketFacts()
        p.ipProto = 6; p.sourcePort = 40000; p.destinationPort = 2121
        p.direction = .toServer; p.established = true; p.appProto = app
        return p
    }

    func verify(_ s: Signature, _ app: AppProto) -> Bool {
        var v = Verifier()
        var bits = FlowBits()
        return v.verify(s, packet: facts(app), buffers: InspectionBuffers(), flowbits: &bits) != .noMatch
    }

    /// `alert ftp` is for flows detected as FTP, on any port; undetected (not yet, or never)
    /// flows do not match, whatever their port.
    @Test func detectedProtocolWords() throws {
        let words: [(String, AppProto, UInt8)] = [
            ("ftp", .ftp, 6), ("ftp-data", .ftpData, 6), ("smtp", .smtp, 6), ("http2", .http2, 6), ("dhcp", .dhcp, 17),
        ]
        for (word, app, ip) in words {
            let s = try #require(rule("alert \(word) any any -> any any (msg:\"x\"; sid:1;)"), "\(word)")
            #expect(s.proto.app == app && s.proto.unparsedApp == nil && s.proto.ipProto == ip, "\(word)")
            var p = facts(app); p.ipProto = ip
            var v = Verifier(); var bits = FlowBits()
            #expect(v.verify(s, packet: p, buffers: InspectionBuffers(), flowbits: &bits) != .noMatch, "\(word)")
            for other in [AppProto.unknown, .failed, .http] {
                p.appProto = other
                #expect(v.verify(s, packet: p, buffers: InspectionBuffers(), flowbits: &bits) == .noMatch, "\(word) on \(other)")
            }
        }
        // Still not detected by the engine: a TCP/UDP rule on its ports, the word kept.
        let imap = try #require(rule("alert imap any any -> any 143 (msg:\"x\"; sid:1;)"))
        #expect(imap.proto.app == nil && imap.proto.unparsedApp == "imap")
        let tftp = try #require(rule("alert tftp any any -> any 69 (msg:\"x\"; sid:1;)"))
        #expect(tftp.proto.ipProto == 17 && tftp.proto.unparsedApp == "tftp")
    }

    @Test func positiveNegativeAndSpecialValues() throws {
        let ssh = try #require(rule(opts("app-layer-protocol:ssh;")))
        #expect(verify(ssh, .ssh) && !verify(ssh, .http) && !verify(ssh, .unknown) && !verify(ssh, .failed))
        #expect(ssh.proto.app == nil, "the keyword does not make a tcp rule an ssh rule")
        let notTLS = try #require(rule(opts("app-layer-protocol:!tls;")))
        #expect(verify(notTLS, .http) && verify(notTLS, .failed) && !verify(notTLS, .tls))
        #expect(!verify(notTLS, .unknown), "a negated protocol never matches the undetected state")
        let failed = try #require(rule(opts("app-layer-protocol:failed;")))
        #expect(verify(failed, .failed) && !verify(failed, .unknown) && !verify(failed, .ftp))
        let unknown = try #require(rule(opts("app-layer-protocol:unknown;")))
        #expect(verify(unknown, .unknown) && !verify(unknown, .http))
        // http is both versions; http1 and http2 one each.
        let http = try #require(rule(opts("app-layer-protocol:http;")))
        #expect(verify(http, .http) && verify(http, .http2))
        let http1 = try #require(rule(opts("app-layer-protocol:http1,original;")))
        #expect(verify(http1, .http) && !verify(http1, .http2))
        let notHTTP = try #require(rule(opts("app-layer-protocol:!http,final;")))
        #expect(!verify(notHTTP, .http2) && verify(notHTTP, .ftp))
        // Suricata 8 lists.
        let list = try #require(rule(opts("app-layer-protocol:tls|dns,either;")))
        #expect(verify(list, .tls) && verify(list, .dns) && !verify(list, .http))
        let listOrUnknown = try #require(rule(opts("app-layer-protocol:unknown|tls;")))
        #expect(verify(listOrUnknown, .unknown) && verify(listOrUnknown, .tls) && !verify(listOrUnknown, .ssh))
        // A protocol we never detect: a positive match never fires, a negated one does.
        let dcerpc = try #require(rule(opts("app-layer-protocol:dcerpc;")))
        #expect(verify(dcerpc, .smb) && !verify(dcerpc, .http), "DCE/RPC rules cover SMB flows (AppProtoEquals)")
        #expect(verify(dcerpc, .dcerpc), "and DCE/RPC over TCP (session 12)")
        let imap = try #require(rule(opts("app-layer-protocol:!imap;")))
        #expect(verify(imap, .smtp))
        for mode in ["direction", "to_server", "to_client", "either", "final", "original"] {
            #expect(rule(opts("app-layer-protocol:ftp,\(mode);")) != nil, "\(mode)")
        }
    }

    @Test func parseErrorsAreOneLine() {
        let bad = [
            opts("app-layer-protocol;"), opts("app-layer-protocol:nosuch;"), opts("app-layer-protocol:!unknown;"),
            opts("app-layer-protocol:http,sideways;"), opts("app-layer-protocol:http,final,either;"),
            opts("app-layer-protocol:tls;", proto: "http"),
        ]
        for text in bad {
            let e = ruleError(text)
            #expect(e != nil, "\(text)")
            #expect(!(e.map { "\($0)" } ?? "").contains("\n"), "\(text)")
        }
        #expect(rule(opts("app-layer-protocol:!tls;", proto: "http")) != nil)
        #expect(rule(opts("app-layer-protocol:http2;", proto: "http")) != nil)
    }

    /// The keyword and the header words survive a compiled bundle.
    @Test func bundleRoundTrip() throws {
        var p = RuleParser()
        p.load(text: """
            alert tcp any any -> any any (msg:"a"; app-layer-protocol:!http,to_server; sid:1;)
            alert ftp any any -> any any (msg:"b"; content:"SITE"; sid:2;)
            alert tcp any any -> any any (msg:"c"; app-layer-protocol:unknown|tls|failed; sid:3;)
            """, file: "t.rules")
        let original = DetectDefinitions(ruleSet: p.finish())
        #expect(original.count == 3)
        let bytes = DefinitionsBundle.encode(definitions: original)
        let back = try DefinitionsBundle.decode(bytes, file: "b")
        #expect(DefinitionsBundle.encode(definitions: back) == bytes)
        let a = try #require(back.signatures.first { $0.sid == 1 })
        #expect(a.headerMatches == [.appLayerProtocol(AppProtoMatch(mask: AppProtoMatch.bit(.http) | AppProtoMatch.bit(.http2),
                                                                       negated: true, unknown: false, mode: 1))])
        #expect(back.signatures.first { $0.sid == 2 }?.proto.app == .ftp)
        let c = try #require(back.signatures.first { $0.sid == 3 })
        #expect(verify(c, .unknown) && verify(c, .failed) && verify(c, .tls) && !verify(c, .ssh))
    }
}
