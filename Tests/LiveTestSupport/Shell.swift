import Foundation
import Testing

/// What the test suites that drive real processes share: the package's binaries, shell
/// commands with a hard time limit, long-running children with their output in a file, and
/// namespace cleanup. One copy, so a fix (a pipe that never closes, a stuck child) lands in
/// every live suite at once.
public enum Shell {
    /// The package root (this file is Tests/LiveTestSupport/Shell.swift).
    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static let utmd = packageRoot.appendingPathComponent(".build/debug/utmd").path
    public static let utmctl = packageRoot.appendingPathComponent(".build/debug/utmctl").path

    public struct Run: Sendable {
        public var status: Int32
        public var out: String
        public var err: String
        public init(status: Int32, out: String, err: String) {
            self.status = status
            self.out = out
            self.err = err
        }
    }

    /// Runs a shell command under coreutils `timeout`: a hung peer fails the test, never the run.
    @discardableResult
    public static func sh(_ command: String, seconds: Int = 20) -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "timeout -k 2 \(seconds) sh -c \(quote(command))"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { return Run(status: -1, out: "", err: "\(error)") }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
    }

    /// Starts a long-running process with its output in `log`. Not through `sh … &`: the child
    /// would inherit the output pipe and `sh` would never end.
    public static func spawn(_ args: [String], log: String) throws -> Process {
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: log) else { throw CocoaError(.fileWriteUnknown) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: args[0])
        p.arguments = Array(args.dropFirst())
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Kills whatever runs in the namespaces and deletes them.
    public static func deleteNamespaces(_ namespaces: [String]) {
        for ns in namespaces { sh("ip netns pids \(ns) 2>/dev/null | xargs -r kill -9; ip netns del \(ns) 2>/dev/null", seconds: 10) }
    }

    /// Root, the tools, a built utmd, and a namespace where an NFQUEUE rule on `queue` can be
    /// added (`probe` names that throw-away namespace); otherwise the reason to skip.
    public static func liveUnavailable(tools: [String], probe: String, queue: Int) -> String? {
        if getuid() != 0 { return "not root" }
        for tool in tools + ["ip", "iptables", "timeout"] where sh("command -v \(tool)").status != 0 {
            return "\(tool) not installed"
        }
        if !FileManager.default.isExecutableFile(atPath: utmd) { return "\(utmd) not built (swift build)" }
        let r = sh("ip netns add \(probe) && ip netns exec \(probe) iptables -A FORWARD -j NFQUEUE --queue-num \(queue) --queue-bypass; r=$?; ip netns del \(probe); exit $r")
        if r.status != 0 { return "no netns/NFQUEUE support: \(r.err.prefix(200))" }
        return nil
    }

    /// Polls `condition` every 100 ms for up to `seconds`, then once more.
    public static func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(100_000)
        }
        return condition()
    }

    /// The rule for a missing prerequisite (root, namespaces, a tool): a failure when CI=true,
    /// a skip with the reason elsewhere. True when the test may go on.
    public static func mayRun(_ unavailable: String?, _ what: String) -> Bool {
        guard let reason = unavailable else { return true }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("\(what) cannot run on CI: \(reason)")
        } else {
            print("skipped \(what): \(reason)")
        }
        return false
    }

    public static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}
