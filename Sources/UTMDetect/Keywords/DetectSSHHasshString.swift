/// `ssh.hassh.string`: sticky buffer of the client's HASSH string (`kex;enc;mac;comp`, the
/// client-to-server lists of its KEXINIT), before hashing.
enum DetectSSHHasshString {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "ssh.hassh.string")
        try b.requireApp(.ssh, keyword: "ssh.hassh.string")
        b.sticky = .sshHasshString
    }
}
