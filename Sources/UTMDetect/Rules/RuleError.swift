/// Why one rule did not load. A load never stops on one rule: the rule is skipped, reported
/// with its file and line, and counted.
public struct RuleError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The text is not a rule (bad header, unbalanced parentheses, bad option syntax).
        case malformed
        /// The rule is well-formed but a value is wrong (bad pcre, bad hex, depth shorter than
        /// the content, unknown classtype...).
        case invalid
        /// A keyword we do not implement; the rule is skipped, like Suricata does for keywords
        /// it does not know.
        case unsupported(keyword: String)
        /// `requires` names a feature or version this engine does not meet: left out
        /// silently, as Suricata does (DetectRequires.swift), counted apart.
        case unmetRequirement
    }

    public var kind: Kind
    public var message: String
    public var file: String = ""
    public var line: Int = 0

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public static func malformed(_ m: String) -> RuleError { RuleError(.malformed, m) }
    public static func invalid(_ m: String) -> RuleError { RuleError(.invalid, m) }
    public static func unsupported(_ keyword: String, _ why: String = "keyword not supported") -> RuleError {
        RuleError(.unsupported(keyword: keyword), "\(keyword): \(why)")
    }

    public var description: String {
        let loc = file.isEmpty ? "line \(line)" : "\(file):\(line)"
        switch kind {
        case .unsupported(let k): return "\(loc): rule skipped: unsupported keyword '\(k)' (\(message))"
        case .malformed: return "\(loc): malformed rule: \(message)"
        case .invalid: return "\(loc): invalid rule: \(message)"
        case .unmetRequirement: return "\(loc): rule skipped: requirements not met (\(message))"
        }
    }
}
