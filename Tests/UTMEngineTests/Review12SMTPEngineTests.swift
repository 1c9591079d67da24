import Foundation
import Testing
import UTMCore
import UTMDetect
@testable import UTMEngine

/// Review 12b: SMTP file_data through the engine.
@Suite(.serialized) struct Review12SMTPEngineTests {
    static func message(base64Body: String) -> String {
        "From: a@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
            + "--XX\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\n"
            + "Content-Disposition: attachment; filename=\"a.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + base64Body + "\r\n--XX--\r\n.\r\n"
    }

    static func frames(_ msg: String) -> [[UInt8]] {
        EngineTraffic.tcpSession(v6: false, sport: 41100, dport: 25, exchanges: [
            ([], Array("220 mx.example.com ESMTP\r\n".utf8)),
            (Array("EHLO client.example.org\r\n".utf8), Array("250-mx.example.com\r\n250 PIPELINING\r\n".utf8)),
            (Array("MAIL FROM:<a@example.org>\r\n".utf8), Array("250 OK\r\n".utf8)),
            (Array("RCPT TO:<b@example.com>\r\n".utf8), Array("250 OK\r\n".utf8)),
            (Array("DATA\r\n".utf8), Array("354 go ahead\r\n".utf8)),
            (Array(msg.utf8), Array("250 queued\r\n".utf8)),
            (Array("QUIT\r\n".utf8), Array("221 bye\r\n".utf8)),
        ])
    }

    static let rule = #"alert smtp any any -> any any (msg:"marker in attachment"; file_data; content:"EVILMARKER"; sid:1;)"#

    /// Control: the marker early in the attachment, base64 in 76-column lines, is found.
    @Test func markerFoundInFoldedBase64() {
        let payload = Data(("EVILMARKER" + String(repeating: "A", count: 6000)).utf8)
        let b64 = payload.base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        let events = SMTPEngineTests.run(Self.frames(Self.message(base64Body: b64)), rules: Self.rule, loaded: 1)
        #expect(FirewallEngineTests.sids(events) == [1])
    }

    /// The same attachment with its base64 on one line (every MIME decoder takes it; RFC 2045's
    /// 76 columns are not enforced by servers or clients): the parser cuts message lines at
    /// `maxMessageLine` (4096) before the MIME decoder sees them, so only the first ~3 KB of the
    /// attachment become file_data although the window is 32 KiB.
    @Test func markerFoundInOneLineBase64() {
        let payload = Data((String(repeating: "A", count: 6000) + "EVILMARKER").utf8)
        let b64 = payload.base64EncodedString()
        let events = SMTPEngineTests.run(Self.frames(Self.message(base64Body: b64)), rules: Self.rule, loaded: 1)
        #expect(FirewallEngineTests.sids(events) == [1])
    }
}
