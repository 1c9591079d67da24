import Testing
import UTMCore
@testable import UTMDetect

/// Session 6 keywords at the rule and verifier level: what loads (and where), what is refused
/// with a one-line error, and what each element matches. Matching on built traffic through the
/// engine and a compiled bundle is in UTMEngineTests/Session6KeywordEngineTests.
@Suite struct Session6KeywordTests {
    // MARK: bsize

    @Test func bsizeAttachesToTheStickyBuffer() throws {
        let s = try #require(rule(opts("http.host; bsize:11; content:\"example.com\";", proto: "http")))
        let host = try #require(s.list(for: .httpHost))
        #expect(host.elements.count == 2 && s.list(for: .payload) == nil)
        if case .length(let m) = host.elements[0] { #expect(m == IntMatch(mode: .equal, a: 11)) } else { Issue.record("not a length") }
        #expect(inspect(s, "example.com", buffer: .httpHost))
        #expect(!inspect(s, "www.example.com", buffer: .httpHost), "same content, other length")
        #expect(!inspect(s, "examplx.com", buffer: .httpHost))
        // The same on TLS SNI, bsize after the content.
        let sni = try #require(rule(opts("tls.sni; content:\"evil\"; bsize:>8;", proto: "tls")))
        #expect(inspect(sni, "evil.example", buffer: .tlsSNI) && !inspect(sni, "evil.com", buffer: .tlsSNI))
    }

    @Test func bsizeComparisons() throws {
        let cases: [(String, [(Int, Bool)])] = [
            ("10", [(10, true), (9, false), (11, false)]),
            ("=0x0a", [(10, true), (11, false)]),
            ("!10", [(10, false), (9, true)]),
            ("!=10", [(10, false), (11, true)]),
            ("<10", [(9, true), (10, false)]),
            ("<=10", [(10, true), (11, false)]),
            (">10", [(11, true), (10, false)]),
            (">=10", [(10, true), (9, false)]),
            ("5<>10", [(5, false), (6, true), (9, true), (10, false)]),
            ("5-10", [(5, false), (7, true), (10, false)]),
            ("!5-10", [(5, true), (6, false), (9, false), (10, true), (0, true)]),
            (" 5 <> 10 ", [(7, true)]),
        ]
        for (value, probes) in cases {
            let s = try #require(rule(opts("http.uri; bsize:\(value);", proto: "http")), "\(value)")
            for (length, want) in probes {
                #expect(inspect(s, [UInt8](repeating: 0x61, count: length), buffer: .httpURI) == want, "bsize:\(value) on \(length)")
            }
        }
    }

    @Test func bsizeRefusals() {
        // Suricata refuses bsize on the payload (no sticky buffer, or after pkt_data).
        for bad in ["bsize:10;", "content:\"a\"; bsize:10;", "http.uri; pkt_data; bsize:3;",
                    "content:\"a\"; http_uri; bsize:3;"] {
            let e = ruleError(opts(bad))
            #expect(e?.kind == .invalid && e?.message.contains("sticky buffer") == true, "\(bad): \(String(describing: e))")
        }
        for bad in ["bsize:;", "bsize:abc;", "bsize:10<>5;", "bsize:-3;", "bsize:!<5;", "bsize;"] {
            #expect(ruleError(opts("http.uri; \(bad)", proto: "http"))?.kind == .invalid, "\(bad)")
        }
        // Contents that cannot fit: Suricata's "required content length exceeds bsize value".
        let long = ruleError(opts("http.host; bsize:5; content:\"example.com\";", proto: "http"))
        #expect(long?.message == "http.host: required content length 11 exceeds the bsize/urilen bound 5", "\(String(describing: long))")
        #expect(ruleError(opts("http.host; bsize:<12; content:\"example\"; content:\".com\"; distance:1;", proto: "http")) != nil,
                "7 + 1 + 4 bytes do not fit in 11")
        #expect(rule(opts("http.host; bsize:<13; content:\"example\"; content:\".com\"; distance:1;", proto: "http")) != nil)
        #expect(ruleError(opts("http.uri; bsize:10; content:\"abc\"; offset:8;", proto: "http")) != nil)
        #expect(rule(opts("http.uri; bsize:10; content:\"abc\"; offset:7;", proto: "http")) != nil)
        // A negated content needs no room; a pcre between contents restarts the chain.
        #expect(rule(opts("http.uri; bsize:3; content:\"abc\"; content:!\"defghij\";", proto: "http")) != nil)
        #expect(rule(opts("http.uri; bsize:8; content:\"abcd\"; pcre:\"/x/R\"; content:\"efgh\"; distance:0;", proto: "http")) != nil)
        // Bounds that exclude each other.
        let disjoint = ruleError(opts("http.uri; bsize:15; bsize:27;", proto: "http"))
        #expect(disjoint?.message.contains("exclude every length") == true)
        #expect(ruleError(opts("http.uri; bsize:>20; bsize:<10;", proto: "http")) != nil)
        #expect(rule(opts("http.uri; bsize:>5; bsize:<10;", proto: "http")) != nil, "a lower and an upper bound together")
        #expect(ruleError(opts("http.uri; bsize:5<>6;", proto: "http")) != nil, "no length between 5 and 6")
        // urilen is checked the same way (Suricata: "exceeds urilen value").
        #expect(ruleError(opts("urilen:<5; content:\"/abcdef\"; http_uri;", proto: "http")) != nil)
        // Every message is one line.
        #expect(long.map { !$0.description.contains("\n") } == true)
    }

    @Test func integerSyntaxExtensionsKeepOtherKeywords() throws {
        let s = try #require(rule(opts("dsize:!=5; ttl:!10-20;")))
        #expect(s.dsize == IntMatch(mode: .notEqual, a: 5))
        #expect(s.headerMatches == [.ttl(IntMatch(mode: .notRange, a: 10, b: 20))])
    }

    // MARK: byte_math

    static func mathList(_ s: Signature, _ buffer: BufferID = .payload) -> ByteMathMatch? {
        for l in s.lists where l.buffer == buffer {
            for case .byteMath(let m) in l.elements { return m }
        }
        return nil
    }

    @Test func byteMathParses() throws {
        let s = try #require(rule(opts("content:\"LEN\"; byte_math:bytes 2, offset 0, oper +, rvalue 4, result total, relative, endian little, bitmask 0x0ff0; byte_test:2,=,total,0,relative;")))
        let m = try #require(Self.mathList(s))
        #expect(m.encoding.bytes == 2 && m.encoding.littleEndian && m.encoding.stringBase == 0)
        #expect(m.offset == 0 && m.relative && m.op == .add && m.rvalue == .constant(4) && m.slot == 0 && m.bitmask == 0x0ff0)
        #expect(s.variableCount == 1)
        // Fields in any order, string bases, a variable rvalue, shift operators.
        let t = try #require(rule(opts("byte_extract:1,0,n; byte_math:result r, rvalue n, oper <<, offset 1, bytes 1; byte_math:bytes 3,offset 2,oper /,rvalue 7,result q,string dec;")))
        #expect(t.variableCount == 3)
        var ops: [ByteMathMatch.Operator] = []
        for case .byteMath(let m) in t.lists[0].elements { ops.append(m.op) }
        #expect(ops == [.shiftLeft, .divide])
        for (text, op) in [("+", ByteMathMatch.Operator.add), ("-", .subtract), ("*", .multiply), ("/", .divide), ("<<", .shiftLeft), (">>", .shiftRight)] {
            let r = try #require(rule(opts("byte_math:bytes 1, offset 0, oper \(text), rvalue 1, result x;")))
            #expect(Self.mathList(r)?.op == op)
        }
    }

    @Test func byteMathRefusals() {
        let bad = [
            "byte_math:bytes 4, offset 0, oper +, rvalue 1;",                         // no result
            "byte_math:bytes 11, offset 0, oper +, rvalue 1, result x;",              // bytes > 10
            "byte_math:bytes 0, offset 0, oper +, rvalue 1, result x;",
            "byte_math:bytes 4, offset 70000, oper +, rvalue 1, result x;",
            "byte_math:bytes 4, offset 0, oper &, rvalue 1, result x;",
            "byte_math:bytes 5, offset 0, oper <<, rvalue 1, result x;",              // shifts: 1-4 bytes
            "byte_math:bytes 4, offset 0, oper +, rvalue 4294967296, result x;",
            "byte_math:bytes 4, offset 0, oper +, rvalue nosuchvar, result x;",
            "byte_math:bytes 4, offset 0, oper +, rvalue 1, result x, string bin;",
            "byte_math:bytes 4, offset 0, oper +, rvalue 1, result x, endian middle;",
            "byte_math:bytes 4, offset 0, oper +, rvalue 1, result x, bitmask zz;",
            "byte_math:bytes 4, offset 0, oper +, oper -, rvalue 1, result x;",
            "byte_math:bytes 4, offset 0, oper +, rvalue 1, result x, colour red;",
            "byte_math:bytes 9, offset 0, oper +, rvalue 1, result x;",               // binary: 8 at most
            "byte_math:bytes 4, offset 0, oper +, rvalue 1, result 9x;",
            "byte_math:bytes 4, offset 0;",
        ]
        for b in bad {
            let e = ruleError(opts(b))
            #expect(e?.kind == .invalid, "\(b): \(String(describing: e))")
            #expect(e.map { !$0.description.contains("\n") && $0.message.hasPrefix("byte_math") } == true, "\(b)")
        }
        // Session 12: `dce` makes the rule a dcerpc rule (byte order from the PDU).
        let dce = rule(opts("byte_math:bytes 4, offset 0, oper +, rvalue 1, result x, dce;"))
        #expect(dce?.proto.app == .dcerpc)
        #expect(ruleError(opts("byte_math:bytes 4, offset 0, oper +, rvalue 1, result x, dce;", proto: "http"))?.kind == .invalid)
        #expect(rule(opts("byte_math:bytes 10, offset 0, oper +, rvalue 1, result x, string hex;")) != nil)
    }

    /// Values computed on the bytes, checked by byte_test against the variable.
    @Test func byteMathComputes() throws {
        func check(_ math: String, _ payload: [UInt8], equals value: Int, sourceLocation: SourceLocation = #_sourceLocation) {
            guard let s = rule(opts("byte_math:\(math), result v; byte_test:1,=,v,0;")) else { return }
            // byte_test reads the first byte: put the expected value there by comparing against it
            // indirectly: the rule matches iff v equals the payload's first byte.
            let probe = [UInt8(truncatingIfNeeded: value)] + payload.dropFirst()
            #expect(inspect(s, probe) == (value >= 0 && value < 256), "\(math)", sourceLocation: sourceLocation)
        }
        // bytes at offset 1..2 = 0x00 0x05 → 5.
        let p: [UInt8] = [0, 0x00, 0x05, 0x33]
        check("bytes 2, offset 1, oper +, rvalue 3", p, equals: 8)
        check("bytes 2, offset 1, oper -, rvalue 2", p, equals: 3)
        check("bytes 2, offset 1, oper *, rvalue 20", p, equals: 100)
        check("bytes 2, offset 1, oper /, rvalue 2", p, equals: 2)
        check("bytes 2, offset 1, oper <<, rvalue 4", p, equals: 80)
        check("bytes 2, offset 1, oper >>, rvalue 1", p, equals: 2)
        check("bytes 2, offset 1, oper >>, rvalue 8, endian little", p, equals: 5)   // 0x0500 read little-endian
        // The bitmask applies to the result, shifted past the mask's trailing zeros.
        check("bytes 1, offset 3, oper +, rvalue 0, bitmask 0xf0", p, equals: 3)
        // ASCII numbers.
        let text = Array("x42;".utf8)
        check("bytes 2, offset 1, oper +, rvalue 1, string dec", text, equals: 43)
        check("bytes 2, offset 1, oper +, rvalue 0, string hex", text, equals: 0x42)
        check("bytes 2, offset 1, oper +, rvalue 0, string oct", text, equals: 0o42)
    }

    @Test func byteMathFailuresAndPositions() throws {
        // Division by zero through a variable: no match, no trap.
        let div = try #require(rule(opts("byte_extract:1,0,z; byte_math:bytes 1, offset 1, oper /, rvalue z, result q; isdataat:0;")))
        #expect(!inspect(div, [0, 9]))
        #expect(inspect(div, [3, 9]))
        // Past the end: no match.
        let past = try #require(rule(opts("byte_math:bytes 4, offset 2, oper +, rvalue 1, result v; isdataat:0;")))
        #expect(!inspect(past, [1, 2, 3, 4, 5]) && inspect(past, [1, 2, 3, 4, 5, 6]))
        // Relative to the content, and the position moves past the bytes read.
        let rel = try #require(rule(opts("content:\"LEN\"; byte_math:bytes 1, offset 0, oper +, rvalue 1, result n, relative; content:\"!\"; within:1;")))
        #expect(inspect(rel, Array("..LEN\u{04}!".utf8)) && !inspect(rel, Array("..LEN\u{04}x!".utf8)))
        // The result as a content distance and an isdataat value.
        let dist2 = try #require(rule(opts("content:\"N=\"; byte_math:bytes 1, offset 0, oper +, rvalue 0, result skip, relative, string dec; content:\"END\"; distance:skip; within:3;")))
        #expect(inspect(dist2, Array("N=3abcEND".utf8)) && !inspect(dist2, Array("N=2abcEND".utf8)))
        // Backtracking: the first LEN's value does not fit, the second does.
        let retry = try #require(rule(opts("content:\"L\"; byte_math:bytes 1, offset 0, oper *, rvalue 2, result d, relative; byte_test:1,=,d,0,relative;")))
        #expect(inspect(retry, [0x4c, 3, 9, 0x4c, 2, 4]))
        #expect(!inspect(retry, [0x4c, 3, 9, 0x4c, 2, 5]))
    }

    // MARK: Header keywords

    static func verifies(_ s: Signature, _ f: PacketFacts) -> Bool {
        var v = Verifier()
        var bits = FlowBits()
        return v.verify(s, packet: f, buffers: InspectionBuffers(), flowbits: &bits) != .noMatch
    }

    static func tcp(_ edit: (inout PacketFacts) -> Void = { _ in }) -> PacketFacts {
        var f = PacketFacts()
        f.ipVersion = 4
        f.ipProto = 6
        f.source = IPAddress(v4: 0x0a61_0001)
        f.destination = IPAddress(v4: 0x0a61_0002)
        edit(&f)
        return f
    }

    @Test func headerKeywordsLoadAndMatch() throws {
        // (options, facts that match, facts that do not)
        let cases: [(String, PacketFacts, PacketFacts)] = [
            ("fragbits:D;", Self.tcp { $0.ipFragBits = IPFragBits.dontFragment }, Self.tcp { $0.ipFragBits = IPFragBits.dontFragment | IPFragBits.reserved }),
            ("fragbits:+D;", Self.tcp { $0.ipFragBits = IPFragBits.dontFragment | IPFragBits.reserved }, Self.tcp { $0.ipFragBits = IPFragBits.dontFragment }),
            ("fragbits:*MR;", Self.tcp { $0.ipFragBits = IPFragBits.moreFragments }, Self.tcp { $0.ipFragBits = IPFragBits.dontFragment }),
            ("fragbits:!MD;", Self.tcp { $0.ipFragBits = IPFragBits.moreFragments }, Self.tcp { $0.ipFragBits = IPFragBits.moreFragments | IPFragBits.dontFragment }),
            ("fragbits:M;", Self.tcp { $0.ipFragBits = IPFragBits.moreFragments }, Self.tcp { $0.ipVersion = 6; $0.ipFragBits = IPFragBits.moreFragments }),
            ("fragoffset:>10;", Self.tcp { $0.ipFragOffset = 11 }, Self.tcp { $0.ipFragOffset = 10 }),
            ("fragoffset:!0;", Self.tcp { $0.ipFragOffset = 1 }, Self.tcp()),
            ("seq:4294967295;", Self.tcp { $0.tcpSeq = .max }, Self.tcp { $0.tcpSeq = 1 }),
            ("ack:0;", Self.tcp(), Self.tcp { $0.tcpAck = 7 }),
            ("window:1024;", Self.tcp { $0.tcpWindow = 1024 }, Self.tcp { $0.tcpWindow = 1025 }),
            ("window:!1024;", Self.tcp { $0.tcpWindow = 1 }, Self.tcp { $0.tcpWindow = 1024 }),
            ("tos:16;", Self.tcp { $0.tos = 16 }, Self.tcp { $0.tos = 17 }),
            ("tos:x10;", Self.tcp { $0.tos = 16 }, Self.tcp { $0.ipVersion = 6; $0.tos = 16 }),
            ("tos:!0x10;", Self.tcp { $0.tos = 0 }, Self.tcp { $0.tos = 16 }),
            ("ipopts:rr;", Self.tcp { $0.ipOptions = IPOptionFlags.rr | IPOptionFlags.nop }, Self.tcp { $0.ipOptions = IPOptionFlags.ts }),
            ("ipopts:any;", Self.tcp { $0.ipOptions = IPOptionFlags.other }, Self.tcp()),
            ("sameip;", Self.tcp { $0.destination = $0.source }, Self.tcp()),
            ("tcp.mss:<1400;", Self.tcp { $0.tcpMSS = 1380 }, Self.tcp()),
            ("tcp.mss:1460;", Self.tcp { $0.tcpMSS = 1460 }, Self.tcp { $0.tcpMSS = 1380 }),
            ("tcp.flags:SA;", Self.tcp { $0.tcpFlags = 0x12 }, Self.tcp { $0.tcpFlags = 0x02 }),
        ]
        for (options, yes, no) in cases {
            let s = try #require(rule(opts(options, proto: "ip")), "\(options)")
            #expect(s.headerMatches.count == 1, "\(options)")
            #expect(Self.verifies(s, yes), "\(options) should match")
            #expect(!Self.verifies(s, no), "\(options) should not match")
        }
        // seq/ack/window/tcp.mss only on TCP; icmp_seq only on echo messages.
        let seq = try #require(rule(opts("seq:0;", proto: "ip")))
        #expect(!Self.verifies(seq, Self.tcp { $0.ipProto = 17 }))
        let icmp = try #require(rule(opts("icmp_seq:7;", proto: "icmp")))
        let echo = Self.tcp { $0.ipProto = 1; $0.icmpType = 8; $0.icmpSeq = 7 }
        #expect(Self.verifies(icmp, echo))
        #expect(!Self.verifies(icmp, Self.tcp { $0.ipProto = 1; $0.icmpType = 3; $0.icmpSeq = 7 }), "not an echo")
        let anyIP = try #require(rule(opts("icmp_seq:7;", proto: "ip")))
        #expect(Self.verifies(anyIP, Self.tcp { $0.ipVersion = 6; $0.ipProto = 58; $0.icmpType = 129; $0.icmpSeq = 7 }), "ICMPv6 echo reply")
        #expect(rule(opts("icmp_seq:\"7\";", proto: "icmp")) != nil)
    }

    @Test func headerKeywordRefusals() {
        let bad = ["fragbits:;", "fragbits:X;", "fragbits:M+;", "fragbits:+;", "fragoffset:9000;", "fragoffset:<=3;",
                   "seq:-1;", "seq:4294967296;", "ack:abc;", "window:70000;", "window:<5;", "tos:256;", "tos:xZZ;",
                   "ipopts:bogus;", "ipopts:;", "sameip:1;", "icmp_seq:70000;", "tcp.mss:70000;", "tls.version:1.4;",
                   "tls.version:0x303;", "tls.version:sslv3;"]
        for b in bad {
            let e = ruleError(opts(b, proto: "ip"))
            #expect(e?.kind == .invalid, "\(b): \(String(describing: e))")
            #expect(e.map { !$0.description.contains("\n") } == true)
        }
        #expect(ruleError(opts("tls.version:1.2;", proto: "http")) != nil, "an http rule cannot take tls.version")
    }

    @Test func tlsVersionValues() throws {
        for (text, version, raw) in [("1.0", UInt16(0x0301), false), ("1.1", 0x0302, false), ("1.2", 0x0303, false),
                                     ("\"1.3\"", 0x0304, false), ("0x7f1c", 0x7f1c, true)] {
            let s = try #require(rule(opts("tls.version:\(text);", proto: "tcp")), "\(text)")
            #expect(s.headerMatches == [.tlsVersion(version: version, raw: raw)])
            #expect(s.proto.app == .tls, "tls.version makes the rule a TLS rule")
            #expect(DetectDefinitions.point(of: s) == .tls)
        }
        let named = try #require(rule(opts("tls.version:1.3;", proto: "tls")))
        let draft = Self.tcp { $0.appProto = .tls; $0.tlsVersion = 0x7f1c }
        #expect(Self.verifies(named, draft), "a TLS 1.3 draft is 1.3")
        let raw = try #require(rule(opts("tls.version:0x0304;", proto: "tls")))
        #expect(!Self.verifies(raw, draft), "raw values compare exactly")
        #expect(Self.verifies(raw, Self.tcp { $0.appProto = .tls; $0.tlsVersion = 0x0304 }))
        let server = try #require(rule(opts("flow:to_client; tls.version:1.3;", proto: "tls")))
        #expect(DetectDefinitions.phase(of: server, .tls) == 2 && DetectDefinitions.phase(of: named, .tls) == 1)
    }

    @Test func dnsOpcode() throws {
        let s = try #require(rule(opts("dns.opcode:!0;", proto: "udp")))
        #expect(s.proto.app == .dns && s.headerMatches == [.dnsOpcode(IntMatch(mode: .notEqual, a: 0))])
        #expect(DetectDefinitions.point(of: s) == .dns && DetectDefinitions.phase(of: s, .dns) == 1)
        let answers = try #require(rule(opts("flow:to_client; dns.opcode:4;", proto: "dns")))
        #expect(DetectDefinitions.phase(of: answers, .dns) == 2)
        var f = Self.tcp { $0.ipProto = 17; $0.appProto = .dns; $0.dnsOpcode = 4 }
        #expect(Self.verifies(s, f))
        f.dnsOpcode = 0
        #expect(!Self.verifies(s, f))
        f.dnsOpcode = 0xff
        let zero = try #require(rule(opts("dns.opcode:0;", proto: "dns")))
        #expect(!Self.verifies(zero, f), "no DNS message, no opcode")
        for bad in ["dns.opcode:;", "dns.opcode:256;", "dns.opcode:x;"] {
            #expect(ruleError(opts(bad, proto: "dns"))?.kind == .invalid, "\(bad)")
        }
        #expect(ruleError(opts("dns.opcode:0;", proto: "http")) != nil)
        #expect(ruleError(opts("dns.opcode:0;", proto: "icmp")) != nil)
    }

    @Test func ipOptionWalk() {
        func flags(_ options: [UInt8]) -> UInt16 {
            let header = [UInt8](repeating: 0, count: 20) + options
            return header.withByteView { IPOptionFlags.present(in: $0, headerLength: header.count) }
        }
        #expect(flags([7, 7, 4, 0, 0, 0, 0, 1]) == IPOptionFlags.rr | IPOptionFlags.nop)
        #expect(flags([68, 4, 5, 0]) == IPOptionFlags.ts)
        #expect(flags([0, 7, 7, 4]) == IPOptionFlags.eol, "nothing after the end of options")
        #expect(flags([130, 11]) == IPOptionFlags.sec, "a length past the header ends the walk, the option counts")
        #expect(flags([131, 0, 7, 3]) == IPOptionFlags.lsrr, "a zero length ends the walk without looping")
        #expect(flags([25, 3, 0, 1]) == IPOptionFlags.other | IPOptionFlags.nop)
        // Truncated views never trap.
        let short: [UInt8] = [UInt8](repeating: 0, count: 20) + [7]
        #expect(short.withByteView { IPOptionFlags.present(in: $0, headerLength: 40) } == IPOptionFlags.rr)
    }
}
