/// `ssh.softwareversion:VALUE` (deprecated in Suricata, still in rule sets), with Suricata 6/7's
/// semantics: the banner's software version equals VALUE exactly (letters, digits, `:._-+` and
/// blanks). Compiled into an anchored content (`startswith` + `endswith`) on the
/// `ssh.software` buffer; the rule's sticky buffer and "last content" are left as they were.
enum DetectSSHSoftwareVersion {
    @Sendable static func softwareversion(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let value = try DetectSSHSoftwareVersion.value(try KW.require(v, "ssh.softwareversion"))
        try b.requireApp(.ssh, keyword: "ssh.softwareversion")
        let (lastContent, lastMatch) = (b.lastContent, b.lastMatch)
        defer { (b.lastContent, b.lastMatch) = (lastContent, lastMatch) }
        b.append(.content(KW.wholeBuffer(value)), to: .sshSoftware)
    }

    static func value(_ raw: Substring) throws(RuleError) -> String {
        let t = KW.optionalQuotes(raw)
        let allowed = t.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7a)
                || c == 0x3a || c == 0x2e || c == 0x2d || c == 0x5f || c == 0x2b || c == 0x20 || c == 0x09
        }
        guard !t.isEmpty && allowed else {
            throw .invalid("ssh.softwareversion: '\(raw.prefix(40))' has characters a software version cannot (letters, digits, ':._-+')")
        }
        return String(t)
    }
}
