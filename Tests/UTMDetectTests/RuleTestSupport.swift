import Foundation
import Testing
import UTMCore
@testable import UTMDetect

/// Parses one rule with default variables; fails the test with the error when it does not load.
func rule(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> Signature? {
    var p = RuleParser()
    do {
        return try p.parseRule(text, file: "test.rules", line: 1)
    } catch {
        Issue.record("rule did not load: \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// The error a rule fails with, or nil if it loads.
func ruleError(_ text: String) -> RuleError? {
    var p = RuleParser()
    do {
        _ = try p.parseRule(text, file: "bad.rules", line: 7)
        return nil
    } catch {
        return error
    }
}

/// A minimal rule around the given options.
func opts(_ options: String, proto: String = "tcp") -> String {
    "alert \(proto) any any -> any any (msg:\"t\"; \(options) sid:1; rev:1;)"
}

/// Runs `sig`'s list for `buffer` against `bytes`.
func inspect(_ sig: Signature, _ bytes: [UInt8], buffer: BufferID = .payload) -> Bool {
    guard let list = sig.list(for: buffer) else { return false }
    var v = Verifier()
    return bytes.withByteView { v.inspect(list, in: $0) }
}

func inspect(_ sig: Signature, _ text: String, buffer: BufferID = .payload) -> Bool {
    inspect(sig, Array(text.utf8), buffer: buffer)
}

enum Shared {
    static let rulesRelative = "corpus/rules/et-open-2019-suricata-4.0.rules"

    static var folder: String? {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["MIMAMORI_SHARED"] { candidates.append(env) }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(repo.deletingLastPathComponent().appendingPathComponent("shared").path)
        candidates.append("/work/shared")
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/" + rulesRelative) }
    }

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }
}
