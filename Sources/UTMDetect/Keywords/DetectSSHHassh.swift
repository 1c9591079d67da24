/// `ssh.hassh`: sticky buffer of the client's HASSH (MD5 hex of its KEXINIT's
/// `kex;enc c2s;mac c2s;comp c2s`). Only the client sends it, so the rule only meets
/// to-server inspections.
enum DetectSSHHassh {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "ssh.hassh")
        try b.requireApp(.ssh, keyword: "ssh.hassh")
        b.sticky = .sshHassh
    }
}
