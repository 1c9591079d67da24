/// `smb.named_pipe` (Suricata 5+): sticky buffer of the path of an SMB2/3 TREE_CONNECT whose
/// response says the share is a pipe share (`\\server\IPC$`), as Suricata fills it. Makes the
/// rule an SMB rule.
enum DetectSMBNamedPipe {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "smb.named_pipe")
        try b.requireApp(.smb, keyword: "smb.named_pipe")
        b.sticky = .smbNamedPipe
    }
}
