import Foundation
import Testing
import UTMCore
import UTMDetect
import UTMCrypto
@testable import UTMEngine

/// The session 7 keywords (Suricata 7/8 buffers of the TLS, QUIC, DNS and SMB parsers) on
/// traffic built here, through the whole engine, each rule set as parsed and after a bundle
/// round trip (`Session6KeywordEngineTests.alerts`). Each keyword has a rule that must match
/// and one that must not.
@Suite struct Session7KeywordEngineTests {
    typealias T = EngineTraffic

    static func alerts(_ rules: String, _ frames: [[UInt8]], sourceLocation: SourceLocation = #_sourceLocation) throws -> [Int: Int] {
        try Session6KeywordEngineTests.alerts(rules, frames, sourceLocation: sourceLocation)
    }

    // MARK: TLS

    static func der(_ tag: String, _ size: Int) -> [UInt8] {
        [0x30, 0x82, UInt8(size >> 8), UInt8(size & 0xff)] + Array(tag.utf8) + [UInt8](repeating: 0x5c, count: size)
    }
    static let leaf = der("CN=login.evil.example", 200)
    static let issuer = der("CN=Cheap Intermediate CA", 120)

    /// A TLS 1.2 server flight: ServerHello (random 0xa0...), Certificate (`certs`),
    /// ServerHelloDone, then ChangeCipherSpec and an encrypted record.
    static func tls12Flight(_ certs: [[UInt8]], alpn: String? = nil) -> [UInt8] {
        let random: [UInt8] = [0xa0, 0xa1, 0xa2, 0xa3] + [UInt8](repeating: 0x77, count: 28)
        let exts = alpn.map { T.ext(16, T.be16(UInt16($0.utf8.count + 1)) + [UInt8($0.utf8.count)] + Array($0.utf8)) } ?? []
        let sh = T.be16(0x0303) + random + [0] + T.be16(0xc02f) + [0] + T.be16(UInt16(exts.count)) + exts
        let list = certs.flatMap { T.be24($0.count) + $0 }
        let certificate = T.be24(list.count) + list
        let hs = [2] + T.be24(sh.count) + sh + [11] + T.be24(certificate.count) + certificate + [14, 0, 0, 0]
        return [0x16, 0x03, 0x03] + T.be16(UInt16(hs.count)) + hs
            + [0x14, 0x03, 0x03, 0x00, 0x01, 0x01] + [0x17, 0x03, 0x03, 0x00, 0x10] + [UInt8](repeating: 0x5a, count: 16)
    }

    @Test func tlsCertificateRandomAndJA4Buffers() throws {
        var frames: [[UInt8]] = []
        frames += T.tcpSession(v6: false, sport: 45001, dport: 443,
                               exchanges: [(T.clientHello(sni: "login.evil.example"), Self.tls12Flight([Self.leaf, Self.issuer]))])
        frames += T.tcpSession(v6: true, sport: 45002, dport: 443,
                               exchanges: [(T.clientHello(sni: "ok.example"), Self.tls12Flight([Self.issuer]))])
        // TLS 1.3: the certificate is encrypted, no Certificate message is seen.
        frames += T.tcpSession(v6: false, sport: 45003, dport: 443, exchanges: [(T.clientHello(sni: "v13.example"), T.serverHello())])
        let rules = """
            alert tls any any -> any any (msg:"leaf names evil"; tls.certs; content:"evil.example"; sid:1;)
            alert tls any any -> any any (msg:"either cert is the CA"; tls.certs; content:"Intermediate CA"; sid:2;)
            alert tls any any -> any any (msg:"no such cert"; tls.certs; content:"Let's Encrypt"; sid:3;)
            alert tls any any -> any any (msg:"DER sequence start"; tls.certs; content:"|30 82|"; startswith; sid:4;)
            alert tls any any -> any any (msg:"two certs"; tls.cert_chain_len:2; sid:5;)
            alert tls any any -> any any (msg:"more than two"; tls.cert_chain_len:>2; sid:6;)
            alert tls any any -> any any (msg:"sni and cert"; tls.sni; content:"evil"; tls.certs; content:"CA"; sid:7;)
            alert tls any any -> any any (msg:"client random"; flow:to_server; tls.random; content:"|11 11 11 11|"; startswith; bsize:32; sid:8;)
            alert tls any any -> any any (msg:"server random time"; flow:to_client; tls.random_time; content:"|a0 a1 a2 a3|"; bsize:4; sid:9;)
            alert tls any any -> any any (msg:"server random bytes"; flow:to_client; tls.random_bytes; content:"|77 77|"; bsize:28; sid:10;)
            alert tls any any -> any any (msg:"client random is not the server's"; flow:to_server; tls.random; content:"|a0 a1|"; sid:11;)
            alert tls any any -> any any (msg:"ja4 prefix"; ja4.hash; content:"t13d0306h2_"; startswith; bsize:36; sid:12;)
            alert tls any any -> any any (msg:"ja4 of QUIC"; ja4.hash; content:"q13d"; startswith; sid:13;)
            """
        let n = try Self.alerts(rules, frames)
        #expect(n[1] == 1, "the leaf of the first chain; \(n)")
        #expect(n[2] == 2, "the CA is in both chains, one alert per chain though it is one of two; \(n)")
        #expect(n[3] == nil && n[6] == nil, "\(n)")
        #expect(n[4] == 2, "both chains' certificates start with a DER sequence: once per chain; \(n)")
        #expect(n[5] == 1, "\(n)")
        #expect(n[7] == 1, "\(n)")
        #expect(n[8] == 3 && n[11] == nil, "every ClientHello's random is 0x11...; \(n)")
        #expect(n[9] == 2 && n[10] == 2, "the two TLS 1.2 ServerHellos (the 1.3 one's random is 0x22...); \(n)")
        #expect(n[12] == 3 && n[13] == nil, "\(n)")
    }

    // MARK: Certificate fields

    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        let n = content.count
        let length: [UInt8] = n < 0x80 ? [UInt8(n)] : n < 0x100 ? [0x81, UInt8(n)] : [0x82, UInt8(n >> 8), UInt8(n & 0xff)]
        return [tag] + length + content
    }
    static func rdn(_ oidLast: UInt8, _ value: String) -> [UInt8] {
        tlv(0x31, tlv(0x30, tlv(0x06, [0x55, 4, oidLast]) + tlv(0x0c, Array(value.utf8))))
    }

    /// A DER certificate built here: serial `serial`, subject CN `cn` (with C=JP, O=...),
    /// issuer "C=US, O=Cheap CA Inc, CN=Cheap Intermediate CA", subjectAltName `sans`.
    static func x509(cn: String, serial: [UInt8], sans: [String]) -> [UInt8] {
        let sigAlg = tlv(0x30, tlv(0x06, [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]) + [0x05, 0x00])
        let issuer = tlv(0x30, rdn(6, "US") + rdn(10, "Cheap CA Inc") + rdn(3, "Cheap Intermediate CA"))
        let subject = tlv(0x30, rdn(6, "JP") + rdn(10, "Evil K.K.") + rdn(3, cn))
        let validity = tlv(0x30, tlv(0x17, Array("260101000000Z".utf8)) + tlv(0x17, Array("270101000000Z".utf8)))
        let spki = tlv(0x30, tlv(0x30, tlv(0x06, [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]) + [0x05, 0x00])
                       + tlv(0x03, [0] + [UInt8](repeating: 0x42, count: 64)))
        let san = tlv(0x30, tlv(0x06, [0x55, 0x1d, 0x11]) + tlv(0x04, tlv(0x30, sans.flatMap { tlv(0x82, Array($0.utf8)) })))
        let tbs = tlv(0xa0, tlv(0x02, [2])) + tlv(0x02, serial) + sigAlg + issuer + validity + subject + spki
            + tlv(0xa3, tlv(0x30, san))
        return tlv(0x30, tlv(0x30, tbs) + sigAlg + tlv(0x03, [0] + [UInt8](repeating: 0x99, count: 64)))
    }

    /// SHA-1 of `der` as Suricata prints a fingerprint: lower-case hex pairs joined by ':'.
    static func fingerprint(_ der: [UInt8]) -> String {
        let d = StreamingDigest()
        d.begin(.sha1)
        der.withByteView { d.update($0) }
        let f = d.finish()
        return (0 ..< 20).map { String(format: "%02x", f.sha1[$0]) }.joined(separator: ":")
    }

    @Test func certificateSubjectIssuerSerialFingerprintAndAltNames() throws {
        let evil = Self.x509(cn: "login.evil.example", serial: [0x00, 0x8f, 0x1a], sans: ["login.evil.example", "*.evil.example", "evil.test"])
        let fine = Self.x509(cn: "www.example.org", serial: [0x01], sans: ["www.example.org"])
        var frames: [[UInt8]] = []
        frames += T.tcpSession(v6: false, sport: 45101, dport: 443,
                               exchanges: [(T.clientHello(sni: "login.evil.example"), Self.tls12Flight([evil, Self.issuer]))])
        frames += T.tcpSession(v6: false, sport: 45102, dport: 443,
                               exchanges: [(T.clientHello(sni: "www.example.org"), Self.tls12Flight([fine]))])
        let print = Self.fingerprint(evil)
        let rules = """
            alert tls any any -> any any (msg:"subject"; flow:established,to_client; tls.cert_subject; content:"C=JP, O=Evil K.K., CN=login.evil.example"; bsize:40; sid:50;)
            alert tls any any -> any any (msg:"subject CN"; tls_cert_subject; content:"CN=www.example.org"; endswith; sid:51;)
            alert tls any any -> any any (msg:"issuer"; tls.cert_issuer; content:"C=US, O=Cheap CA Inc, CN=Cheap Intermediate CA"; bsize:46; sid:52;)
            alert tls any any -> any any (msg:"serial"; tls.cert_serial; content:"00:8F:1A"; bsize:8; sid:53;)
            alert tls any any -> any any (msg:"other serial"; tls.cert_serial; content:"00:8F:1B"; sid:54;)
            alert tls any any -> any any (msg:"fingerprint"; tls.cert_fingerprint; content:"\(print)"; bsize:59; sid:55;)
            alert tls any any -> any any (msg:"wildcard san, once per certificate"; tls.subjectaltname; content:"evil"; sid:56;)
            alert tls any any -> any any (msg:"san exact"; tls.subjectaltname; content:"*.evil.example"; bsize:14; sid:57;)
            alert tls any any -> any any (msg:"no such san"; tls.subjectaltname; content:"evil.example.org"; sid:58;)
            alert tls any any -> any any (msg:"issuer is not the subject"; tls.cert_subject; content:"Cheap"; sid:59;)
            alert tls any any -> any any (msg:"valid at the packet time"; tls_cert_valid; sid:60;)
            alert tls any any -> any any (msg:"expired"; tls_cert_expired; sid:61;)
            alert tls any any -> any any (msg:"not before 2026"; tls_cert_notbefore:2026-01-01; sid:62;)
            alert tls any any -> any any (msg:"not after in 2026"; tls_cert_notafter:2026-01-01<>2026-12-31; sid:63;)
            alert tls any any -> any any (msg:"not after 2027 or later"; tls_cert_notafter:>2027-01-01T00:00:00; sid:64;)
            """
        let n = try Self.alerts(rules, frames)
        #expect(n[50] == 1 && n[51] == 1 && n[52] == 2, "\(n)")
        #expect(n[53] == 1 && n[54] == nil && n[55] == 1, "\(n)")
        #expect(n[56] == 1 && n[57] == 1 && n[58] == nil && n[59] == nil, "\(n)")
        // Both leaves run 2026-01-01 to 2027-01-01; the packets are of 2023-11.
        #expect(n[60] == 2 && n[61] == nil && n[62] == 2 && n[63] == nil && n[64] == 2, "\(n)")
    }

    /// A leaf with no DNS name in its subjectAltName still meets the certificate rules when a
    /// tls.subjectaltname rule is loaded beside them (the names loop was the only inspection).
    @Test func certificateRulesWithoutAltNames() throws {
        let bare = Self.x509(cn: "c2.evil.example", serial: [0x07], sans: [])
        let frames = T.tcpSession(v6: false, sport: 45103, dport: 443,
                                  exchanges: [(T.clientHello(sni: "c2.evil.example"), Self.tls12Flight([bare]))])
        let rules = """
            alert tls any any -> any any (msg:"any san"; tls.subjectaltname; content:"evil"; sid:70;)
            alert tls any any -> any any (msg:"subject"; tls.cert_subject; content:"CN=c2.evil.example"; sid:71;)
            alert tls any any -> any any (msg:"serial"; tls.cert_serial; content:"07"; bsize:2; sid:72;)
            """
        let n = try Self.alerts(rules, frames)
        #expect(n[70] == nil && n[71] == 1 && n[72] == 1, "\(n)")
    }

    /// A server that pads its chain past the parser's 16 KiB buffer (a 20 KiB certificate after
    /// the leaf, the Certificate message spread over two records) does not hide its leaf from
    /// the certificate rules; `tls.cert_chain_len` counts the whole chain.
    @Test func paddedChainStillMeetsTheCertificateRules() throws {
        let leaf = Self.x509(cn: "c2.evil.example", serial: [0x09], sans: ["c2.evil.example"])
        let padding = Self.der("pad", 20_000)
        let one = Self.tls12Flight([leaf, padding, Self.issuer])
        // Re-cut the single handshake record into records of at most 16 KiB.
        let hsLength = Int(one[3]) << 8 | Int(one[4])
        let hs = Array(one[5 ..< 5 + hsLength])
        var flight: [UInt8] = []
        var i = 0
        while i < hs.count {
            let n = min(16_384, hs.count - i)
            flight += [0x16, 0x03, 0x03] + T.be16(UInt16(n)) + hs[i ..< i + n]
            i += n
        }
        flight += one[(5 + hsLength)...]
        let frames = T.tcpSession(v6: false, sport: 45104, dport: 443,
                                  exchanges: [(T.clientHello(sni: "c2.evil.example"), flight)])
        let rules = """
            alert tls any any -> any any (msg:"subject"; tls.cert_subject; content:"CN=c2.evil.example"; sid:80;)
            alert tls any any -> any any (msg:"chain of three"; tls.cert_chain_len:3; sid:81;)
            alert tls any any -> any any (msg:"san"; tls.subjectaltname; content:"c2.evil.example"; sid:82;)
            alert tls any any -> any any (msg:"not the subject"; tls.cert_subject; content:"CN=other"; sid:83;)
            """
        let n = try Self.alerts(rules, frames)
        #expect(n[80] == 1 && n[81] == 1 && n[82] == 1 && n[83] == nil, "\(n)")
    }

    // MARK: ALPN

    @Test func tlsALPNInstances() throws {
        var frames: [[UInt8]] = []
        // Each client offers h2 and http/1.1 (EngineTraffic.clientHello); one server selects h2.
        frames += T.tcpSession(v6: false, sport: 45201, dport: 443,
                               exchanges: [(T.clientHello(sni: "a.example"), Self.tls12Flight([Self.issuer], alpn: "h2"))])
        frames += T.tcpSession(v6: false, sport: 45202, dport: 443,
                               exchanges: [(T.clientHello(sni: "b.example"), Self.tls12Flight([Self.issuer]))])
        let rules = """
            alert tls any any -> any any (msg:"offers http/1.1"; tls.alpn; content:"http/1.1"; bsize:8; sid:70;)
            alert tls any any -> any any (msg:"h2, offered or selected"; tls.alpn; content:"h2"; bsize:2; sid:71;)
            alert tls any any -> any any (msg:"both names match, once per hello"; flow:to_server; tls.alpn; content:"h"; startswith; sid:72;)
            alert tls any any -> any any (msg:"no spdy"; tls.alpn; content:"spdy"; sid:73;)
            alert tls any any -> any any (msg:"server selected h2"; flow:to_client; tls.alpn; content:"h2"; sid:74;)
            alert tls any any -> any any (msg:"not the joined list"; tls.alpn; content:"h2,http"; sid:75;)
            """
        let n = try Self.alerts(rules, frames)
        #expect(n[70] == 2 && n[71] == 3 && n[72] == 2, "\(n)")
        #expect(n[73] == nil && n[74] == 1 && n[75] == nil, "\(n)")
    }

    // MARK: QUIC

    @Test func quicSNIAndVersion() throws {
        let frames = WebFilterEngineTests.quicInitial()
        let rules = """
            alert quic any any -> any any (msg:"quic sni"; quic.sni; content:"example.com"; bsize:11; sid:20;)
            alert quic any any -> any any (msg:"other sni"; quic.sni; content:"example.org"; sid:21;)
            alert quic any any -> any any (msg:"quic v1"; quic.version; content:"|00 00 00 01|"; bsize:4; sid:22;)
            alert quic any any -> any any (msg:"gquic"; quic.version; content:"Q050"; sid:23;)
            alert quic any any -> any any (msg:"quic ja4"; ja4.hash; content:"q13d"; startswith; sid:24;)
            alert tls any any -> any any (msg:"a tls rule does not see quic"; ja4.hash; content:"q13d"; startswith; sid:25;)
            alert tls any any -> any any (msg:"tls.sni is not quic.sni"; tls.sni; content:"example.com"; sid:26;)
            """
        let n = try Self.alerts(rules, frames)
        #expect(n[20] == 1 && n[21] == nil, "\(n)")
        #expect(n[22] == 1 && n[23] == nil, "\(n)")
        #expect(n[24] == 1 && n[25] == nil && n[26] == nil, "\(n)")
    }

    // MARK: DNS

    static func name(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        for label in s.split(separator: ".") { out += [UInt8(label.utf8.count)] + Array(label.utf8) }
        return out + [0]
    }

    /// A query for www.evil.example and its answer: a CNAME to cdn.evil.example and that
    /// name's A record (two answer records whose names both contain "evil").
    static func dnsExchange(sport: UInt16) -> [[UInt8]] {
        let question = name("www.evil.example") + T.be16(1) + T.be16(1)
        let query = T.be16(sport) + T.be16(0x0100) + T.be16(1) + T.be16(0) + T.be16(0) + T.be16(0) + question
        let cname = name("cdn.evil.example")
        let answers = [0xc0, 12] + T.be16(5) + T.be16(1) + T.be32(60) + T.be16(UInt16(cname.count)) + cname
            + name("cdn.evil.example") + T.be16(1) + T.be16(1) + T.be32(60) + T.be16(4) + [198, 51, 100, 9]
        let response = T.be16(sport) + T.be16(0x8180) + T.be16(1) + T.be16(2) + T.be16(0) + T.be16(0) + question + answers
        func udp(_ a: UInt16, _ b: UInt16, _ p: [UInt8]) -> [UInt8] { T.be16(a) + T.be16(b) + T.be16(UInt16(8 + p.count)) + [0, 0] + p }
        return [T.ip(v6: false, proto: 17, toServer: true, udp(sport, 53, query)),
                T.ip(v6: false, proto: 17, toServer: false, udp(53, sport, response))]
    }

    /// The same query over TCP (2-byte length prefix), for `dns.query` on DNS over TCP.
    static func dnsOverTCP(sport: UInt16) -> [[UInt8]] {
        let question = name("tcp.evil.example") + T.be16(16) + T.be16(1)
        let query = T.be16(sport) + T.be16(0x0100) + T.be16(1) + T.be16(0) + T.be16(0) + T.be16(0) + question
        let response = T.be16(sport) + T.be16(0x8183) + T.be16(1) + T.be16(0) + T.be16(0) + T.be16(0) + question
        return T.tcpSession(v6: false, sport: sport, dport: 53, exchanges: [
            (T.be16(UInt16(query.count)) + query, T.be16(UInt16(response.count)) + response),
        ])
    }

    @Test func dnsQuestionAndAnswerNames() throws {
        let frames = Self.dnsExchange(sport: 46001) + Self.dnsOverTCP(sport: 46002)
        let rules = """
            alert dns any any -> any any (msg:"question, both directions"; dns.queries.rrname; content:"www.evil"; startswith; sid:30;)
            alert dns any any -> any any (msg:"question, requests"; flow:to_server; dns.queries.rrname; content:"www.evil"; sid:31;)
            alert dns any any -> any any (msg:"answer names, once per message"; dns.answers.rrname; content:"evil"; sid:32;)
            alert dns any any -> any any (msg:"the old spelling"; dns.answer.name; content:"cdn.evil.example"; bsize:16; sid:33;)
            alert dns any any -> any any (msg:"no such answer"; dns.answers.rrname; content:"good.example"; sid:34;)
            alert dns any any -> any any (msg:"cname target is data, not a name"; dns.answers.rrname; content:"cdn"; startswith; sid:35;)
            alert dns any any -> any any (msg:"dotprefix per name"; dns.answers.rrname; dotprefix; content:".www.evil.example"; endswith; sid:36;)
            alert dns any any -> any any (msg:"query over tcp"; dns.query; content:"tcp.evil.example"; sid:37;)
            alert dns any any -> any any (msg:"tcp question both ways"; dns.queries.rrname; content:"tcp.evil"; sid:38;)
            alert dns any any -> any any (msg:"question and answer together"; dns.queries.rrname; content:"www"; dns.answers.rrname; content:"cdn"; sid:39;)
            """
        let n = try Self.alerts(rules, frames)
        #expect(n[30] == 2 && n[31] == 1, "the question is in the query and the response; \(n)")
        #expect(n[32] == 1, "two answer names contain evil: one alert for the response; \(n)")
        #expect(n[33] == 1 && n[34] == nil, "\(n)")
        #expect(n[35] == 1, "the A record's owner name is cdn.evil.example; \(n)")
        #expect(n[36] == 1, "the CNAME record's owner name, dot-prefixed alone; \(n)")
        #expect(n[37] == 1 && n[38] == 2, "\(n)")
        #expect(n[39] == 1, "\(n)")
    }

    // MARK: SMB

    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8 & 0xff)] }
    static func le32(_ v: Int) -> [UInt8] { le16(v & 0xffff) + le16(v >> 16 & 0xffff) }
    static func le64(_ v: Int) -> [UInt8] { le32(v) + le32(0) }

    static func smb2(command: Int, messageID: Int, response: Bool, tree: Int = 0, _ body: [UInt8]) -> [UInt8] {
        let h = [0xfe, 0x53, 0x4d, 0x42] + le16(64) + le16(1) + le32(0) + le16(command) + le16(1)
            + le32(response ? 1 : 0) + le32(0) + le64(messageID) + le32(0) + le32(tree) + le64(0x1122)
            + [UInt8](repeating: 0, count: 16)
        let smb = h + body
        return [0, UInt8(smb.count >> 16), UInt8(smb.count >> 8 & 0xff), UInt8(smb.count & 0xff)] + smb
    }

    /// NEGOTIATE, then a TREE_CONNECT to `path` answered with share type `type` (1 disk, 2 pipe).
    static func smbSession(sport: UInt16, path: String, type: UInt8) -> [[UInt8]] {
        let negotiate = smb2(command: 0, messageID: 0, response: false,
                             le16(36) + le16(1) + le16(1) + le16(0) + le32(0) + [UInt8](repeating: 0xab, count: 16) + le64(0) + le16(0x0311))
        let negotiated = smb2(command: 0, messageID: 0, response: true,
                              le16(65) + le16(1) + le16(0x0311) + le16(0) + [UInt8](repeating: 0x42, count: 16) + [UInt8](repeating: 0, count: 40))
        let p = path.utf16.flatMap { le16(Int($0)) }
        let connect = smb2(command: 3, messageID: 1, response: false, le16(9) + le16(0) + le16(64 + 8) + le16(p.count) + p)
        let connected = smb2(command: 3, messageID: 1, response: true, tree: 5, le16(16) + [type, 0] + le32(0) + le32(0) + le32(0x1f01ff))
        return T.tcpSession(v6: false, sport: sport, dport: 445, exchanges: [(negotiate, negotiated), (connect, connected)])
    }

    @Test func smbShareAndNamedPipe() throws {
        let frames = Self.smbSession(sport: 47001, path: "\\\\fs01\\IPC$", type: 2)
            + Self.smbSession(sport: 47002, path: "\\\\fs01\\finance", type: 1)
        let rules = """
            alert smb any any -> any any (msg:"pipe share"; smb.named_pipe; content:"IPC$"; endswith; sid:40;)
            alert smb any any -> any any (msg:"disk share"; smb.share; content:"finance"; endswith; sid:41;)
            alert smb any any -> any any (msg:"IPC$ is not a disk share"; smb.share; content:"IPC$"; sid:42;)
            alert smb any any -> any any (msg:"finance is not a pipe"; smb.named_pipe; content:"finance"; sid:43;)
            alert smb any any -> any any (msg:"the whole path"; flow:to_server; smb.share; content:"\\\\\\\\fs01\\\\"; startswith; sid:44;)
            """
        let n = try Self.alerts(rules, frames)
        #expect(n[40] == 1 && n[41] == 1, "\(n)")
        #expect(n[42] == nil && n[43] == nil, "\(n)")
        #expect(n[44] == 1, "\(n)")
    }
}
