import Testing
import UTMCore
@testable import UTMAppLayer

/// Review 12d (second SMTP review): client bytes the server reads as commands are still read
/// by the parser as a message (or the other way round), hiding the real message's headers
/// (and, since the MIME decoder follows the parser's message, its attachments) from the rules.
@Suite struct Review12DSMTPTests {
    static let greeting = Review12SMTPTests.greeting

    /// A DATA refused because no recipient was accepted (Postfix: `554 5.5.1 Error: no valid
    /// recipients`), with bytes pipelined after the DATA before its reply. The server reads them
    /// as commands; the parser is already in message mode and, as `tx.messageBytes > 0`, the
    /// refusal does not take it out: the empty line ends its phantom message's headers, and the
    /// real mail (MAIL, RCPT, DATA, Subject, attachment...) is read as that message's body.
    /// No ring overflow needed. Fix: hold the client's bytes after DATA until its reply (as after
    /// STARTTLS/AUTH): 354 replays them as the message, a refusal as commands.
    @Test func refusedDataWithPipelinedBytesIsReadAsCommands() {
        let r = SMTPParserTests.run(Self.greeting + [
            (.toServer, "MAIL FROM:<a@example.org>\r\nRCPT TO:<nobody@example.com>\r\nDATA\r\n"
                + "\r\nMAIL FROM:<evil@example.net>\r\nRCPT TO:<v@example.com>\r\nDATA\r\n"
                + "Subject: hidden\r\n\r\nbody\r\n.\r\n"),
            (.toClient, "250 OK\r\n550 5.1.1 unknown user\r\n554 5.5.1 Error: no valid recipients\r\n"
                + "500 5.5.2 Error: bad syntax\r\n250 OK\r\n250 OK\r\n354 go ahead\r\n250 queued\r\n"),
        ])
        #expect(Review12SMTPTests.hasHiddenSubject(r), "\(r.txs)")
    }

    /// Once the ring has overflowed (34 pipelined alternating RSET/NOOP, which the repeat count
    /// cannot merge, answered in full), `repliesUnreliable` stays set for the flow's life, and
    /// every later refused DATA keeps the parser in message mode, though the client waited for
    /// each reply as RFC 2920 wants. The server reads what follows the 554 as commands.
    @Test(.disabled("left: repliesUnreliable is sticky after a ring overflow; a refused DATA is then still read as the message")) func refusedDataAfterRingOverflowIsReadAsCommands() {
        let burst = String(repeating: "RSET\r\nNOOP\r\n", count: 17)
        let oks = String(repeating: "250 2.0.0 Ok\r\n", count: 34)
        let r = SMTPParserTests.run(Self.greeting + [
            (.toServer, burst),
            (.toClient, oks),
            (.toServer, "MAIL FROM:<a@example.org>\r\nRCPT TO:<nobody@example.com>\r\nDATA\r\n"),
            (.toClient, "250 OK\r\n550 5.1.1 unknown user\r\n554 5.5.1 Error: no valid recipients\r\n"),
            (.toServer, "\r\nMAIL FROM:<evil@example.net>\r\nRCPT TO:<v@example.com>\r\nDATA\r\n"),
            (.toClient, "500 5.5.2 Error: bad syntax\r\n250 OK\r\n250 OK\r\n354 go ahead\r\n"),
            (.toServer, "Subject: hidden\r\n\r\nbody\r\n.\r\n"),
            (.toClient, "250 queued\r\n"),
        ])
        #expect(Review12SMTPTests.hasHiddenSubject(r), "\(r.txs)")
    }

    /// The AUTH hold overflows (over `maxHold` bytes sent before the 334, here in MSS
    /// sized segments) and the parser reads the held lines as commands. The server answers
    /// AUTH LOGIN with 334 and reads the next two lines as the username (`DATA` is valid base64)
    /// and the password (empty), then 535, then the real mail as commands. The parser saw a
    /// DATA, an empty line (its headers end) and reads the real mail as the body.
    @Test(.disabled("left: an AUTH hold overflow still reads the held lines as commands; it raises hold_overflow instead (authHoldOverflowRaisesAnEvent)")) func authHoldOverflowReadsResponsesAsCommands() {
        let padding = String(repeating: "padding padding padding padding padding padding padding\r\n", count: 90)
        let client = "AUTH LOGIN\r\nDATA\r\n\r\nMAIL FROM:<evil@example.net>\r\nRCPT TO:<v@example.com>\r\nDATA\r\n"
            + "Subject: hidden\r\n\r\n" + padding + ".\r\n"
        #expect(client.utf8.count > SMTPConfig().maxHold)
        let r = SMTPParserTests.run(Self.greeting + [
            (.toServer, client),
            (.toClient, "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n535 5.7.8 Authentication failed\r\n"
                + "250 OK\r\n250 OK\r\n354 go ahead\r\n250 queued\r\n"),
        ], chunk: 1448)
        #expect(Review12SMTPTests.hasHiddenSubject(r), "\(r.txs)")
    }

    /// The reading of an overflowed AUTH hold is left (above); the overflow raises
    /// `hold_overflow` so inline policy can drop the flow. An AUTH answered in time does not.
    @Test(arguments: [true, false]) func authHoldOverflowRaisesAnEvent(overflow: Bool) {
        var p = SMTPParser()
        let padding = String(repeating: "padding padding padding padding padding padding padding\r\n", count: overflow ? 90 : 10)
        for (d, s) in [(Direction.toClient, "220 mx ESMTP\r\n"), (.toServer, "EHLO c\r\n"), (.toClient, "250 mx\r\n"),
                       (.toServer, "AUTH LOGIN\r\n" + padding)] {
            Array(s.utf8).withUnsafeBytes { p.feed(ByteView($0), direction: d, gap: false, onTransaction: { _ in }) }
        }
        #expect(p.takeAppEvents().contains(AppLayerEvents.SMTP.holdOverflow) == overflow)
    }

    /// A server that never answers STARTTLS (a rogue/exfiltration server that reads on as SMTP
    /// and answers nothing): the held bytes (under 4 KiB) are never replayed, not even at the
    /// flow's end, so the mail is neither inspected nor logged. `finish` should replay them.
    @Test func heldBytesAreReadAtFinish() {
        let r = SMTPParserTests.run(Self.greeting + [
            (.toServer, "STARTTLS\r\nMAIL FROM:<evil@example.net>\r\nRCPT TO:<v@example.com>\r\nDATA\r\n"
                + "Subject: hidden\r\n\r\nbody\r\n.\r\nQUIT\r\n"),
        ])
        #expect(Review12SMTPTests.hasHiddenSubject(r), "\(r.txs)")
    }

    /// The header reserve guarantees a single header only `headerReserve` (256) bytes: long
    /// RCPT paths (16 x 256), Received headers (their 4 KiB share) and long From/To/Cc values
    /// (each up to `maxHeaderValue`, taken before the Subject arrives) leave the Subject ~256
    /// bytes, so a Subject padded past that hides its tail from `email.subject` rules (the same
    /// Subject alone is kept whole). Fix: size the store for the worst case of what is budgeted
    /// (or cap the non-Subject singles / paths so the Subject keeps `maxHeaderValue`).
    @Test(.disabled("left: out of smtpfix2 scope (header store sizing), not attempted"), arguments: [true, false]) func longHeadersStillCutTheSubject(filled: Bool) {
        let path = "<" + String(repeating: "r", count: 240) + "@example.com>"
        var client = "MAIL FROM:<evil@example.net>\r\n"
        for _ in 0 ..< 16 where filled { client += "RCPT TO:\(path)\r\n" }
        client += "RCPT TO:<v@example.com>\r\nDATA\r\n"
        var replies = "250 OK\r\n"
        for _ in 0 ..< 16 where filled { replies += "550 no such user\r\n" }
        replies += "250 OK\r\n354 go\r\n"
        var msg = ""
        for _ in 0 ..< 8 where filled { msg += "Received: from " + String(repeating: "h", count: 600) + "\r\n" }
        for name in ["From", "To", "Cc"] where filled { msg += "\(name): " + String(repeating: "a", count: 4000) + "@example.net\r\n" }
        msg += "Subject: " + String(repeating: "x", count: 400) + " hidden\r\n\r\nbody\r\n.\r\n"
        let r = SMTPParserTests.run(Self.greeting + [
            (.toServer, client), (.toClient, replies), (.toServer, msg), (.toClient, "250 queued\r\n"),
        ])
        #expect(r.txs.contains { $0.contains(" hidden Date=") }, "\(r.txs.map { $0.suffix(300) })")
    }
}
