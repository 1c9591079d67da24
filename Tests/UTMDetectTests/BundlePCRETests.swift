import Testing
import UTMCore
import UTMRegex
@testable import UTMDetect

/// A bundle whose checksum holds but whose pcre does not compile (hand-crafted: the pattern
/// bytes changed and the checksum written again) is refused at load with the rule named; before,
/// PCREs were compiled only on first use, so such a rule loaded and silently never matched.
@Suite struct BundlePCRETests {
    static let rules = """
        alert tcp any any -> any 80 (msg:"fine"; content:"alpha"; sid:1;)
        alert tcp any any -> any 80 (msg:"pcre"; content:"beta"; pcre:"/ab(c)d/i"; sid:7;)
        """

    /// The bundle of `rules` with every `from` replaced by `to` (same length, so no offset moves)
    /// and the trailing FNV-1a checksum recomputed: what a forger who read the format would write.
    static func crafted(_ from: String, _ to: String) -> [UInt8] {
        var p = RuleParser()
        p.load(text: rules, file: "crafted.rules")
        var bytes = DefinitionsBundle.encode(definitions: DetectDefinitions(ruleSet: p.finish()))
        let a = Array(from.utf8), b = Array(to.utf8)
        precondition(a.count == b.count)
        var i = 0, replaced = 0
        while i + a.count <= bytes.count - 8 {
            if Array(bytes[i ..< i + a.count]) == a {
                bytes.replaceSubrange(i ..< i + a.count, with: b)
                replaced += 1
            }
            i += 1
        }
        precondition(replaced > 0)
        bytes.removeLast(8)
        let sum = bytes.withUnsafeBytes { DefinitionsBundle.fnv1a(ByteView($0)) }
        DefinitionsBundle.put64(&bytes, sum)
        return bytes
    }

    @Test func badPatternWithValidChecksumIsRefusedNamingTheRule() {
        // The control: the same forgery with a pattern that still compiles loads, and the rule
        // holds the new pattern (so the forgery really reaches the pcre).
        let still = Self.crafted("ab(c)d", "ab[c]d")
        let loaded = try? DefinitionsBundle.decode(still, file: "ok.bundle")
        #expect(loaded?.count == 2)
        let pcre = loaded?.signatures.first { $0.sid == 7 }?.lists.flatMap(\.elements).compactMap { e -> [UInt8]? in
            if case .pcre(let p) = e { return p.regex.pattern } else { return nil }
        }
        #expect(pcre == [Array("ab[c]d".utf8)])

        let bad = Self.crafted("ab(c)d", "ab(c(d")
        do {
            _ = try DefinitionsBundle.decode(bad, file: "evil.bundle")
            Issue.record("a bundle with a pcre that does not compile loaded")
        } catch {
            #expect(error.code == .corrupt)
            let line = error.description
            #expect(line.hasPrefix("E_BUNDLE_CORRUPT: evil.bundle: signatures: sid 7 (crafted.rules:2): pcre does not compile: "),
                    "\(line)")
            #expect(line.contains("missing closing parenthesis"), "PCRE2's own reason: \(line)")
            #expect(!line.contains("\n"))
        }
    }

    @Test func compileErrorNamesTheProblem() {
        #expect(UTMRegex.Regex.compileError(pattern: Array("ab(c)d".utf8), options: [.caseless]) == nil)
        let e = UTMRegex.Regex.compileError(pattern: Array("x{2,1}".utf8))
        #expect(e != nil && e!.description.contains("at pattern offset"))
    }
}

/// modify.conf's substitution is bounded: a replacement that grows a rule past `maxOutput` is
/// an error even when the first output buffer (twice the subject) would have held it.
@Suite struct RegexSubstituteBoundTests {
    @Test func resultLongerThanTheBoundIsRefused() throws {
        let subject = [UInt8](repeating: UInt8(ascii: "a"), count: 100)
        let grown = try Regex.substituteAll(pattern: Array("a".utf8), in: subject, replacement: Array("bb".utf8), maxOutput: 1000)
        #expect(grown.count == 200)
        #expect(throws: RegexError.self) {
            _ = try Regex.substituteAll(pattern: Array("a".utf8), in: subject, replacement: Array("bb".utf8), maxOutput: 150)
        }
    }
}
