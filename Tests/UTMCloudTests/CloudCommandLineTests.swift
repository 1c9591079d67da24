import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The operator's path with the real executables: `mimamori-cloud init/provision/serve/
/// command/status` and `utmctl activate`.
@Suite(.serialized) struct CloudCommandLineTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func binary(_ name: String) throws -> String {
        let candidates = [Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent(name).path,
                          root.appendingPathComponent(".build/debug/\(name)").path]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            Issue.record("\(name) not built; run swift build first (looked in \(candidates))")
            throw CocoaError(.fileNoSuchFile)
        }
        return found
    }

    struct Run { var status: Int32; var stdout: String; var stderr: String }

    static func run(_ name: String, _ args: [String]) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try binary(name))
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// A port free right now on loopback.
    static func freePort() -> UInt16 {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return UInt16(bigEndian: addr.sin_port)
    }

    @Test func provisionServeActivateCommandStatus() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mimamori-cloud-cli-\(getpid())-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = dir + "/cloud"
        let initRun = try Self.run("mimamori-cloud", ["init", "--data", data, "--name", "127.0.0.1"])
        #expect(initRun.status == 0, "\(initRun.stderr)")
        let again = try Self.run("mimamori-cloud", ["init", "--data", data])
        #expect(again.status == 1 && again.stderr.contains("the CA is made once"), "\(again.stderr)")
        let provision = try Self.run("mimamori-cloud", ["provision", "--data", data, "MMR-0700", "--email", "owner@example.jp"])
        let code = provision.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(provision.status == 0 && code.count == 19, "\(provision.stdout) \(provision.stderr)")

        let port = Self.freePort()
        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: try Self.binary("mimamori-cloud"))
        serve.arguments = ["serve", "--data", data, "--listen", "127.0.0.1", "--port", String(port), "--smtp", "127.0.0.1:9"]
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer {
            serve.terminate()
            // Not waitUntilExit: it can miss the exit of a child ended by a signal here.
            let deadline = Date().addingTimeInterval(5)
            while serve.isRunning && Date() < deadline { usleep(20_000) }
            if serve.isRunning { kill(serve.processIdentifier, SIGKILL) }
        }
        let activate = ["activate", "--cloud", "127.0.0.1:\(port)", "--serial", "MMR-0700", "--code", code,
                        "--ca", data + "/ca.pem", "--credentials", dir + "/box"]
        var result = try Self.run("utmctl", activate)
        let deadline = Date().addingTimeInterval(10)
        while result.status != 0 && result.stderr.contains("connect failed") && Date() < deadline {
            usleep(100_000) // the server is still starting
            result = try Self.run("utmctl", activate)
        }
        #expect(result.status == 0 && result.stdout.hasPrefix("activated MMR-0700"), "\(result.stdout) \(result.stderr)")
        let twice = try Self.run("utmctl", activate.dropLast(2) + ["--credentials", dir + "/box2"])
        #expect(twice.status == 1 && twice.stderr.contains("HTTP 409"), "\(twice.stderr)")
        #expect(twice.stderr.split(separator: "\n").count == 1, "one line: \(twice.stderr)")
        let badCloud = try Self.run("utmctl", ["activate", "--cloud", "nowhere", "--serial", "S", "--code", "C"])
        #expect(badCloud.status != 0 && badCloud.stderr.contains("HOST:PORT"), "\(badCloud.stderr)")

        let cmd = try Self.run("mimamori-cloud", ["command", "--data", data, "MMR-0700", "reboot-at", "2026-12-07T03:00:00+09:00"])
        #expect(cmd.status == 0 && cmd.stdout.contains("queued"), "\(cmd.stderr)")
        let bad = try Self.run("mimamori-cloud", ["command", "--data", data, "MMR-0700", "frobnicate"])
        #expect(bad.status == 1 && bad.stderr.contains("unknown command frobnicate"))
        let status = try Self.run("mimamori-cloud", ["status", "--data", data, "MMR-0700"])
        #expect(status.status == 0 && status.stdout.contains("pending commands: 1 reboot 2026-12-07T03:00:00+09:00"), "\(status.stdout)")
    }
}
