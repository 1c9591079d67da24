import Foundation
import Testing
@testable import UTMCloudClient
import UTMCloudService
import UTMStore
#if canImport(Glibc)
import Glibc
#endif

/// A TLS server under the test's control, with the fixture's real server certificate: it
/// answers each connection with whatever bytes the test wants (or nothing at all).
final class RawTLSServer: @unchecked Sendable {
    let fd: Int32
    let port: UInt16
    let context: TLSContext
    let answer: @Sendable () -> [UInt8]?
    let hold: Double
    /// Seconds between bytes: the answer trickles out one byte at a time.
    let dribble: Double

    init(certificate: String, key: String, ca: String, hold: Double = 0, dribble: Double = 0,
         answer: @escaping @Sendable () -> [UInt8]?) throws {
        self.dribble = dribble
        context = try TLSContext(serverCertificate: certificate, key: key, clientCA: ca)
        self.answer = answer
        self.hold = hold
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        fd = sock
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, len) } }
        listen(sock, 8)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &len) } }
        port = UInt16(bigEndian: addr.sin_port)
        let t = Thread { [self] in
            while true {
                let c = accept(fd, nil, nil)
                if c < 0 { return }
                Thread { [self] in
                    guard let s = try? TLSStream.accept(fd: c, context: context, peer: "test", timeout: 5) else { return }
                    _ = try? HTTPMessage.read(isResponse: false) { try s.read(max: 16384) }
                    if let bytes = answer(), dribble > 0 {
                        for b in bytes {
                            guard (try? s.write([b])) != nil else { break }
                            usleep(UInt32(dribble * 1_000_000))
                        }
                    } else if let bytes = answer() {
                        try? s.write(bytes)
                    } else {
                        usleep(UInt32(hold * 1_000_000)) // say nothing: the client must time out
                    }
                    s.close()
                }.start()
            }
        }
        t.start()
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}

@Suite(.serialized) struct CloudHostileTests {
    /// The box trusts only the CA it was activated with: another CA's server — even with a
    /// valid certificate for the same address — gets nothing, not even the activation.
    @Test func wrongServerCertificateIsRejected() throws {
        let real = try CloudFixture("pin-real")
        try real.start()
        let creds = try real.activate()
        let rogue = try CloudFixture("pin-rogue")
        let seen = LockedBodies()
        rogue.service.onRequest = { _, r in seen.add(r.body) }
        try rogue.start()

        let context = try TLSContext(clientCA: creds.caPath, certificate: creds.certificatePath, key: creds.keyPath)
        let transport = CloudTransport(host: "127.0.0.1", port: rogue.port, context: context, timeout: 3)
        do {
            _ = try transport.post(CloudAPI.heartbeatPath, Heartbeat(), as: HeartbeatResponse.self)
            Issue.record("a server outside the pinned CA was accepted")
        } catch let e as CloudError {
            #expect(e.description.contains("certificate verify failed"), "\(e)")
        }
        // Activation pinned to the real CA refuses the rogue cloud too.
        let code = try rogue.service.provision(serial: "MMR-0002")
        #expect(throws: CloudError.self) {
            _ = try CloudActivation.activate(host: "127.0.0.1", port: rogue.port, caFile: real.ca.caPath, serial: "MMR-0002",
                                             code: code, directory: rogue.dir + "/box2", timeout: 3)
        }
        #expect(seen.all.isEmpty, "the rogue server read a request")
        // The right CA but the wrong name: the certificate says 127.0.0.1, not localhost.
        let byName = CloudTransport(host: "localhost", port: real.port, context: context, timeout: 3)
        #expect(throws: CloudError.self) { _ = try byName.post(CloudAPI.heartbeatPath, Heartbeat(), as: HeartbeatResponse.self) }
        // And a box without a client certificate gets no heartbeat in.
        let anonymous = CloudTransport(host: "127.0.0.1", port: real.port, context: try TLSContext(clientCA: creds.caPath), timeout: 3)
        do {
            _ = try anonymous.post(CloudAPI.heartbeatPath, Heartbeat(), as: HeartbeatResponse.self)
            Issue.record("a heartbeat without a client certificate was taken")
        } catch let e as CloudError {
            #expect(e.description.contains("HTTP 401"), "\(e)")
        }
        // A configured host other than the activated one: the client refuses to start.
        var c = real.clientConfig()
        c.expectedHost = "198.51.100.1"
        #expect(throws: CloudError.self) { _ = try CloudClient(config: c, handler: LoggingCommandHandler(log: { _ in }), log: { _ in }) }
    }

    @Test(arguments: [
        ("garbage", "malformed HTTP status line"),
        ("oversized", "over the"),
        ("badjson", "malformed answer"),
        ("longhead", "header longer"),
        ("truncated", "body bytes"),
        ("silent", "timed out"),
        ("refusal", "HTTP 500"),
        ("dribble", "not complete within"),
    ])
    func malformedAnswersAreOneLineAndBackoff(kind: String, expected: String) throws {
        let f = try CloudFixture("hostile-\(kind)")
        try f.start()
        let creds = try f.activate()
        let answer: @Sendable () -> [UInt8]? = {
            switch kind {
            case "garbage": return Array("SSH-2.0-OpenSSH\r\n\r\n".utf8)
            case "oversized": return Array("HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\n{".utf8)
            case "badjson": return Array("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n{\"x\":[1,".utf8)
            case "longhead": return Array(("HTTP/1.1 200 OK\r\nX-A: " + String(repeating: "a", count: 40000)).utf8)
            case "truncated": return Array("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"commands\":".utf8)
            case "refusal": return Array("HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n".utf8)
            case "dribble": return Array("HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"commands\":[]}".utf8)
            default: return nil
            }
        }
        let server = try RawTLSServer(certificate: f.ca.serverCertificatePath, key: f.ca.serverKeyPath, ca: f.ca.caPath,
                                      hold: 2, dribble: kind == "dribble" ? 0.2 : 0, answer: answer)
        defer { server.stop() }
        let context = try TLSContext(clientCA: creds.caPath, certificate: creds.certificatePath, key: creds.keyPath)
        let transport = CloudTransport(host: "127.0.0.1", port: server.port, context: context, timeout: 0.5)
        do {
            _ = try transport.post(CloudAPI.heartbeatPath, Heartbeat(), as: HeartbeatResponse.self)
            Issue.record("\(kind) was accepted")
        } catch let e as CloudError {
            #expect(e.description.contains(expected), "\(e)")
            #expect(!e.description.contains("\n"), "one line: \(e)")
        }

        // The client loop: one log line per failure, then it waits (backoff) instead of hammering.
        var info = creds.info
        info.port = server.port
        try CloudCredentials.writePrivate(f.credentialsDir + "/cloud.json", Array(try JSONEncoder().encode(info)))
        let log = LogLines()
        var config = f.clientConfig()
        config.timeout = 0.5
        config.backoffBase = 30
        let client = try CloudClient(config: config, handler: LoggingCommandHandler(log: { _ in }), log: log.sink)
        client.runOnce()
        client.runOnce() // within the backoff: no second attempt
        #expect(client.stats.failures == 1)
        #expect(log.all.count == 1 && log.all[0].contains(expected) && log.all[0].contains("retry in"), "\(log.all)")
    }

    @Test func backoffGrowsWithJitterAndResets() {
        var b = Backoff(base: 1, cap: 60)
        let waits = (0 ..< 8).map { _ in b.fail() }
        for (i, w) in waits.enumerated() {
            let raw = min(60, pow(2, Double(i)))
            #expect(w >= raw * 0.5 && w <= raw, "attempt \(i): \(w)")
        }
        b.succeed()
        #expect(b.fail() <= 1)
    }

    @Test func httpReaderHandlesSplitAndTruncatedInput() throws {
        let whole = Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhello".utf8)
        for cut in 1 ..< whole.count {
            var parts = [Array(whole[..<cut]), Array(whole[cut...])]
            let m = try HTTPMessage.read(isResponse: true) { parts.isEmpty ? [] : parts.removeFirst() }
            #expect(m.status == 200 && m.body == Array("hello".utf8) && m.headers["x"] == "y")
            var truncated = [Array(whole[..<cut])]
            #expect(throws: CloudError.self) { _ = try HTTPMessage.read(isResponse: true) { truncated.isEmpty ? [] : truncated.removeFirst() } }
        }
    }
}
