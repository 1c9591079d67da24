/// What the file keywords (session 9: `DetectFileName`, `DetectFileExt`, `DetectFileSize`,
/// `DetectFileHash`) share: the file buffer's list and the checks on the whole rule.
enum DetectFileSupport {
    /// Appends `c` to the `file.name` list without changing the rule's sticky buffer: the
    /// legacy `filename` / `fileext` are content-like keywords of their own (Suricata 7 turns
    /// them into `file.name` contents), and a `content` after them still goes where the rule's
    /// sticky buffer says.
    static func appendName(_ b: inout SignatureBuilder, _ c: ContentMatch) {
        b.append(.content(c), to: .fileName)
    }

    /// Rules the engine cannot judge are refused with the reason rather than never matching:
    /// a size or hash is known when the file ends, and the file's bytes are not held until then
    /// (the file phase that judges them lends the transaction's header buffers and the name,
    /// not the body), so such a rule with a body buffer (`file_data`, `http.response_body`...)
    /// could never match.
    static func validate(_ sig: Signature) throws(RuleError) {
        guard sig.needsCompleteFile else { return }
        for l in sig.lists where l.buffer == .fileData || l.buffer == .httpServerBody || l.buffer == .httpClientBody {
            throw .unsupported("filesize", "a file size or hash with a body buffer (\(l.buffer.name)) in one rule: the body is not held until the file ends")
        }
    }
}
