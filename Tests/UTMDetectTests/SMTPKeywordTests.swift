import Testing
import UTMCore
@testable import UTMDetect

/// Session 12's smtp/email sticky buffers: each keyword selects its buffer, makes the rule an
/// SMTP rule evaluated at the smtp inspection point (multi-buffers in their own phases), its
/// contents reach the prefilter, and misuse is refused with a clear message.
@Suite struct SMTPKeywordTests {
    static func parse(_ text: String) throws(RuleError) -> Signature {
        var p = RuleParser()
        return try p.parseRule(text, file: "smtp.rules", line: 1)
    }

    static let keywords: [(String, BufferID, UInt8)] = [
        ("smtp.helo", .smtpHelo, 1), ("smtp.mail_from", .smtpMailFrom, 1), ("smtp.rcpt_to", .smtpRcptTo, 3),
        ("email.from", .emailFrom, 1), ("email.subject", .emailSubject, 1), ("email.to", .emailTo, 1),
        ("email.cc", .emailCc, 1), ("email.date", .emailDate, 1), ("email.message_id", .emailMessageID, 1),
        ("email.x_mailer", .emailXMailer, 1), ("email.received", .emailReceived, 4), ("email.url", .emailURL, 2),
    ]

    @Test func eachKeywordSelectsItsBuffer() throws {
        for (kw, id, phase) in Self.keywords {
            // `alert tcp` becomes an SMTP rule; the content is the prefilter pattern.
            let s = try Self.parse("alert tcp any any -> any any (msg:\"x\"; \(kw); content:\"example\"; sid:1;)")
            #expect(s.proto.app == .smtp, "\(kw)")
            #expect(s.lists.map(\.buffer) == [id], "\(kw)")
            #expect(s.prefilter?.buffer == id && s.prefilter?.pattern == Array("example".utf8), "\(kw)")
            #expect(DetectDefinitions.point(of: s) == .smtp, "\(kw)")
            #expect(DetectDefinitions.phase(of: s, .smtp) == phase, "\(kw)")
            #expect(id.name == kw && id.isSMTP)
        }
    }

    @Test func misuseIsRefusedClearly() {
        for (text, wanted) in [
            ("alert http any any -> any any (msg:\"x\"; smtp.helo; content:\"a\"; sid:1;)", "'smtp.helo' needs smtp but the rule is for http"),
            ("alert udp any any -> any any (msg:\"x\"; email.subject; content:\"a\"; sid:1;)", "'email.subject' needs a TCP rule"),
            ("alert smtp any any -> any any (msg:\"x\"; smtp.rcpt_to:foo; sid:1;)", "smtp.rcpt_to"),
        ] {
            do {
                _ = try Self.parse(text)
                Issue.record("accepted: \(text)")
            } catch {
                #expect("\(error)".contains(wanted), "\(error)")
            }
        }
    }
}
