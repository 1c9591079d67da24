/// `ssh.software` (legacy `ssh_software`): sticky buffer of the software version of the banner
/// sent in the inspected direction (`OpenSSH_9.6`; the comments after a space are not in it).
enum DetectSSHSoftware {
    static func sticky(_ keyword: String) -> KeywordParser {
        { (b: inout SignatureBuilder, v: Substring?) throws(RuleError) in
            try KW.noValue(v, keyword)
            try b.requireApp(.ssh, keyword: keyword)
            b.sticky = .sshSoftware
        }
    }
}
