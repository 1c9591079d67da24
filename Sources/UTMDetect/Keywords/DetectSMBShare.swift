/// `smb.share` (Suricata 5+): sticky buffer of the path of an SMB2/3 TREE_CONNECT
/// (`\\server\share`, as sent, UTF-16 turned into UTF-8) when the share is not a named-pipe
/// share (disk, printer, or no response seen). Makes the rule an SMB rule.
enum DetectSMBShare {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "smb.share")
        try b.requireApp(.smb, keyword: "smb.share")
        b.sticky = .smbShare
    }
}
