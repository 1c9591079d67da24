import Testing
import UTMCore
@testable import UTMDetect

/// Session 12: the DCE/RPC keywords at the rule level (what loads, where it is inspected, the
/// errors, the aliases, the bundle form) and their verification on built facts. Matching on
/// built traffic through the engine: UTMEngineTests/DCERPCEngineTests.
@Suite struct DCERPCKeywordTests {
    static let spoolss = "12345678-1234-ABCD-EF00-0123456789ab"

    func facts(opnum: Int32 = 89, accepted: Bool = true, firstFrag: Bool = true, version: UInt16 = 1,
               little: Bool = true) -> PacketFacts {
        var p = PacketFacts()
        p.ipProto = 6; p.sourcePort = 40000; p.destinationPort = 135
        p.direction = .toServer; p.established = true; p.appProto = .dcerpc
        p.dceOpnum = opnum
        p.dceIfaceHi = 0x1234_5678_1234_abcd
        p.dceIfaceLo = 0xef00_0123_4567_89ab
        p.dceIfaceVersion = version
        p.dceIfaceState = (accepted ? 1 : 0) | (firstFrag ? 2 : 0)
        p.dceLittleEndian = little
        return p
    }

    func verify(_ s: Signature, _ p: PacketFacts, stub: [UInt8] = []) -> Bool {
        var v = Verifier()
        var bits = FlowBits()
        return stub.withByteView { view in
            var b = InspectionBuffers()
            b[.dcerpcStubData] = view
            return v.verify(s, packet: p, buffers: b, flowbits: &bits) != .noMatch
        }
    }

    @Test func ifaceParsesAndAliases() throws {
        for kw in ["dcerpc.iface", "dce_iface"] {
            let s = try #require(rule(opts("\(kw):\(Self.spoolss);")))
            #expect(s.proto.app == .dcerpc && DetectDefinitions.point(of: s) == .dcerpc, "\(kw)")
            #expect(s.headerMatches == [.dcerpcIface(DCERPCIfaceMatch(hi: 0x1234_5678_1234_abcd, lo: 0xef00_0123_4567_89ab,
                                                                      version: nil, anyFrag: false))])
        }
        let v = try #require(rule(opts("dce_iface:\(Self.spoolss),>0,any_frag;")))
        guard case .dcerpcIface(let m) = v.headerMatches.first else { Issue.record("no iface"); return }
        #expect(m.anyFrag && m.version == IntMatch(mode: .greater, a: 0))
        #expect(rule(opts("dcerpc.iface:\(Self.spoolss),any_frag;")) != nil)
        #expect(rule(opts("dcerpc.iface:\(Self.spoolss),=1;")) != nil)
    }

    @Test func badValuesSayWhy() {
        let bad = [
            "dcerpc.iface;", "dcerpc.iface:12345678-1234-abcd-ef00;", "dcerpc.iface:12345678-1234-abcd-ef00-0123456789ag;",
            "dcerpc.iface:\(Self.spoolss),frag;", "dcerpc.iface:\(Self.spoolss),any_frag,=1;",
            "dcerpc.iface:\(Self.spoolss),=1,x;", "dcerpc.iface:\(Self.spoolss),70000;",
            "dcerpc.opnum;", "dcerpc.opnum:x;", "dcerpc.opnum:5-2;", "dcerpc.opnum:1,,2;", "dcerpc.opnum:70000;",
            "dce_opnum:1-2-3;", "dcerpc.stub_data:x;",
        ]
        for b in bad {
            let e = ruleError(opts(b))
            #expect(e?.kind == .invalid, "\(b): \(String(describing: e))")
            #expect(e.map { !$0.description.contains("\n") } == true, "\(b)")
        }
        // A dcerpc keyword on a rule of another protocol.
        #expect(ruleError(opts("dcerpc.opnum:1;", proto: "http"))?.kind == .invalid)
        #expect(ruleError(opts("dce_stub_data; content:\"a\";", proto: "udp"))?.kind == .invalid)
    }

    @Test func opnumMatchesListsRangesAndComparisons() throws {
        for kw in ["dcerpc.opnum", "dce_opnum"] {
            let s = try #require(rule(opts("\(kw):0,3-5,89;")))
            #expect(s.proto.app == .dcerpc && DetectDefinitions.point(of: s) == .dcerpc)
            for (n, want) in [(0, true), (1, false), (3, true), (5, true), (6, false), (89, true), (90, false)] {
                #expect(verify(s, facts(opnum: Int32(n))) == want, "\(kw) \(n)")
            }
            #expect(!verify(s, facts(opnum: -1)), "not a call")
        }
        let gt = try #require(rule(opts("dcerpc.opnum:>10;")))
        #expect(verify(gt, facts(opnum: 11)) && !verify(gt, facts(opnum: 10)))
    }

    @Test func ifaceNeedsTheAcceptedInterface() throws {
        let s = try #require(rule(opts("dcerpc.iface:\(Self.spoolss);")))
        #expect(verify(s, facts()))
        #expect(!verify(s, facts(accepted: false)), "rejected by the server")
        #expect(!verify(s, facts(firstFrag: false)), "without any_frag: first fragment only")
        #expect(!verify(s, facts(opnum: -1)), "not a call")
        let any = try #require(rule(opts("dcerpc.iface:\(Self.spoolss),any_frag;")))
        #expect(verify(any, facts(firstFrag: false)))
        let v2 = try #require(rule(opts("dcerpc.iface:\(Self.spoolss),>1;")))
        #expect(!verify(v2, facts(version: 1)) && verify(v2, facts(version: 2)))
        let other = try #require(rule(opts("dcerpc.iface:12345778-1234-abcd-ef00-0123456789ab;")))
        #expect(!verify(other, facts()))
    }

    @Test func stubDataIsAStickyBufferWithFastPattern() throws {
        for kw in ["dcerpc.stub_data", "dce_stub_data"] {
            let s = try #require(rule(opts("\(kw); content:\"abc\";")))
            #expect(s.list(for: .dcerpcStubData) != nil && s.list(for: .payload) == nil)
            #expect(s.proto.app == .dcerpc && DetectDefinitions.point(of: s) == .dcerpc)
            #expect(s.prefilter?.buffer == .dcerpcStubData, "the content is its fast pattern")
            #expect(verify(s, facts(), stub: Array("xxabcxx".utf8)) && !verify(s, facts(), stub: Array("xxabxx".utf8)))
        }
    }

    @Test func byteKeywordsWithDCEReadInThePDUsByteOrder() throws {
        let t = try #require(rule(opts("dce_stub_data; content:\"|ff|\"; byte_test:4,=,0x01020304,0,relative,dce;")))
        #expect(t.proto.app == .dcerpc)
        let le: [UInt8] = [0xff, 4, 3, 2, 1], be: [UInt8] = [0xff, 1, 2, 3, 4]
        #expect(verify(t, facts(little: true), stub: le) && !verify(t, facts(little: true), stub: be))
        #expect(verify(t, facts(little: false), stub: be) && !verify(t, facts(little: false), stub: le))
        let j = try #require(rule(opts("dce_stub_data; byte_jump:2,0,dce; content:\"Z\"; within:1;")))
        // Reads 1 and jumps over one byte after the number to the Z.
        #expect(verify(j, facts(little: true), stub: [1, 0, 0, 0x5a]) && !verify(j, facts(little: false), stub: [1, 0, 0, 0x5a]))
        #expect(verify(j, facts(little: false), stub: [0, 1, 0, 0x5a]))
        let m = try #require(rule(opts("dce_stub_data; byte_math:bytes 2, offset 0, oper +, rvalue 1, result r, dce; byte_test:2,=,r,2;")))
        #expect(verify(m, facts(little: true), stub: [1, 0, 0, 2]) && verify(m, facts(little: false), stub: [0, 1, 0, 2]))
        let x = try #require(rule(opts("dce_stub_data; byte_extract:4,0,n,dce; byte_test:1,=,n,4;")))
        #expect(verify(x, facts(little: true), stub: [7, 0, 0, 0, 7]))
        // dce makes the rule a dcerpc rule; string with dce is refused.
        #expect(rule(opts("byte_test:2,=,1,0,dce;"))?.proto.app == .dcerpc)
        #expect(ruleError(opts("byte_test:2,=,1,0,dce;", proto: "smb"))?.kind == .invalid)
        #expect(ruleError(opts("byte_test:2,=,1,0,string,dec,dce;"))?.kind == .invalid)
    }

    @Test func headerProtocolAndBundleRoundTrip() throws {
        let h = try #require(rule("alert dcerpc any any -> any any (msg:\"x\"; dcerpc.opnum:1; sid:1;)"))
        #expect(h.proto.app == .dcerpc && h.proto.unparsedApp == nil && h.proto.ipProto == 6)
        // A header-only dcerpc rule covers DCE/RPC over TCP and SMB flows (AppProtoEquals).
        let bare = try #require(rule("drop dcerpc any any -> any any (msg:\"x\"; sid:2;)"))
        for (app, want) in [(AppProto.dcerpc, true), (.smb, true), (.http, false), (.unknown, false)] {
            var p = facts()
            p.appProto = app
            #expect(verify(bare, p) == want, "\(app)")
        }
        #expect(!verify(h, { var p = facts(opnum: -1); p.appProto = .smb; return p }()), "no call on SMB yet")
        let texts = [opts("dcerpc.iface:\(Self.spoolss),<3,any_frag; dcerpc.opnum:1-4,9;"), opts("dce_opnum:>=2;"),
                     opts("dce_stub_data; content:\"abc\"; byte_test:2,>,1,0,relative,dce;")]
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
}
