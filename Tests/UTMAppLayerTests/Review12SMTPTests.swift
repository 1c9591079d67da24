import Testing
import UTMCore
@testable import UTMAppLayer

/// Review 12b: client bytes the server reads as commands must be read as commands by the
/// parser too, or a message (its headers, its attachments) never reaches the rules.
@Suite struct Review12SMTPTests {
    static let greeting: [(Direction, String)] = [
        (.toClient, "220 mx.example.com ESMTP\r\n"),
        (.toServer, "EHLO client.example.org\r\n"),
        (.toClient, "250-mx.example.com\r\n250-PIPELINING\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n"),
    ]

    static func hasHiddenSubject(_ r: SMTPParserTests.Result) -> Bool {
        r.txs.contains { $0.contains("from=<evil@example.net>") && $0.contains("Subject=hidden") }
    }

    /// A refused STARTTLS (454/5xx) leaves the flow in SMTP (RFC 3207 §4); the commands the
    /// client pipelined after it are read by the server. The parser drops every client byte
    /// while STARTTLS waits for its reply (`.tlsPending`), so the whole mail is unseen.
    @Test func refusedStartTLSPipelinedMailIsSeen() {
        let r = SMTPParserTests.run(Self.greeting + [
            (.toServer, "STARTTLS\r\nMAIL FROM:<evil@example.net>\r\nRCPT TO:<v@example.com>\r\nDATA\r\n"),
            (.toClient, "454 4.7.0 TLS not available\r\n250 OK\r\n250 OK\r\n354 go ahead\r\n"),
            (.toServer, "Subject: hidden\r\n\r\nbody\r\n.\r\n"),
            (.toClient, "250 queued\r\n"),
        ])
        #expect(!r.tls)
        #expect(Self.hasHiddenSubject(r), "\(r.txs)")
    }

    /// AUTH refused at once (504 unknown mechanism / 503 not enabled): the lines pipelined
    /// after it are commands to the server, but `.auth` mode swallows them as AUTH responses
    /// until the refusal arrives; the message that follows the 354 is then read as commands.
    @Test func refusedAuthPipelinedMailIsSeen() {
        let r = SMTPParserTests.run(Self.greeting + [
            (.toServer, "AUTH FOO\r\nMAIL FROM:<evil@example.net>\r\nRCPT TO:<v@example.com>\r\nDATA\r\n"),
            (.toClient, "504 5.5.4 Unrecognized authentication type\r\n250 OK\r\n250 OK\r\n354 go ahead\r\n"),
            (.toServer, "Subject: hidden\r\n\r\nbody\r\n.\r\n"),
            (.toClient, "250 queued\r\n"),
        ])
        #expect(Self.hasHiddenSubject(r), "\(r.txs)")
    }

    /// An empty command line gets a reply from the server (Postfix: `500 5.5.2 Error: bad
    /// syntax`; Exim: 500) and Suricata queues it as a command; the parser does not, so every
    /// later reply answers the wrong command: the RCPT's 250 is taken for the DATA's reply,
    /// "DATA refused" drops the message mode, and the real message (after the 354) is read as
    /// commands.
    @Test func emptyCommandLineKeepsRepliesInStep() {
        let r = SMTPParserTests.run(Self.greeting + [
            (.toServer, "\r\nMAIL FROM:<evil@example.net>\r\nRCPT TO:<v@example.com>\r\nDATA\r\n"),
            (.toClient, "500 5.5.2 Error: bad syntax\r\n250 OK\r\n250 OK\r\n354 go ahead\r\n"),
            (.toServer, "Subject: hidden\r\n\r\nbody\r\n.\r\n"),
            (.toClient, "250 queued\r\n"),
        ])
        #expect(Self.hasHiddenSubject(r), "\(r.txs)")
        #expect(!r.events.contains(AppLayerEvents.SMTP.dataCommandRejected))
    }

    /// A gap inside DATA sets the client's `dropping` bit, which only the command path clears:
    /// after the message's `.`, the first command (here the next MAIL FROM) is thrown away.
    @Test func gapInDataDoesNotEatTheNextCommand() {
        var p = SMTPParser()
        var txs: [String] = []
        func feed(_ d: Direction, _ s: String, gap: Bool = false) {
            Array(s.utf8).withByteView { v in p.feed(v, direction: d, gap: gap) { txs.append(SMTPParserTests.summary($0)) } }
        }
        for (d, s) in Self.greeting { feed(d, s) }
        feed(.toServer, "MAIL FROM:<a@example.org>\r\n"); feed(.toClient, "250 OK\r\n")
        feed(.toServer, "RCPT TO:<b@example.com>\r\n"); feed(.toClient, "250 OK\r\n")
        feed(.toServer, "DATA\r\n"); feed(.toClient, "354 go\r\n")
        feed(.toServer, "Subject: one\r\n\r\nbody\r\n")
        feed(.toServer, "more body\r\n.\r\n", gap: true)
        feed(.toClient, "250 queued\r\n")
        feed(.toServer, "MAIL FROM:<evil@example.net>\r\n"); feed(.toClient, "250 OK\r\n")
        feed(.toServer, "RCPT TO:<v@example.com>\r\n"); feed(.toClient, "250 OK\r\n")
        p.finish { txs.append(SMTPParserTests.summary($0)) }
        #expect(txs.contains { $0.contains("from=<evil@example.net>") }, "\(txs)")
    }
}

extension Review12SMTPTests {
    /// The transaction store (16 KiB) is shared first come, first served, and every Received
    /// header may take `maxHeaderValue` (4 KiB): five padded Received headers (within maxReceived), which a sender
    /// writes freely and relays prepend anyway, fill it, and the Subject after them is lost
    /// (Suricata keeps every header up to its header-value-depth).
    @Test func receivedHeadersCannotStarveTheSubject() {
        let pad = String(repeating: "x", count: 4000)
        let headers = (0 ..< 5).map { "Received: from \($0) \(pad)\r\n" }.joined()
        let r = SMTPParserTests.run(Self.greeting + [
            (.toServer, "MAIL FROM:<evil@example.net>\r\n"), (.toClient, "250 OK\r\n"),
            (.toServer, "RCPT TO:<v@example.com>\r\n"), (.toClient, "250 OK\r\n"),
            (.toServer, "DATA\r\n"), (.toClient, "354 go ahead\r\n"),
            (.toServer, headers + "Subject: hidden\r\n\r\nbody\r\n.\r\n"),
            (.toClient, "250 queued\r\n"),
        ])
        #expect(Self.hasHiddenSubject(r), "\(r.txs.map { $0.suffix(120) })")
    }

    /// The same with refused recipients: RCPT arguments are stored before the server's
    /// reply, so a few long refused RCPTs fill the store before the message arrives.
    @Test func refusedRecipientsCannotStarveTheHeaders() {
        let pad = String(repeating: "r", count: 1900)
        var script = Self.greeting + [(.toServer, "MAIL FROM:<evil@example.net>\r\n"), (.toClient, "250 OK\r\n")]
        for k in 0 ..< 9 {
            script += [(.toServer, "RCPT TO:<\(k)\(pad)@example.com>\r\n"), (.toClient, "550 5.1.1 no such user\r\n")]
        }
        script += [
            (.toServer, "RCPT TO:<v@example.com>\r\n"), (.toClient, "250 OK\r\n"),
            (.toServer, "DATA\r\n"), (.toClient, "354 go ahead\r\n"),
            (.toServer, "Subject: hidden\r\n\r\nbody\r\n.\r\n"), (.toClient, "250 queued\r\n"),
        ]
        let r = SMTPParserTests.run(script)
        #expect(Self.hasHiddenSubject(r), "\(r.txs.map { $0.suffix(120) })")
    }
}

extension Review12SMTPTests {
    /// `BDAT` with leading zeros: Postfix (off_cvt_string) and Exim (strtoul) read the size as
    /// 100; the parser gives up above 15 digits (size 0, not LAST: no chunk mode), so the chunk
    /// bytes, the whole message, are read as command lines.
    @Test func bdatSizeWithLeadingZeros() {
        let msg = "Subject: hidden\r\n\r\nbody line padded to length......\r\n"
        let size = String(msg.utf8.count)
        let zeros = String(repeating: "0", count: 20 - size.count) + size
        let r = SMTPParserTests.run(Self.greeting + [
            (.toServer, "MAIL FROM:<evil@example.net>\r\n"), (.toClient, "250 OK\r\n"),
            (.toServer, "RCPT TO:<v@example.com>\r\n"), (.toClient, "250 OK\r\n"),
            (.toServer, "BDAT \(zeros) LAST\r\n" + msg), (.toClient, "250 queued\r\n"),
        ])
        #expect(Self.hasHiddenSubject(r), "\(r.txs)")
    }
}

extension Review12SMTPTests {
    /// More pipelined commands than the pending ring holds (32): the oldest are forgotten, so
    /// the replies are matched to the wrong commands and the DATA takes an RCPT's 250 for its
    /// answer ("refused"): the message after the 354 is read as commands. Servers take far more
    /// recipients per transaction (Postfix: 1000) and Suricata's command buffer grows.
    @Test func manyPipelinedRecipientsKeepDataInStep() {
        var cmds = "MAIL FROM:<evil@example.net>\r\n"
        var replies = "250 OK\r\n"
        for k in 0 ..< 40 { cmds += "RCPT TO:<u\(k)@example.com>\r\n"; replies += "250 OK\r\n" }
        let r = SMTPParserTests.run(Self.greeting + [
            (.toServer, cmds + "DATA\r\n"), (.toClient, replies + "354 go ahead\r\n"),
            (.toServer, "Subject: hidden\r\n\r\nbody\r\n.\r\n"), (.toClient, "250 queued\r\n"),
        ])
        #expect(Self.hasHiddenSubject(r), "\(r.txs.map { $0.suffix(100) })")
    }
}
