import Foundation
import Testing
import AllocationCounter
import UTMAntivirus
import UTMCore
import UTMDetect
import UTMOutput
@testable import UTMEngine

/// SMTP through the whole engine (session 12): detection by EHLO and by the server's 220 on
/// port 25, the `smtp` EVE record, the smtp/email sticky buffers with the prefilter, smtp
/// anomaly events, STARTTLS handing the flow to TLS, and no allocation per packet.
@Suite(.serialized) struct SMTPEngineTests {
    static let message = "From: Alice <alice@example.org>\r\nTo: bob@example.com, carol@example.com\r\n"
        + "Subject: Invoice 4711 overdue\r\nReceived: from laptop by relay.example.org\r\n"
        + "Received: from relay.example.org by mx.example.com\r\nX-Mailer: PHPMailer 5.2\r\n"
        + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
        + "--XX\r\nContent-Type: text/plain\r\n\r\nPlease pay.\r\nPay at <https://pay.example.net/i?n=4711> or http://b.example.org.\r\n"
        + "--XX\r\nContent-Type: application/postscript; name=\"invoice.ps\"\r\n"
        + "Content-Disposition: attachment; filename=\"invoice.ps\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + "JSFQUwpsZWdhbCB7IG51bGwgcmVzdG9yZSB9IHN0b3BwZWQgeyBwb3AgfSBpZgpjdXJyZW50ZGV2\r\naWNlIG51bGwgdHJ1ZSBtYXJrIC9PdXRwdXRJQ0NQcm9maWxlICglcGlwZSVpZCkgLnB1dGRldmlj\r\nZXBhcmFtcwpwdXRkZXZpY2Vwcm9wcwo=\r\n"
        + "--XX--\r\n.\r\n"

    static func session(sport: UInt16 = 41025, dport: UInt16 = 25, dataReply: String = "354 go ahead\r\n") -> [[UInt8]] {
        EngineTraffic.tcpSession(v6: false, sport: sport, dport: dport, exchanges: [
            ([], Array("220 mx.example.com ESMTP\r\n".utf8)),
            (Array("EHLO client.example.org\r\n".utf8), Array("250-mx.example.com\r\n250 PIPELINING\r\n".utf8)),
            (Array("MAIL FROM:<alice@example.org>\r\n".utf8), Array("250 OK\r\n".utf8)),
            (Array("RCPT TO:<bob@example.com>\r\nRCPT TO:<carol@example.com>\r\n".utf8), Array("250 OK\r\n250 OK\r\n".utf8)),
            (Array("DATA\r\n".utf8), Array(dataReply.utf8)),
            (Array(message.utf8), Array("250 queued\r\n".utf8)),
            (Array("QUIT\r\n".utf8), Array("221 bye\r\n".utf8)),
        ])
    }

    static func run(_ frames: [[UInt8]], rules: String, loaded: Int) -> [[String: Any]] {
        var parser = RuleParser()
        parser.load(text: rules, file: "smtp.rules")
        let set = parser.finish()
        #expect(set.report.loaded == loaded, "\(set.report)")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: set))
        return FirewallEngineTests.run(engine, frames).events
    }

    static let rules = """
        alert smtp any any -> any any (msg:"mail from"; smtp.mail_from; content:"alice@example.org"; fast_pattern; sid:1;)
        alert smtp any any -> any any (msg:"subject"; email.subject; content:"invoice"; nocase; sid:2;)
        alert smtp any any -> any any (msg:"second rcpt"; smtp.rcpt_to; content:"<carol@"; startswith; sid:3;)
        alert smtp any any -> any any (msg:"helo"; smtp.helo; content:"client.example.org"; endswith; sid:4;)
        alert smtp any any -> any any (msg:"x-mailer"; email.x_mailer; content:"PHPMailer"; sid:5;)
        alert smtp any any -> any any (msg:"received"; email.received; content:"from relay"; startswith; sid:6;)
        alert smtp any any -> any any (msg:"to"; email.to; content:"carol@example.com"; sid:7;)
        alert smtp any any -> any any (msg:"not it"; smtp.mail_from; content:"mallory"; sid:8;)
        alert smtp any any -> any any (msg:"not it"; email.subject; content:"Invoice"; startswith; content:"paid"; sid:9;)
        alert smtp any any -> any any (msg:"no cc header"; email.cc; content:"@"; sid:10;)
        alert smtp any any -> any any (msg:"ET EXPLOIT Ghostscript invalidcheck escape attempt (SMTP)"; flow:to_server,established; file_data; content:"legal"; content:"restore"; distance:0; content:"currentdevice"; content:"putdeviceprops"; pcre:"/legal[^x7B]*\\x7B[^\\x7D]*restore/smi"; sid:2026011;)
        alert smtp any any -> any any (msg:"text body is no file"; file_data; content:"Please pay"; sid:12;)
        alert http any any -> any any (msg:"http file_data"; file_data; content:"putdeviceprops"; sid:13;)
        alert smtp any any -> any any (msg:"raw base64 is not file_data"; file_data; content:"JSFQUw"; sid:14;)
        alert smtp any any -> any any (msg:"url"; email.url; content:"https://pay.example.net/"; startswith; sid:15;)
        """

    @Test func keywordsFireOnTheTransaction() {
        let events = Self.run(Self.session(), rules: Self.rules, loaded: 15)
        // 2026011: ET's Ghostscript rule on the base64 attachment, decoded; not the text part
        // (no file name: not a file), not an http rule, not the undecoded base64.
        #expect(FirewallEngineTests.sids(events).sorted() == [1, 2, 3, 4, 5, 6, 7, 15, 2026011])
        let alert = FirewallEngineTests.of(events, "alert").first
        #expect(alert?["app_proto"] as? String == "smtp")
        // The multi-buffers alert once per transaction, whichever instance matched.
        #expect(FirewallEngineTests.sids(events).filter { $0 == 3 || $0 == 6 }.count == 2)
    }

    @Test func eveRecord() throws {
        let events = Self.run(Self.session(), rules: "", loaded: 0)
        let smtp = FirewallEngineTests.of(events, "smtp")
        #expect(smtp.count == 1)
        let e = try #require(smtp.first)
        #expect(e["app_proto"] as? String == "smtp" && e["dest_port"] as? Int == 25)
        let s = try #require(e["smtp"] as? [String: Any])
        #expect(s["helo"] as? String == "client.example.org")
        #expect(s["mail_from"] as? String == "<alice@example.org>")
        #expect(s["rcpt_to"] as? [String] == ["<bob@example.com>", "<carol@example.com>"])
        let m = try #require(e["email"] as? [String: Any])
        #expect(m["status"] as? String == "PARSE_DONE")
        #expect(m["from"] as? String == "Alice <alice@example.org>")
        #expect(m["to"] as? [String] == ["bob@example.com", "carol@example.com"])
        #expect(m["cc"] == nil)
        #expect(m["attachment"] as? [String] == ["invoice.ps"])
        #expect(m["url"] as? [String] == ["https://pay.example.net/i?n=4711", "http://b.example.org."])
        #expect(m["subject"] as? String == "Invoice 4711 overdue")
        #expect(m["x_mailer"] as? String == "PHPMailer 5.2")
        #expect(m["received"] as? [String] == ["from laptop by relay.example.org", "from relay.example.org by mx.example.com"])
        let flow = FirewallEngineTests.of(events, "flow").first
        #expect(flow?["app_proto"] as? String == "smtp")
    }

    @Test func refusedDataRaisesItsEvent() {
        let rule = #"alert smtp any any -> any any (msg:"SURICATA SMTP data command rejected"; flow:established,to_client; app-layer-event:smtp.data_command_rejected; sid:2220008; rev:1;)"#
        let refused = Self.run(Self.session(dataReply: "554 no valid recipients\r\n"), rules: rule, loaded: 1)
        #expect(FirewallEngineTests.sids(refused) == [2220008])
        #expect(FirewallEngineTests.sids(Self.run(Self.session(), rules: rule, loaded: 1)).isEmpty)
    }

    /// The server greets and the client never speaks: SMTP by the 220 on port 25.
    @Test func serverGreetingOnPort25() {
        let frames = EngineTraffic.tcpSession(v6: false, sport: 41026, dport: 25, exchanges: [
            ([], Array("220 mx.example.com ESMTP Postfix\r\n".utf8))])
        let events = Self.run(frames, rules: "", loaded: 0)
        #expect(FirewallEngineTests.of(events, "flow").first?["app_proto"] as? String == "smtp")
        // The same greeting elsewhere is not taken for SMTP.
        let other = EngineTraffic.tcpSession(v6: false, sport: 41027, dport: 2525, exchanges: [
            ([], Array("220 mx.example.com ESMTP Postfix\r\n".utf8))])
        #expect(FirewallEngineTests.of(Self.run(other, rules: "", loaded: 0), "flow").first?["app_proto"] as? String != "smtp")
    }

    /// STARTTLS: after the 220 the flow is TLS; `tls.sni` rules see the hello, SMTP rules and
    /// the SMTP parser do not read the TLS bytes.
    @Test func starttlsHandsTheFlowToTLS() {
        let frames = EngineTraffic.tcpSession(v6: false, sport: 41028, dport: 587, exchanges: [
            ([], Array("220 mx.example.com ESMTP\r\n".utf8)),
            (Array("EHLO c.example.org\r\n".utf8), Array("250-mx.example.com\r\n250 STARTTLS\r\n".utf8)),
            (Array("STARTTLS\r\n".utf8), Array("220 2.0.0 Ready to start TLS\r\n".utf8)),
            (EngineTraffic.clientHello(sni: "mx.example.com"), EngineTraffic.serverHello()),
        ])
        let rules = """
            alert tls any any -> any any (msg:"sni"; tls.sni; content:"mx.example.com"; sid:1;)
            alert smtp any any -> any any (msg:"smtp stream on tls"; content:"mx.example.com"; sid:2;)
            alert smtp any any -> any any (msg:"helo"; smtp.helo; content:"c.example.org"; sid:3;)
            alert smtp any any -> any any (msg:"file_data on tls"; file_data; content:"mx.example.com"; sid:4;)
            """
        let events = Self.run(frames, rules: rules, loaded: 4)
        let sids = FirewallEngineTests.sids(events)
        #expect(sids.contains(1))
        #expect(!sids.contains(3))   // no mail transaction before STARTTLS
        #expect(!sids.contains(4))   // the TLS bytes are no mail
        // The smtp stream rule may see the plain-text greeting (it names the host) but never
        // the TLS bytes: its only alert comes from before the switch.
        let tls = FirewallEngineTests.of(events, "tls")
        #expect((tls.first?["tls"] as? [String: Any])?["sni"] as? String == "mx.example.com")
        #expect(FirewallEngineTests.of(events, "smtp").isEmpty)
        #expect(FirewallEngineTests.of(events, "flow").first?["app_proto"] as? String == "tls")
        let smtpAlerts = FirewallEngineTests.of(events, "alert").filter {
            ($0["alert"] as? [String: Any])?["signature_id"] as? Int == 2
        }
        #expect(smtpAlerts.allSatisfy { $0["app_proto"] as? String == "smtp" })
    }

    /// A ClientHello sent in the same segment as STARTTLS (the client did not wait for the
    /// 220): the parser holds it until the reply, and the TLS parser gets it (its SNI).
    @Test func clientHelloWithStartTLSReachesTLS() {
        let frames = EngineTraffic.tcpSession(v6: false, sport: 41029, dport: 587, exchanges: [
            ([], Array("220 mx.example.com ESMTP\r\n".utf8)),
            (Array("EHLO c.example.org\r\n".utf8), Array("250-mx.example.com\r\n250 STARTTLS\r\n".utf8)),
            (Array("STARTTLS\r\n".utf8) + EngineTraffic.clientHello(sni: "mx.example.com"),
             Array("220 2.0.0 Ready to start TLS\r\n".utf8) + EngineTraffic.serverHello()),
        ])
        let rules = #"alert tls any any -> any any (msg:"sni"; tls.sni; content:"mx.example.com"; sid:1;)"#
        let events = Self.run(frames, rules: rules, loaded: 1)
        #expect(FirewallEngineTests.sids(events).contains(1))
        let tls = FirewallEngineTests.of(events, "tls")
        #expect((tls.first?["tls"] as? [String: Any])?["sni"] as? String == "mx.example.com")
    }

    // MARK: The antivirus after STARTTLS

    /// After an accepted STARTTLS the antivirus stops reading the flow as mail: bytes that
    /// would look like a DATA exchange carrying EICAR (were they plain text) are not scanned.
    /// Without STARTTLS the same exchange is found, so the test can fail.
    @Test func antivirusStopsAtStartTLS() {
        let eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
        let mail = "From: a\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n"
            + "Content-Type: application/octet-stream\r\n\r\n\(eicar)\r\n--B--\r\n.\r\n"
        func run(starttls: Bool, sport: UInt16) -> [[String: Any]] {
            var exchanges: [([UInt8], [UInt8])] = [
                ([], Array("220 mx.example.com ESMTP\r\n".utf8)),
                (Array("EHLO c.example.org\r\n".utf8), Array("250-mx.example.com\r\n250 STARTTLS\r\n".utf8)),
            ]
            if starttls { exchanges.append((Array("STARTTLS\r\n".utf8), Array("220 go ahead\r\n".utf8))) }
            exchanges += [
                (Array("MAIL FROM:<a@x>\r\n".utf8), Array("250 ok\r\n".utf8)),
                (Array("RCPT TO:<b@y>\r\n".utf8), Array("250 ok\r\n".utf8)),
                (Array("DATA\r\n".utf8), Array("354 go\r\n".utf8)),
                (Array(mail.utf8), Array("250 queued\r\n".utf8)),
            ]
            var config = EngineConfig()
            config.applyAntivirus(EngineAntivirusConfig(database: AVDatabase.builtinOnly()))
            let engine = Engine(config: config)
            return FirewallEngineTests.run(engine, EngineTraffic.tcpSession(v6: false, sport: sport, dport: 25, exchanges: exchanges)).events
        }
        let plain = run(starttls: false, sport: 41200)
        #expect(!FirewallEngineTests.of(plain, "alert").isEmpty, "EICAR in a plain SMTP session is found")
        let upgraded = run(starttls: true, sport: 41201)
        #expect(FirewallEngineTests.of(upgraded, "alert").isEmpty)
        #expect(FirewallEngineTests.of(upgraded, "flow").first?["app_proto"] as? String == "tls")
    }

    // MARK: nDPI's captures

    /// smtp.pcap (1999, DARPA-style): one mail to 16 recipients with a 270-address To header
    /// (kept up to `maxHeaderValue`, so the Subject after it survives); nDPI: SMTP, 95 packets.
    @Test(.enabled(if: CorpusGoldenTests.enabled, "shared corpus not found; skipped outside CI"))
    func ndpiCapture() throws {
        let smtp = try CorpusGoldenTests.events(CorpusGoldenTests.ndpi + "/smtp.pcap", type: "smtp")
        #expect(smtp.count == 1)
        let e = try #require(smtp.first)
        let s = try #require(e["smtp"] as? [String: Any])
        #expect(s["helo"] as? String == "delta.peach.mil")
        #expect(s["mail_from"] as? String == "<coreys@delta.peach.mil>")
        let rcpt = s["rcpt_to"] as? [String] ?? []
        #expect(rcpt.count == 16 && rcpt.first == "<camronm@pigeon.eyrie.af.mil>")
        let m = try #require(e["email"] as? [String: Any])
        #expect(m["status"] as? String == "PARSE_DONE")
        #expect(m["subject"] as? String == "Take into The would, for")
        #expect(m["message_id"] as? String == "<19990807082010.CAA3135>")
        let to = m["to"] as? [String] ?? []
        #expect(to.first == "suzannaa@eagle.eyrie.af.mil")
    }

    /// smtp-starttls.pcap: two sessions that upgrade with STARTTLS; nDPI sees TLS 1.0 with
    /// JA3 fab507fe… (Google) and a TLS 1.2 hello naming dovecot.weberlab.de.
    @Test(.enabled(if: CorpusGoldenTests.enabled, "shared corpus not found; skipped outside CI"))
    func ndpiStartTLSCapture() throws {
        let tls = try CorpusGoldenTests.events(CorpusGoldenTests.ndpi + "/smtp-starttls.pcap", type: "tls")
        let objs = tls.compactMap { $0["tls"] as? [String: Any] }
        let ja3 = objs.compactMap { ($0["ja3"] as? [String: Any])?["hash"] as? String }
        #expect(ja3.contains("fab507fe132c544e8a0eb7c394affeae"))
        #expect(objs.contains { $0["sni"] as? String == "dovecot.weberlab.de" })
        #expect(tls.allSatisfy { $0["app_proto"] as? String == "tls" && $0["dest_port"] as? Int == 25 })
    }

    @Test func steadyStateDoesNotAllocate() {
        guard allocationCounterWorks() else { return }
        let engine = Engine()
        var parser = RuleParser()
        parser.load(text: Self.rules, file: "smtp.rules")
        engine.loadDetection(DetectDefinitions(ruleSet: parser.finish()))
        var traffic: [[UInt8]] = []
        for c in 0 ..< 4 { traffic += Self.session(sport: UInt16(41100 + c)) }
        var before: [UInt64] = []
        let rounds = 10
        let n = steadyStateAllocations(engine, traffic, rounds: rounds) { before = engine.eve.counts.map { $0 } }
        #expect(n == 0, "SMTP allocated \(n) times")
        #expect(engine.eve.counts[EVEEventType.smtp.rawValue] - before[EVEEventType.smtp.rawValue] == UInt64(rounds) * 4)
        #expect(engine.eve.counts[EVEEventType.alert.rawValue] - before[EVEEventType.alert.rawValue] == UInt64(rounds) * 4 * 9)
    }
}
