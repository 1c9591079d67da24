/// `ssh.hassh.server`: sticky buffer of the server's HASSH-server (MD5 hex of its KEXINIT's
/// `kex;enc s2c;mac s2c;comp s2c`). Only to-client inspections have it.
enum DetectSSHHasshServer {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "ssh.hassh.server")
        try b.requireApp(.ssh, keyword: "ssh.hassh.server")
        b.sticky = .sshHasshServer
    }
}
