import Foundation
import Testing
@testable import UTMCloudClient
import UTMCloudService
import UTMStore
#if canImport(Glibc)
import Glibc
#endif

/// Collects log lines from several threads.
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    var all: [String] { lock.withLock { lines } }
    func add(_ s: String) { lock.withLock { lines.append(s) } }
    var sink: @Sendable (String) -> Void { { [self] in add($0) } }
    func count(_ needle: String) -> Int { all.filter { $0.contains(needle) }.count }
}

/// A wall clock the tests move by hand (microseconds).
final class MovableClock: @unchecked Sendable {
    private let lock = NSLock()
    private var offset: Int64 = 0
    func advance(seconds: Int64) { lock.withLock { offset += seconds * 1_000_000 } }
    var now: Int64 { lock.withLock { offset } + Int64(Date().timeIntervalSince1970 * 1_000_000) }
}

/// Records commands the way the daemon's handler would receive them.
final class RecordingHandler: CloudCommandHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var got: [CloudCommand] = []
    var commands: [CloudCommand] { lock.withLock { got } }
    func handle(_ command: CloudCommand) -> String {
        lock.withLock { got.append(command) }
        return "recorded"
    }
}

/// A cloud of its own per test: CA and server certificate made with openssl in a temporary
/// directory, the service on 127.0.0.1 at a port the kernel picks.
final class CloudFixture: @unchecked Sendable {
    let dir: String
    let log = LogLines()
    let clock = MovableClock()
    var config = CloudServiceConfig()
    let service: CloudService
    var server: CloudServer?
    var port: UInt16 = 0
    let ca: CertificateAuthority

    init(_ name: String) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("mimamori-cloud-\(getpid())-\(name)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        ca = CertificateAuthority(directory: dir + "/cloud")
        try ca.initialize(names: ["127.0.0.1"])
        config.dataDirectory = dir + "/cloud"
        config.listenHost = "127.0.0.1"
        config.port = 0
        config.timeout = 3
        config.heartbeatSeconds = 5
        config.uploadBatch = 4
        let clock = self.clock
        config.clock = { clock.now }
        service = try CloudService(config: config, log: log.sink)
    }

    func start() throws {
        // A restart listens on the port the kernel picked the first time.
        let s = try CloudServer(service: service, port: port)
        s.start()
        port = s.port
        server = s
    }

    func stop() {
        server?.stop()
        server = nil
    }

    var credentialsDir: String { dir + "/box/cloud" }
    var storePath: String { dir + "/box/events.db" }
    var evePath: String { dir + "/box/eve.json" }

    /// Provision + activation of one box.
    func activate(_ serial: String = "MMR-0001", emails: [String] = []) throws -> CloudCredentials {
        try FileManager.default.createDirectory(atPath: dir + "/box", withIntermediateDirectories: true)
        let code = try service.provision(serial: serial, emails: emails)
        return try CloudActivation.activate(host: "127.0.0.1", port: port, caFile: ca.caPath, serial: serial, code: code,
                                            directory: credentialsDir, timeout: 3)
    }

    func clientConfig() -> CloudClientConfig {
        var c = CloudClientConfig()
        c.credentialsDirectory = credentialsDir
        c.storePath = storePath
        c.evePath = evePath
        c.heartbeatSeconds = 0.3
        c.backoffBase = 0.05
        c.backoffCap = 0.4
        c.timeout = 2
        c.tick = 0.05
        return c
    }

    func appendEVE(_ lines: [String]) throws {
        let fd = open(evePath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        defer { close(fd) }
        let text = lines.map { $0 + "\n" }.joined()
        _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
    }

    deinit {
        server?.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

/// Polls `condition` every 20 ms for up to `seconds`.
/// A throwing condition counts as not yet.
func eventually(_ seconds: Double = 15, _ condition: () throws -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if (try? condition()) == true { return true }
        usleep(20_000)
    }
    return (try? condition()) == true
}

enum EVE {
    static func alert(_ n: Int, severity: Int = 2) -> String {
        let t = String(format: "2026-01-01T00:%02d:%02d.000000+0000", n / 60 % 60, n % 60)
        return """
            {"timestamp":"\(t)","flow_id":\(n + 1),"event_type":"alert","src_ip":"192.168.10.40","src_port":50000,"dest_ip":"198.51.100.7","dest_port":80,"proto":"TCP","alert":{"action":"allowed","signature_id":\(n),"signature":"rule \(n)","category":"test","severity":\(severity)}}
            """
    }

    /// Events whose non-metadata fields carry MARKER-7f3a: payloads, headers, bodies, file bytes.
    static let marked = [
        """
        {"timestamp":"2026-01-10T09:00:00.000000+0000","flow_id":101,"event_type":"alert","src_ip":"192.168.10.30","src_port":50000,"dest_ip":"198.51.100.7","dest_port":80,"proto":"TCP","ether":{"src_mac":"AA:BB:CC:00:00:30","dest_mac":"aa-bb-cc-00-00-01"},"alert":{"action":"blocked","gid":1,"signature_id":2019401,"rev":3,"signature":"ET MALWARE Evil CnC Beacon","category":"A Network Trojan was detected","severity":1},"http":{"hostname":"evil.example","url":"/gate.php?id=7","http_user_agent":"MARKER-7f3a-UA","request_headers":[{"name":"Cookie","value":"MARKER-7f3a-COOKIE"}]},"payload":"TUFSS0VSLTdmM2EtUEFZTE9BRA==","payload_printable":"MARKER-7f3a-PAYLOAD","http_request_body":"MARKER-7f3a-BODY","packet":"MARKER-7f3a-PACKET"}
        """,
        """
        {"timestamp":"2026-01-10T09:05:00.000000+0000","flow_id":103,"event_type":"fileinfo","src_ip":"198.51.100.8","src_port":80,"dest_ip":"192.168.10.30","dest_port":50001,"proto":"TCP","http":{"hostname":"dl.example","url":"/eicar.com","http_user_agent":"MARKER-7f3a-UA2"},"fileinfo":{"filename":"/eicar.com","magic":"MARKER-7f3a-MAGIC","sha256":"275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f","size":68,"virus":"Eicar-Test-Signature","state":"CLOSED","stored":false,"data":"MARKER-7f3a-FILEBYTES"},"file_content":"MARKER-7f3a-FILE"}
        """,
        """
        {"timestamp":"2026-01-10T09:10:00.000000+0000","flow_id":105,"event_type":"tls","src_ip":"192.168.10.32","src_port":50020,"dest_ip":"198.51.100.20","dest_port":443,"proto":"TCP","app_proto":"tls","tls":{"sni":"login.phish.example","version":"TLS 1.3","ja3":{"string":"MARKER-7f3a-JA3"}},"web_filter":{"category":"security","categories":["phishing"],"action":"blocked"},"payload_printable":"MARKER-7f3a-HELLO"}
        """,
    ]
}
