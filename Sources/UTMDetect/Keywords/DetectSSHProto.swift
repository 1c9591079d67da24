/// `ssh.proto` (legacy `ssh_proto`): sticky buffer of the protocol version of the banner sent
/// in the inspected direction (`2.0` of `SSH-2.0-OpenSSH_9.6`). Makes the rule an SSH rule.
enum DetectSSHProto {
    static func sticky(_ keyword: String) -> KeywordParser {
        { (b: inout SignatureBuilder, v: Substring?) throws(RuleError) in
            try KW.noValue(v, keyword)
            try b.requireApp(.ssh, keyword: keyword)
            b.sticky = .sshProto
        }
    }
}
