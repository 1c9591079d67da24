import UTMCore
import UTMRegex

/// `pcrexform:"REGEX";`: the buffer becomes the first capture group of the regex's first match
/// (Suricata: the regex must have a capture group; no match leaves the buffer unchanged).
enum DetectTransformPCREXform {
    @Sendable static func keyword(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let raw = try KW.require(v, "pcrexform")
        let source = try KW.unquote(raw)
        guard !source.isEmpty else { throw .invalid("pcrexform: empty regular expression") }
        let pattern = Array(source.utf8)
        if let e = Regex.compileError(pattern: pattern) {
            throw .invalid("pcrexform: cannot compile '\(source.prefix(60))': \(e)")
        }
        guard let groups = Regex.captureCount(pattern: pattern), groups >= 1 else {
            throw .invalid("pcrexform: the regular expression needs a capture group ('\(source.prefix(60))')")
        }
        let regex: Regex
        do { regex = try Regex(pattern: pattern) } catch {
            throw .invalid("pcrexform: cannot compile '\(source.prefix(60))': \(error)")
        }
        try b.addTransform(.pcrexform(PCRETransform(regex: regex, source: String(source))), keyword: "pcrexform")
    }

    static func apply(_ input: ByteView, _ p: PCRETransform, _ out: inout TransformOutput) {
        guard let m = p.regex.firstMatch(in: input), m.groupStart >= 0,
              let group = input.slice(m.groupStart, m.groupEnd &- m.groupStart) else {
            out.put(input)
            return
        }
        out.put(group)
    }
}
