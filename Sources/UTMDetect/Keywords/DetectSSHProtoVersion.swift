/// `ssh.protoversion:VALUE` (deprecated in Suricata, still in rule sets), with Suricata 6/7's
/// semantics: the banner's protocol version equals VALUE (`1.99`, `2.0`; digits, dots and
/// dashes), or with `2_compat` it is protocol 2 or compatible with it: starts with `2` or with
/// `1.99`. Compiled into ordinary matches on the `ssh.proto` buffer — an anchored content
/// (`startswith` + `endswith`) or, for `2_compat`, an anchored pcre — so the verifier needs
/// nothing new. The rule's sticky buffer and "last content" are left as they were: the keyword
/// stands alone, as in Suricata.
enum DetectSSHProtoVersion {
    @Sendable static func protoversion(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let value = try DetectSSHProtoVersion.value(try KW.require(v, "ssh.protoversion"))
        try b.requireApp(.ssh, keyword: "ssh.protoversion")
        let (sticky, lastContent, lastMatch) = (b.sticky, b.lastContent, b.lastMatch)
        defer { (b.sticky, b.lastContent, b.lastMatch) = (sticky, lastContent, lastMatch) }
        if value == "2_compat" {
            b.sticky = .sshProto
            try DetectPCRE.pcre(&b, "\"/^(?:2|1\\.99)/\"")
        } else {
            b.append(.content(KW.wholeBuffer(value)), to: .sshProto)
        }
    }

    /// Suricata's accepted forms: optional quotes and blanks around `2_compat` or a version of
    /// digits that may continue with dots, dashes and digits.
    static func value(_ raw: Substring) throws(RuleError) -> String {
        let t = KW.optionalQuotes(raw)
        if t == "2_compat" { return "2_compat" }
        let digit = t.utf8.first.map { $0 >= 0x30 && $0 <= 0x39 } ?? false
        let allowed = t.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2e || $0 == 0x2d }
        guard digit && allowed else {
            throw .invalid("ssh.protoversion: '\(raw.prefix(40))' is neither a version (digits, '.', '-') nor 2_compat")
        }
        return String(t)
    }
}
