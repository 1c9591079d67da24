/// `fileext:"ext"`: the file name ends in `.ext`, compared case-insensitively, never a partial
/// extension (Suricata 7's docs: the same as `file.name; content:".ext"; nocase; endswith;`,
/// which is what it compiles to here). `fileext:!"ext"` is refused: a negated content cannot
/// be end-anchored in this verifier (nor in Suricata 7's content form).
enum DetectFileExt {
    @Sendable static func fileext(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let (ext, negated) = try DetectContent.decode(try KW.require(v, "fileext"), keyword: "fileext")
        guard !negated else { throw .invalid("fileext: a negated extension is not supported (use file.name with pcre)") }
        guard !ext.isEmpty, ext.first != 0x2E else {
            throw .invalid("fileext: give the extension without its dot ('exe', 'tar.gz')")
        }
        let pattern = [0x2E] + ext
        var c = ContentMatch(pattern: pattern)
        c.nocase = true
        c.folded = pattern.map(asciiLowerByte)
        c.endsWith = true
        DetectFileSupport.appendName(&b, c)
    }
}
