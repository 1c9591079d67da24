import Foundation

/// Where the shared test data, tshark and the `utmctl` binary are, and how to run a process
/// with a deadline. The captures are read from the shared folder, never copied into the
/// repository.
enum CorpusEnv {
    /// The package root: <repo>/Tests/UTMEngineTests/CorpusSupport.swift → <repo>.
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// The shared test-data folder: $MIMAMORI_SHARED, else <repo>/../shared (a checkout beside
    /// the data), else <repo>/../../shared (a worktree one level further down).
    static var sharedFolder: String? {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["MIMAMORI_SHARED"] { candidates.append(env) }
        let parent = repo.deletingLastPathComponent()
        candidates.append(parent.appendingPathComponent("shared").path)
        candidates.append(parent.deletingLastPathComponent().appendingPathComponent("shared").path)
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/corpus") }
    }

    static var tshark: String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let dirs = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"]
        return dirs.map { $0 + "/tshark" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The binary `swift build` leaves for this package (debug, or release if that is all there is).
    static var utmctl: String? {
        ["debug", "release"].map { repo.appendingPathComponent(".build/\($0)/utmctl").path }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Why the corpus tests cannot run here, or nil when they can. Outside CI a missing corpus
    /// or tshark skips them; with CI=true the test runs and fails on it instead.
    static var skipReason: String? {
        if isCI { return nil }
        if sharedFolder == nil {
            return "shared corpus not found at <repo>/../shared (or $MIMAMORI_SHARED); skipped outside CI"
        }
        if tshark == nil { return "tshark not installed; skipped outside CI" }
        return nil
    }

    /// Every capture of the corpus once: nDPI's cfgs/*/pcap (cfgs/default first; the other
    /// folders mostly repeat its files, as copies or as git symlinks checked out as text files
    /// holding a relative path, which are followed) and suricata-verify's tests/*/*.pcap.
    /// Files with identical bytes are kept once, under the first name.
    static func captures(shared: String) -> [String] {
        let fm = FileManager.default
        var names: [String] = []
        let cfgs = shared + "/corpus/ndpi/tests/cfgs"
        let folders = ((try? fm.contentsOfDirectory(atPath: cfgs)) ?? []).sorted {
            ($0 == "default" ? 0 : 1, $0) < ($1 == "default" ? 0 : 1, $1)
        }
        let extensions: Set<String> = ["pcap", "pcapng", "cap"]
        for folder in folders {
            let dir = cfgs + "/" + folder + "/pcap"
            for name in ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted()
            where extensions.contains((name as NSString).pathExtension) {
                names.append(dir + "/" + name)
            }
        }
        let sv = shared + "/corpus/suricata-verify/tests"
        for test in ((try? fm.contentsOfDirectory(atPath: sv)) ?? []).sorted() {
            for name in ((try? fm.contentsOfDirectory(atPath: sv + "/" + test)) ?? []).sorted()
            where name.hasSuffix(".pcap") {
                names.append(sv + "/" + test + "/" + name)
            }
        }
        var seen: [Int: [(String, Data)]] = [:]
        var result: [String] = []
        for var path in names {
            guard var data = fm.contents(atPath: path) else { continue }
            if data.count < 1024, data.starts(with: Array("../".utf8)),
               let target = String(data: data, encoding: .utf8) {
                path = URL(fileURLWithPath: path).deletingLastPathComponent()
                    .appendingPathComponent(target.trimmingCharacters(in: .whitespacesAndNewlines))
                    .standardized.path
                guard let resolved = fm.contents(atPath: path) else { continue }
                data = resolved
            }
            if seen[data.count, default: []].contains(where: { $0.1 == data }) { continue }
            seen[data.count, default: []].append((path, data))
            result.append(path)
        }
        return result
    }
}

/// How a child process ended.
enum ProcessOutcome: Equatable {
    case exited(Int32)
    case signalled(Int32)
    case timedOut
}

/// Runs `executable` with `arguments`, standard output to `stdoutPath` (or discarded) and
/// standard error kept (its last 2 KiB). Killed when it outlives `timeout`.
func runProcess(_ executable: String, _ arguments: [String], stdoutPath: String?,
                timeout: TimeInterval) -> (ProcessOutcome, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    let errPath = NSTemporaryDirectory() + "mimamori-stderr-\(UUID().uuidString)"
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    defer { try? FileManager.default.removeItem(atPath: errPath) }
    guard let err = FileHandle(forWritingAtPath: errPath) else { return (.exited(-1), "no stderr file") }
    p.standardError = err
    if let stdoutPath {
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
    } else {
        p.standardOutput = FileHandle.nullDevice
    }
    p.standardInput = FileHandle.nullDevice
    do { try p.run() } catch { return (.exited(-1), "cannot start \(executable): \(error)") }
    let deadline = Date().addingTimeInterval(timeout)
    var timedOut = false
    while p.isRunning {
        if Date() > deadline {
            timedOut = true
            p.terminate()
            let grace = Date().addingTimeInterval(5)
            while p.isRunning && Date() < grace { usleep(20_000) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            break
        }
        usleep(5_000)
    }
    p.waitUntilExit()
    try? err.close()
    let errText = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    let tail = String(errText.suffix(2048))
    if timedOut { return (.timedOut, tail) }
    switch p.terminationReason {
    case .exit: return (.exited(p.terminationStatus), tail)
    case .uncaughtSignal: return (.signalled(p.terminationStatus), tail)
    @unknown default: return (.exited(p.terminationStatus), tail)
    }
}

/// Reads an EVE file into one dictionary per line (lines that are not JSON objects are
/// returned as nil entries so a test can count them).
func readEVE(_ path: String) -> [[String: Any]?] {
    guard let data = FileManager.default.contents(atPath: path) else { return [] }
    return data.split(separator: UInt8(ascii: "\n")).map { line in
        (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any]
    }
}
