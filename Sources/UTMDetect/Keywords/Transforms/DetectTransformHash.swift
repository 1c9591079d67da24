import UTMCore
import UTMCrypto

/// `to_md5`, `to_sha1`, `to_sha256`: the buffer replaced by its raw digest (16, 20, 32 bytes,
/// not hex), with OpenSSL's digests through `StreamingDigest` (no allocation per use).
enum DetectTransformHash {
    @Sendable static func md5(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "to_md5")
        try b.addTransform(.toMD5, keyword: "to_md5")
    }

    @Sendable static func sha1(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "to_sha1")
        try b.addTransform(.toSHA1, keyword: "to_sha1")
    }

    @Sendable static func sha256(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "to_sha256")
        try b.addTransform(.toSHA256, keyword: "to_sha256")
    }

    static func apply(_ input: ByteView, _ kind: DigestKinds, _ digest: StreamingDigest, _ out: inout TransformOutput) {
        digest.begin(kind)
        digest.update(input)
        let d = digest.finish()
        guard d.kinds.contains(kind) else { out.put(input); return }
        let (value, n): (Bytes32, Int) = kind == .md5 ? (d.md5, 16) : kind == .sha1 ? (d.sha1, 20) : (d.sha256, 32)
        var i = 0
        while i < n {
            out.put(value[i])
            i &+= 1
        }
    }
}
