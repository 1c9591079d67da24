import UTMAppLayer
import UTMDetect

/// Session 9 (modernkw2): the DNS facts of `dns.rrtype` / `dns.rcode` for a whole message.
extension Engine {
    /// A request's question types or a response's answer-section types (what Suricata 8's
    /// `dns.rrtype` reads in each direction), and the rcode, into `f`.
    static func fillDNSFacts(_ f: inout PacketFacts, _ m: DNSMessage) {
        f.dnsRcode = m.flags.rcode
        if m.flags.qr {
            var a = 0
            while a < m.answerCount {
                if let answer = m.answer(a), answer.section == DNSSection.answer { f.dnsRRTypes.add(answer.type) }
                a &+= 1
            }
        } else {
            var q = 0
            while q < m.questionCount {
                if let question = m.question(q) { f.dnsRRTypes.add(question.type) }
                q &+= 1
            }
        }
    }
}
