import Testing
import UTMCore
@testable import UTMAppLayer

/// The SMTP parser: a whole session with a folded-header message, pipelining, BDAT, STARTTLS,
/// RSET, refused recipients, every split and every truncation, over-long lines.
@Suite struct SMTPParserTests {
    typealias Script = [(Direction, String)]

    static func text(_ tx: SMTPTransaction, _ f: Field) -> String {
        tx.withField(f) { String(decoding: $0.bytes, as: UTF8.self) }
    }

    /// A transaction as one line of text.
    static func summary(_ tx: SMTPTransaction) -> String {
        var s = "helo=\(text(tx, tx.helo)) from=\(text(tx, tx.mailFrom)) rcpt="
        s += tx.rcptTo.map { text(tx, $0) }.joined(separator: ",")
        if tx.rcptRejected != 0 { s += " rejected=\(tx.rcptRejected)" }
        s += " msg=\(tx.message.eveName)"
        if tx.message != .none {
            s += " bytes=\(tx.messageBytes) From=\(text(tx, tx.from)) To=\(text(tx, tx.to)) Cc=\(text(tx, tx.cc))"
            s += " Subject=\(text(tx, tx.subject)) Date=\(text(tx, tx.date)) Id=\(text(tx, tx.messageID))"
            s += " X-Mailer=\(text(tx, tx.xMailer)) Received=" + tx.received.map { text(tx, $0) }.joined(separator: "|")
        }
        if tx.truncated { s += " (truncated)" }
        return s
    }

    struct Result: Equatable {
        var txs: [String] = []
        var events: AppLayerEvents = []
        var tls = false
    }

    /// Feeds each step in pieces of `chunk` bytes (0: whole).
    static func run(_ script: Script, chunk: Int = 0, config: SMTPConfig = .init()) -> Result {
        var p = SMTPParser(config: config)
        var r = Result()
        for (dir, t) in script {
            let bytes = Array(t.utf8)
            var at = 0
            repeat {
                let n = chunk == 0 ? bytes.count : min(chunk, bytes.count - at)
                Array(bytes[at ..< at + n]).withByteView { v in
                    p.feed(v, direction: dir, gap: false) { r.txs.append(summary($0)) }
                }
                at += n
            } while at < bytes.count
            r.events.formUnion(p.takeAppEvents())
        }
        p.finish { r.txs.append(summary($0)) }
        r.tls = p.tlsStarted
        return r
    }

    static let message = """
        Received: from client.example.org (client [192.0.2.7])\r
        \tby mx.example.com; Mon, 7 Dec 2026 10:00:00 +0000\r
        Received: from laptop by client.example.org\r
        From: Alice <alice@example.org>\r
        To: bob@example.com,\r
         carol@example.com\r
        Cc: dave@example.com\r
        Subject: Quarterly\r
         report\r
        Date: Mon, 7 Dec 2026 10:00:00 +0000\r
        Message-ID: <1234@example.org>\r
        X-Mailer: TestMailer 1.0\r
        \r
        Hello.\r
        ..a stuffed line\r
        .\r

        """

    static let session: Script = [
        (.toClient, "220 mx.example.com ESMTP\r\n"),
        (.toServer, "EHLO client.example.org\r\n"),
        (.toClient, "250-mx.example.com\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n"),
        (.toServer, "MAIL FROM:<alice@example.org> SIZE=300\r\n"), (.toClient, "250 OK\r\n"),
        (.toServer, "RCPT TO:<bob@example.com>\r\n"), (.toClient, "250 OK\r\n"),
        (.toServer, "RCPT TO:<carol@example.com>\r\n"), (.toClient, "250 OK\r\n"),
        (.toServer, "RCPT TO:<dave@example.com>\r\n"), (.toClient, "250 OK\r\n"),
        (.toServer, "DATA\r\n"), (.toClient, "354 go ahead\r\n"),
        (.toServer, message), (.toClient, "250 queued\r\n"),
        (.toServer, "QUIT\r\n"), (.toClient, "221 bye\r\n"),
    ]

    static let expected = "helo=client.example.org from=<alice@example.org> "
        + "rcpt=<bob@example.com>,<carol@example.com>,<dave@example.com> msg=PARSE_DONE bytes=402 "
        + "From=Alice <alice@example.org> To=bob@example.com, carol@example.com Cc=dave@example.com "
        + "Subject=Quarterly report Date=Mon, 7 Dec 2026 10:00:00 +0000 Id=<1234@example.org> "
        + "X-Mailer=TestMailer 1.0 Received=from client.example.org (client [192.0.2.7])\tby mx.example.com; "
        + "Mon, 7 Dec 2026 10:00:00 +0000|from laptop by client.example.org"

    @Test func wholeSession() {
        let r = Self.run(Self.session)
        #expect(r.txs == [Self.expected])
        #expect(r.events.isEmpty)
    }

    @Test func everySplitGivesTheSameResult() {
        let whole = Self.run(Self.session)
        for chunk in 1 ... 40 {
            #expect(Self.run(Self.session, chunk: chunk) == whole, "chunk \(chunk)")
        }
    }

    /// The client's bytes cut at every length (and the server's): never a trap, and a cut
    /// before the message's end leaves an unfinished (not PARSE_DONE) transaction.
    @Test func everyTruncationIsSafe() {
        let all = Self.session.map { ($0.0, $0.1) }
        var flat: [(Direction, UInt8)] = []
        for (d, t) in all { for b in t.utf8 { flat.append((d, b)) } }
        let endOfMessage = flat.count - "250 queued\r\nQUIT\r\n221 bye\r\n".utf8.count
        for cut in 0 ... flat.count {
            var script: Script = []
            var k = 0
            while k < cut {
                let d = flat[k].0
                var s: [UInt8] = []
                while k < cut && flat[k].0 == d { s.append(flat[k].1); k += 1 }
                script.append((d, String(decoding: s, as: UTF8.self)))
            }
            let r = Self.run(script)
            if cut >= endOfMessage { #expect(r.txs == [Self.expected], "cut \(cut)") }
            else { #expect(r.txs.allSatisfy { !$0.contains("PARSE_DONE") }, "cut \(cut)") }
        }
    }

    @Test func pipelinedCommandsMatchTheirReplies() {
        let r = Self.run([
            (.toClient, "220 mx ESMTP\r\n"),
            (.toServer, "EHLO c\r\n"), (.toClient, "250-mx\r\n250-PIPELINING\r\n250 SIZE\r\n"),
            (.toServer, "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<bad@y>\r\nRCPT TO:<c@y>\r\nDATA\r\n"),
            (.toClient, "250 ok\r\n250 ok\r\n550 no such user\r\n250 ok\r\n354 go\r\n"),
            (.toServer, "Subject: hi\r\n\r\nbody\r\n.\r\n"), (.toClient, "250 ok\r\n"),
        ])
        #expect(r.events.isEmpty)
        #expect(r.txs.count == 1)
        #expect(r.txs.first?.hasPrefix("helo=c from=<a@x> rcpt=<b@y>,<bad@y>,<c@y> rejected=2 msg=PARSE_DONE") == true)
    }

    @Test func pipeliningWithoutTheExtensionRaisesAnEvent() {
        let r = Self.run([
            (.toClient, "220 mx ESMTP\r\n"),
            (.toServer, "EHLO c\r\n"), (.toClient, "250 mx\r\n"),
            (.toServer, "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\n"),
        ])
        #expect(r.events.contains(AppLayerEvents.SMTP.invalidPipelinedSequence))
    }

    @Test func bdatChunksMakeOneMessage() {
        let r = Self.run([
            (.toClient, "220 mx ESMTP\r\n"),
            (.toServer, "EHLO c\r\n"), (.toClient, "250-mx\r\n250 CHUNKING\r\n"),
            (.toServer, "MAIL FROM:<a@x>\r\n"), (.toClient, "250 ok\r\n"),
            (.toServer, "RCPT TO:<b@y>\r\n"), (.toClient, "250 ok\r\n"),
            // The chunk boundary falls inside the Subject line; `.` lines are data in BDAT.
            (.toServer, "BDAT 16\r\nSubject: chunked"), (.toClient, "250 16 octets\r\n"),
            (.toServer, "BDAT 11 LAST\r\n\r\n.\r\nbody\r\n"), (.toClient, "250 done\r\n"),
            (.toServer, "QUIT\r\n"),
        ])
        #expect(r.txs.count == 1)
        #expect(r.txs.first?.contains("msg=PARSE_DONE bytes=27 ") == true)
        #expect(r.txs.first?.contains("Subject=chunked ") == true)
        #expect(r.events.isEmpty)
    }

    @Test func starttlsHandsTheFlowToTLS() {
        var p = SMTPParser()
        var lent = 0
        let steps: Script = [
            (.toClient, "220 mx ESMTP\r\n"), (.toServer, "EHLO c\r\n"), (.toClient, "250-mx\r\n250 STARTTLS\r\n"),
            (.toServer, "STARTTLS\r\n"),
        ]
        for (d, t) in steps { Array(t.utf8).withByteView { p.feed($0, direction: d, gap: false, onTransaction: { _ in lent += 1 }) } }
        #expect(!p.tlsStarted)
        // The 220 and the server's first TLS bytes in one chunk: TLS starts after the line.
        let reply = Array("220 go ahead\r\n".utf8) + [0x16, 0x03, 0x03, 0x00, 0x02]
        reply.withByteView { p.feed($0, direction: .toClient, gap: false, onTransaction: { _ in lent += 1 }) }
        #expect(p.tlsStarted)
        #expect(p.tlsStart == 14)
        // Nothing after it is read as SMTP.
        Array("MAIL FROM:<a@x>\r\n".utf8).withByteView { p.feed($0, direction: .toServer, gap: false, onTransaction: { _ in lent += 1 }) }
        p.finish(onTransaction: { _ in lent += 1 })
        #expect(lent == 0)
    }

    @Test func refusedStarttlsStaysInSMTP() {
        let r = Self.run([
            (.toClient, "220 mx ESMTP\r\n"), (.toServer, "EHLO c\r\n"), (.toClient, "250 mx\r\n"),
            (.toServer, "STARTTLS\r\n"), (.toClient, "454 TLS not available\r\n"),
            (.toServer, "MAIL FROM:<a@x>\r\n"), (.toClient, "250 ok\r\n"),
        ])
        #expect(!r.tls)
        #expect(r.events.contains(AppLayerEvents.SMTP.tlsRejected))
        #expect(r.txs.first?.hasPrefix("helo=c from=<a@x> ") == true)
    }

    @Test func rsetSeparatesTransactionsAndAuthIsSkipped() {
        let r = Self.run([
            (.toClient, "220 mx ESMTP\r\n"), (.toServer, "EHLO c\r\n"), (.toClient, "250-mx\r\n250 AUTH LOGIN\r\n"),
            (.toServer, "AUTH LOGIN\r\n"), (.toClient, "334 VXNlcm5hbWU6\r\n"),
            (.toServer, "TUFJTCBGUk9NOjxldmlsQHg+\r\n"), (.toClient, "334 UGFzc3dvcmQ6\r\n"),
            (.toServer, "c2VjcmV0\r\n"), (.toClient, "235 ok\r\n"),
            (.toServer, "MAIL FROM:<first@x>\r\n"), (.toClient, "250 ok\r\n"),
            (.toServer, "RSET\r\n"), (.toClient, "250 ok\r\n"),
            (.toServer, "MAIL FROM:<second@x>\r\n"), (.toClient, "250 ok\r\n"),
            (.toServer, "RCPT TO:<b@y>\r\n"), (.toClient, "250 ok\r\n"),
            (.toServer, "DATA\r\n"), (.toClient, "554 no valid recipients\r\n"),
            (.toServer, "QUIT\r\n"), (.toClient, "221 bye\r\n"),
        ])
        #expect(r.txs == ["helo=c from=<first@x> rcpt= msg=UNKNOWN", "helo=c from=<second@x> rcpt=<b@y> msg=UNKNOWN"])
        #expect(r.events == AppLayerEvents.SMTP.dataCommandRejected)
    }

    @Test func overLongLinesRaiseEventsAndStayBounded() {
        var c = SMTPConfig()
        c.maxLine = 64
        c.maxMessageLine = 64
        c.maxTransactionBytes = 128
        let long = String(repeating: "A", count: 5000)
        let r = Self.run([
            (.toClient, "220 mx ESMTP\r\n"), (.toServer, "EHLO c\r\n"), (.toClient, "250 mx \(long)\r\n"),
            (.toServer, "MAIL FROM:<\(long)@x>\r\n"), (.toClient, "250 ok\r\n"),
            (.toServer, "DATA\r\n"), (.toClient, "354 go\r\n"),
            (.toServer, "Subject: \(long)\r\n\r\n\(long)\r\n.\r\n"), (.toClient, "250 ok\r\n"),
        ], config: c)
        #expect(r.events.contains(AppLayerEvents.SMTP.maxCommandLineLenExceeded))
        #expect(r.events.contains(AppLayerEvents.SMTP.maxReplyLineLenExceeded))
        #expect(r.events.contains(AppLayerEvents.SMTP.truncatedLine))
        // The message still ended at its `.`, and what was kept fits the limits.
        #expect(r.txs.count == 1)
        #expect(r.txs.first?.contains("PARSE_DONE") == true)
        // The Subject is cut by the 128-byte store, less what it holds back for the six other
        // single headers (4 bytes each at this size), not by the 64-byte line.
        #expect(r.txs.first?.contains("Subject=\(String(repeating: "A", count: 40))") == true, "\(r.txs)")
        #expect(r.txs.first?.contains("Subject=\(String(repeating: "A", count: 55))") == false, "\(r.txs)")
    }

    @Test func repliesWithoutCommandsAndGarbageRaiseEvents() {
        let r = Self.run([
            (.toServer, "EHLO c\r\n"), (.toClient, "250 mx\r\n"),
            (.toClient, "250 again\r\nnot a reply\r\n"),
        ])
        #expect(r.events.contains(AppLayerEvents.SMTP.noServerWelcomeMessage))
        #expect(r.events.contains(AppLayerEvents.SMTP.unableToMatchReplyWithRequest))
        #expect(r.events.contains(AppLayerEvents.SMTP.invalidReply))
    }

    @Test func gapInTheMessageMarksItTruncated() {
        var p = SMTPParser()
        var out: [String] = []
        let steps: Script = [
            (.toClient, "220 mx\r\n"), (.toServer, "HELO c\r\nMAIL FROM:<a@x>\r\nDATA\r\n"), (.toClient, "250 ok\r\n250 ok\r\n354 go\r\n"),
            (.toServer, "Subject: s\r\n\r\npart"),
        ]
        for (d, t) in steps { Array(t.utf8).withByteView { p.feed($0, direction: d, gap: false) { out.append(Self.summary($0)) } } }
        Array("rest\r\n.\r\nQUIT\r\n".utf8).withByteView { p.feed($0, direction: .toServer, gap: true) { out.append(Self.summary($0)) } }
        #expect(out.count == 1)
        #expect(out.first?.contains("PARSE_DONE") == true && out.first?.contains("(truncated)") == true)
    }

    /// The message as the MIME decoder gets it: begin, its bytes dot-unstuffed with their line
    /// ends (pieces joined here), end; DATA and BDAT alike, and a cut message ends incomplete.
    @Test func messageLinesStreamOut() {
        func lines(_ script: Script) -> [String] {
            var p = SMTPParser()
            var out: [String] = []
            var data: [UInt8] = []
            func flush() { if !data.isEmpty { out.append(String(decoding: data, as: UTF8.self)); data = [] } }
            for (d, t) in script {
                Array(t.utf8).withByteView { v in
                    p.feed(v, direction: d, gap: false, on: { ev in
                        switch ev {
                        case .messageBegin: out.append("<begin>")
                        case .messageData(let l): data += l.bytes
                        case .messageEnd(let complete): flush(); out.append(complete ? "<end>" : "<cut>")
                        case .transaction: flush(); out.append("<tx>")
                        }
                    })
                }
            }
            p.finish(on: { ev in
                if case .messageEnd(let complete) = ev { flush(); out.append(complete ? "<end>" : "<cut>") }
                if case .transaction = ev { flush(); out.append("<tx>") }
            })
            return out
        }
        #expect(lines([(.toServer, "HELO c\r\nMAIL FROM:<a@x>\r\nDATA\r\n"), (.toClient, "220 mx\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
                       (.toServer, "Subject: s\r\n\r\n..dot\r\nbody\r\n.\r\n")])
            == ["<begin>", "Subject: s\r\n\r\n.dot\r\nbody\r\n", "<end>", "<tx>"])
        #expect(lines([(.toServer, "HELO c\r\nMAIL FROM:<a@x>\r\nBDAT 9\r\nA: b\r\n\r\n."), (.toServer, "BDAT 3 LAST\r\n\r\nz")])
            == ["<begin>", "A: b\r\n\r\n.\r\nz", "<end>", "<tx>"])
        #expect(lines([(.toServer, "HELO c\r\nMAIL FROM:<a@x>\r\nDATA\r\n"), (.toClient, "220 mx\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
                       (.toServer, "Subject: s\r\n"), (.toServer, "RSET\r\n")])
            == ["<begin>", "Subject: s\r\nRSET\r\n", "<cut>", "<tx>"])   // RSET inside DATA is text
    }

    /// One huge header is cut at `maxHeaderValue`: the headers after it still fit the store.
    @Test func aHugeHeaderDoesNotStarveTheOthers() {
        var c = SMTPConfig()
        c.maxTransactionBytes = 600
        c.maxHeaderValue = 256
        let to = (0 ..< 60).map { "user\($0)@example.com" }.joined(separator: ",\r\n ")
        let r = Self.run([
            (.toClient, "220 mx\r\n"), (.toServer, "HELO c\r\nMAIL FROM:<a@x>\r\nDATA\r\n"),
            (.toClient, "250 ok\r\n250 ok\r\n354 go\r\n"),
            (.toServer, "To: \(to)\r\nSubject: still here\r\n\r\n.\r\n"),
        ], config: c)
        #expect(r.txs.count == 1)
        #expect(r.txs.first?.contains("Subject=still here ") == true)
        #expect(r.txs.first?.contains("(truncated)") == true)
    }
}

/// The fixes of review 12b beyond the reviewer's own tests: the STARTTLS hold, replies that
/// can no longer be matched, the first line after a gap, `Subject :`.
extension SMTPParserTests {
    static let hello: Script = [
        (.toClient, "220 mx ESMTP\r\n"), (.toServer, "EHLO c\r\n"), (.toClient, "250-mx\r\n250 PIPELINING\r\n"),
    ]

    /// More client bytes after STARTTLS than a ClientHello (the hold): they are read as the
    /// commands they are at once, without waiting for the reply.
    @Test func startTLSHoldOverflowReadsTheCommands() {
        var c = SMTPConfig()
        c.maxHold = 64
        let r = Self.run(Self.hello + [
            (.toServer, "STARTTLS\r\nMAIL FROM:<evil@example.net>\r\nRCPT TO:<v@example.com>\r\nDATA\r\nSubject: hidden\r\n\r\nx\r\n.\r\n"),
            (.toClient, "454 no TLS\r\n250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n"),
        ], config: c)
        #expect(!r.tls)
        #expect(r.txs.contains { $0.contains("from=<evil@example.net>") && $0.contains("Subject=hidden") }, "\(r.txs)")
    }

    /// Once the pending ring overflowed, a 220 matched to STARTTLS starts TLS only when the
    /// client waits with TLS bytes (a handshake record); commands after it stay SMTP.
    @Test func unmatchedReplyDoesNotStartTLSOverCommands() {
        var c = SMTPConfig()
        c.maxPending = 2
        func session(_ after: String) -> Result {
            Self.run([
                (.toClient, "220 mx ESMTP\r\n"),
                (.toServer, "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nSTARTTLS\r\n" + after),
                (.toClient, "250 ok\r\n220 ready\r\n"),
            ], config: c)
        }
        let commands = session("MAIL FROM:<evil@example.net>\r\n")
        #expect(!commands.tls)
        #expect(commands.txs.contains { $0.contains("from=<evil@example.net>") }, "\(commands.txs)")
        let hello = session("\u{16}\u{03}\u{01}\u{00}\u{05}hello")
        #expect(hello.tls)
    }

    /// The first line after a gap in DATA is the tail of a line: a lone `.` there is not the
    /// end of the message (the real end comes after it).
    @Test func firstLineAfterAGapDoesNotEndTheMessage() {
        var p = SMTPParser()
        var data: [UInt8] = []
        var ends = 0
        func feed(_ d: Direction, _ s: String, gap: Bool = false) {
            Array(s.utf8).withByteView { v in
                p.feed(v, direction: d, gap: gap, on: { ev in
                    if case .messageData(let b) = ev { data += b.bytes }
                    if case .messageEnd = ev { ends += 1 }
                })
            }
        }
        for (d, s) in Self.hello { feed(d, s) }
        feed(.toServer, "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n")
        feed(.toClient, "250 ok\r\n250 ok\r\n354 go\r\n")
        feed(.toServer, "Subject: s\r\n\r\nbody")
        feed(.toServer, ".\r\nafter the gap\r\n.\r\n", gap: true)
        #expect(ends == 1)
        #expect(String(decoding: data, as: UTF8.self).hasSuffix("after the gap\r\n"))
    }

    /// AUTH LOGIN with the username sent before the 334 and the commands after the password
    /// sent before the 235: each line is what the server takes it for (held until the reply
    /// that decides), so the replies stay matched and the mail is seen.
    @Test func pipelinedAuthResponsesAndCommands() {
        let r = Self.run(Self.hello + [
            (.toServer, "AUTH LOGIN\r\ndXNlcg==\r\n"),
            (.toClient, "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n"),
            (.toServer, "cGFzcw==\r\nMAIL FROM:<evil@example.net>\r\nRCPT TO:<v@example.com>\r\nDATA\r\n"),
            (.toClient, "235 2.7.0 ok\r\n250 OK\r\n250 OK\r\n354 go ahead\r\n"),
            (.toServer, "Subject: hidden\r\n\r\nbody\r\n.\r\n"), (.toClient, "250 queued\r\n"),
        ])
        #expect(r.txs.contains { $0.contains("from=<evil@example.net>") && $0.contains("Subject=hidden") }, "\(r.txs)")
        #expect(!r.events.contains(AppLayerEvents.SMTP.unableToMatchReplyWithRequest))
        #expect(!r.events.contains(AppLayerEvents.SMTP.dataCommandRejected))
    }

    /// `Subject : x` (a blank before the colon) is the Subject, as MIME parsers read it.
    @Test func headerNameWithBlankBeforeColon() {
        let r = Self.run(Self.hello + [
            (.toServer, "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"), (.toClient, "250 ok\r\n250 ok\r\n354 go\r\n"),
            (.toServer, "Subject : spaced\r\n\r\nx\r\n.\r\n"), (.toClient, "250 ok\r\n"),
        ])
        #expect(r.txs.first?.contains("Subject=spaced") == true, "\(r.txs)")
    }
}
