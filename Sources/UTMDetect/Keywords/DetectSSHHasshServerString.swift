/// `ssh.hassh.server.string`: sticky buffer of the server's HASSH-server string
/// (`kex;enc;mac;comp`, the server-to-client lists of its KEXINIT), before hashing.
enum DetectSSHHasshServerString {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "ssh.hassh.server.string")
        try b.requireApp(.ssh, keyword: "ssh.hassh.server.string")
        b.sticky = .sshHasshServerString
    }
}
