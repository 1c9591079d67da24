/// `dns.answers.rrname` (Suricata 8) and its earlier name `dns.answer.name` (8.0.0): multi-buffer
/// of the owner names of the answer-section records, in requests and responses alike (so
/// `flow` picks the side), one name per inspection; a rule matching several records of one
/// message alerts once. Makes the rule a DNS rule.
enum DetectDnsAnswersRRName {
    static func sticky(_ keyword: String) -> KeywordParser {
        { (b: inout SignatureBuilder, v: Substring?) throws(RuleError) in
            try KW.noValue(v, keyword)
            try Session7Keyword.requireApp(&b, .dns, udp: true, tcp: true, keyword: keyword)
            b.sticky = .dnsAnswersRRName
        }
    }
}
