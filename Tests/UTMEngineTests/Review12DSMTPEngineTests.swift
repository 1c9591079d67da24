import Foundation
import Testing
import UTMCore
import UTMDetect
@testable import UTMEngine

/// Review 12d: the refused-DATA confusion hides the attachment from file_data too (the MIME
/// decoder follows the parser's phantom message, whose headers end at the empty line, so the
/// real multipart message is one text body: no part, no file_data).
/// `refusedFirst: false` is the control (the same segments without the refused DATA).
@Suite(.serialized) struct Review12DSMTPEngineTests {
    @Test(arguments: [true, false]) func refusedDataWithPipelinedBytesHidesTheAttachment(refusedFirst: Bool) {
        let payload = Data(("EVILMARKER" + String(repeating: "A", count: 300)).utf8)
        let msg = Review12SMTPEngineTests.message(base64Body: payload.base64EncodedString())
        let refused = "MAIL FROM:<a@example.org>\r\nRCPT TO:<nobody@example.com>\r\nDATA\r\n\r\n"
        let client = (refusedFirst ? refused : "") + "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n" + msg
        let frames = EngineTraffic.tcpSession(v6: false, sport: 41100, dport: 25, exchanges: [
            ([], Array("220 mx.example.com ESMTP\r\n".utf8)),
            (Array("EHLO client.example.org\r\n".utf8), Array("250-mx.example.com\r\n250 PIPELINING\r\n".utf8)),
            (Array(client.utf8), Array(((refusedFirst ? "250 OK\r\n550 5.1.1 unknown user\r\n554 5.5.1 Error: no valid recipients\r\n500 5.5.2 Error: bad syntax\r\n" : "")
                + "250 OK\r\n250 OK\r\n354 go ahead\r\n250 queued\r\n").utf8)),
            (Array("QUIT\r\n".utf8), Array("221 bye\r\n".utf8)),
        ])
        let events = SMTPEngineTests.run(frames, rules: Review12SMTPEngineTests.rule, loaded: 1)
        #expect(FirewallEngineTests.sids(events) == [1])
    }
}
