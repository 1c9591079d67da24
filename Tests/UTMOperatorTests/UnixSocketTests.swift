import Foundation
import Testing
import UTMSystem

/// The control socket's system wrapper with hostile and clumsy peers: split and oversize
/// lines, a stale socket file, a second daemon on the same path, the 0600 mode.
@Suite struct UnixSocketTests {
    static func path(_ name: String) -> String { NSTemporaryDirectory() + "op-sock-\(getpid())-\(name).sock" }

    @Test func linesSplitAcrossWritesAndOversizeLines() throws {
        let p = Self.path("lines")
        let listener = try UnixListener(path: p)
        defer { listener.close() }
        let mode = (try FileManager.default.attributesOfItem(atPath: p)[.posixPermissions] as? Int) ?? 0
        #expect(mode == 0o600)
        let client = try UnixConnection.connect(path: p)
        let server = try #require(listener.accept(timeoutMilliseconds: 1000))
        // One request in three pieces, then two in one write.
        try client.write("{\"comm")
        try client.write("and\":\"sta")
        try client.write("tus\"}\n{\"a\":1}\n{\"b\":2}\n")
        #expect(server.readLine(timeoutMilliseconds: 1000) == "{\"command\":\"status\"}")
        #expect(server.readLine(timeoutMilliseconds: 1000) == "{\"a\":1}")
        #expect(server.readLine(timeoutMilliseconds: 1000) == "{\"b\":2}")
        // Nothing more: a time limit, not a hang.
        #expect(server.readLine(timeoutMilliseconds: 100) == nil)
        // A line beyond the limit is refused instead of buffered forever.
        try client.write(String(repeating: "x", count: 70_000))
        #expect(server.readLine(limit: 64 << 10, timeoutMilliseconds: 500) == nil)
        client.close()
        server.close()
    }

    @Test func staleFileReplacedLiveSocketRefused() throws {
        let p = Self.path("stale")
        // A socket file left by a killed daemon: nobody listens, so a new daemon takes the path.
        let first = try UnixListener(path: p)
        let fd = open(p, O_RDONLY) // keep nothing; just prove the file is there
        if fd >= 0 { close(fd) }
        #expect(FileManager.default.fileExists(atPath: p))
        // While the first one listens, a second daemon must not steal the path.
        #expect(throws: SystemError.self) { _ = try UnixListener(path: p) }
        first.close()
        #expect(!FileManager.default.fileExists(atPath: p))
        // Left-over file (not removed, e.g. after SIGKILL): bind succeeds over it.
        _ = FileManager.default.createFile(atPath: p, contents: Data())
        let second = try UnixListener(path: p)
        second.close()
    }

    @Test func connectToNothingSaysWhy() {
        do {
            _ = try UnixConnection.connect(path: Self.path("none"))
            Issue.record("connected to nothing")
        } catch let e as SystemError {
            #expect(e.code == ENOENT)
        } catch {
            Issue.record("\(error)")
        }
        #expect(throws: SystemError.self) { _ = try UnixConnection.connect(path: "/" + String(repeating: "a", count: 200)) }
    }
}
