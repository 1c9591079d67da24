/// Suricata's transform validation at rule load: a content that the transformed buffer can
/// never hold (upper case after `to_lowercase`, whitespace after `strip_whitespace`, two
/// blanks after `compress_whitespace`) makes the rule invalid rather than silently dead.
/// Checked against the chain's last transform, whose output the contents are compared with
/// (a `nocase` content passes the case checks).
enum TransformValidation {
    static func check(_ sig: Signature) throws(RuleError) {
        for l in sig.lists {
            guard let last = l.transforms.last else { continue }
            for case .content(let c) in l.elements {
                // A nocase content compares letters in either case.
                if c.nocase && (last == .toLowercase || last == .toUppercase) { continue }
                if let why = last.rejects(c.pattern) {
                    throw .invalid("content '\(String(decoding: c.pattern.prefix(40), as: UTF8.self))' cannot match after \(last.keyword): \(why)")
                }
            }
        }
    }
}
