/// `dns.queries.rrname` (Suricata 8): multi-buffer of the question names of DNS requests
/// *and* responses (`dns.query` sees requests only), one name per inspection; a rule matching
/// several questions of one message alerts once. Makes the rule a DNS rule.
enum DetectDnsQueriesRRName {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "dns.queries.rrname")
        try Session7Keyword.requireApp(&b, .dns, udp: true, tcp: true, keyword: "dns.queries.rrname")
        b.sticky = .dnsQueriesRRName
    }
}
