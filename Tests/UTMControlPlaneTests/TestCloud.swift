import Foundation
import UTMCloudClient
import UTMCloudService
import UTMCrypto
import UTMUpdate

/// The vendor's side for one test: a signing key (made per run), the reference cloud on
/// 127.0.0.1 at a port the kernel picks, and a box folder (`BoxPaths(root:)`) to activate.
final class TestCloud: @unchecked Sendable {
    let dir: String
    let paths: BoxPaths
    let privateKey: [UInt8]
    let publicKey: [UInt8]
    let keyring: Keyring
    let ca: CertificateAuthority
    let service: CloudService
    private(set) var server: CloudServer?
    private(set) var port: UInt16 = 0
    let cloudLog = Lines()
    let now = UInt64(Date().timeIntervalSince1970)

    init(_ name: String) throws {
        dir = FileManager.default.temporaryDirectory.path + "/mimamori-cp-\(name)-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        paths = BoxPaths(root: dir + "/box")
        for d in [paths.stateDirectory, paths.logDirectory, paths.configDirectory, dir + "/box/firmware", paths.keysDirectory] {
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        }
        guard let pair = Ed25519.generateKeyPair() else { throw CloudError("key generation failed") }
        privateKey = pair.privateKey
        publicKey = pair.publicKey
        keyring = Keyring(keys: [pair.publicKey])
        try Data((hex(pair.publicKey) + "\n").utf8).write(to: URL(fileURLWithPath: paths.keysDirectory + "/vendor.pub"))
        ca = CertificateAuthority(directory: dir + "/cloud")
        try ca.initialize(names: ["127.0.0.1"])
        var cc = CloudServiceConfig()
        cc.dataDirectory = dir + "/cloud"
        cc.listenHost = "127.0.0.1"
        cc.port = 0
        cc.timeout = 3
        cc.uploadBatch = 4
        service = try CloudService(config: cc, log: cloudLog.sink)
    }

    /// Starts (or restarts, on the same port) the server.
    func start() throws {
        let s = try CloudServer(service: service, port: port)
        s.start()
        port = s.port
        server = s
    }

    func stop() {
        server?.stop()
        server = nil
    }

    /// Provision + activation, credentials where the box (and the wipe) keeps them.
    func activate(_ serial: String) throws {
        let code = try service.provision(serial: serial)
        _ = try CloudActivation.activate(host: "127.0.0.1", port: port, caFile: ca.caPath, serial: serial, code: code,
                                         directory: paths.credentialsDirectory, timeout: 3)
    }

    func sign(_ kind: ArtifactKind, _ seq: UInt64, _ payload: [UInt8]) throws -> [UInt8] {
        guard let a = SignedArtifact.sign(kind: kind, sequence: seq, created: now - 60, expires: now + 86_400,
                                          payload: payload, privateKey: privateKey) else { throw CloudError("signing failed") }
        return a
    }

    func rules(_ seq: UInt64, _ text: String) throws -> [UInt8] {
        try sign(.ips, seq, PayloadArchive.encode([("local.rules", Array(text.utf8))]))
    }

    deinit {
        server?.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

/// Log lines from several threads.
final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    var sink: @Sendable (String) -> Void { { [self] s in lock.withLock { lines.append(s) } } }
    func count(_ needle: String) -> Int { lock.withLock { lines.filter { $0.contains(needle) }.count } }
}

/// Polls every 20 ms for up to `seconds`; a throwing condition counts as not yet.
func eventually(_ seconds: Double = 20, _ condition: () throws -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if (try? condition()) == true { return true }
        usleep(20_000)
    }
    return false
}
