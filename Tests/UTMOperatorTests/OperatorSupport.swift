import Foundation
import LiveTestSupport
import Testing

/// Shared helpers: the package's binaries, shell commands with a time limit, and the rule that
/// a missing prerequisite is a skip with a message outside CI and a failure with CI=true.
enum Op {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let utmctl = repo.appendingPathComponent(".build/debug/utmctl").path
    static let utmd = repo.appendingPathComponent(".build/debug/utmd").path
    static let peerScript = repo.appendingPathComponent("Tests/UTMOperatorTests/peer-services.py").path
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    typealias Run = Shell.Run

    @discardableResult
    static func sh(_ command: String, seconds: Int = 30) -> Run { Shell.sh(command, seconds: seconds) }

    /// Starts a long-running process (namespace peer services, utmd) with its output in `log`.
    @discardableResult
    static func spawn(_ args: [String], log: String) -> Process? { try? Shell.spawn(args, log: log) }

    static func q(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// utmctl with arguments, optionally inside a namespace.
    static func ctl(_ args: [String], netns: String? = nil, seconds: Int = 60) -> Run {
        let cmd = (netns.map { "ip netns exec \($0) " } ?? "") + ([utmctl] + args).map(q).joined(separator: " ")
        return sh(cmd, seconds: seconds)
    }

    /// Skip (outside CI) or fail (CI=true) with the reason; true when the test may go on.
    static func require(_ reason: String?) -> Bool {
        guard let reason else { return true }
        if isCI { Issue.record("cannot run with CI=true: \(reason)") } else { print("skipped: \(reason)") }
        return false
    }

    static var binaries: String? {
        for b in [utmctl, utmd] where !FileManager.default.isExecutableFile(atPath: b) { return "\(b) not built (swift build)" }
        return nil
    }

    /// Root, ip netns, iptables, python3.
    static var namespaces: String? {
        if let b = binaries { return b }
        if getuid() != 0 { return "not root (network namespaces)" }
        for tool in ["ip", "iptables", "python3", "timeout"] where sh("command -v \(tool)").status != 0 { return "\(tool) not installed" }
        return nil
    }

    /// The shared folder with the corpus and mktraffic.py.
    static var shared: String? {
        let parent = repo.deletingLastPathComponent()
        return [ProcessInfo.processInfo.environment["MIMAMORI_SHARED"], parent.appendingPathComponent("shared").path,
                parent.deletingLastPathComponent().appendingPathComponent("shared").path]
            .compactMap { $0 }.first { FileManager.default.fileExists(atPath: $0 + "/bench/mktraffic.py") }
    }

    static func tempDir(_ name: String) -> String {
        let d = NSTemporaryDirectory() + "op-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: d)
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    static func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool { Shell.waitFor(seconds, condition) }

    /// One line, no Swift runtime crash text.
    static func isOneCleanLine(_ s: String) -> Bool {
        let lines = s.split(separator: "\n")
        return lines.count == 1 && !s.contains("Fatal error") && !s.contains("Stack dump") && !s.contains("Swift runtime")
    }
}
