import Foundation
import UTMCloudClient

/// The cloud's CA and certificates, made with the `openssl` command (Debian's openssl
/// package): a reference service, not an HSM. Files in the service's data directory:
/// `ca.key`/`ca.pem` (the CA every box pins), `server.key`/`server.pem` (what boxes connect
/// to; its names are the addresses boxes use). Device certificates are issued at activation
/// with CN = serial and clientAuth only.
public struct CertificateAuthority: Sendable {
    public let directory: String
    public var caPath: String { directory + "/ca.pem" }
    var caKeyPath: String { directory + "/ca.key" }
    public var serverCertificatePath: String { directory + "/server.pem" }
    public var serverKeyPath: String { directory + "/server.key" }

    public init(directory: String) { self.directory = directory }

    public var exists: Bool { FileManager.default.fileExists(atPath: caPath) }

    /// Makes the CA and a server certificate for `names` (IP addresses or DNS names).
    public func initialize(names: [String], caName: String = "Mimamori Cloud CA") throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        guard !exists else { throw CloudError("\(caPath) exists already: the CA is made once (boxes pin it)") }
        try Self.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                          "-keyout", caKeyPath, "-out", caPath, "-days", "7300", "-subj", "/CN=\(caName)",
                          "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        let sans = names.map { Self.isIP($0) ? "IP:\($0)" : "DNS:\($0)" }.joined(separator: ",")
        try issue(commonName: names.first ?? "localhost", extensions: "subjectAltName=\(sans)\nextendedKeyUsage=serverAuth\n",
                  certificate: serverCertificatePath, key: serverKeyPath)
    }

    /// A device certificate and key (PEM texts) for `serial`.
    public func issueDevice(serial: String) throws -> (certificate: String, key: String) {
        let tmp = NSTemporaryDirectory() + "/mimamori-issue-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        try issue(commonName: serial, extensions: "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n",
                  certificate: tmp + "/c.pem", key: tmp + "/c.key")
        return (try String(contentsOfFile: tmp + "/c.pem", encoding: .utf8), try String(contentsOfFile: tmp + "/c.key", encoding: .utf8))
    }

    func issue(commonName: String, extensions: String, certificate: String, key: String) throws {
        let csr = certificate + ".csr", ext = certificate + ".ext"
        defer {
            try? FileManager.default.removeItem(atPath: csr)
            try? FileManager.default.removeItem(atPath: ext)
        }
        try extensions.write(toFile: ext, atomically: true, encoding: .utf8)
        try Self.openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                          "-keyout", key, "-out", csr, "-subj", "/CN=\(commonName)"])
        let serial = "0x" + (0 ..< 16).map { _ in String(format: "%02x", UInt8.random(in: 0 ... 255)) }.joined()
        try Self.openssl(["x509", "-req", "-in", csr, "-CA", caPath, "-CAkey", caKeyPath, "-set_serial", serial,
                          "-days", "3650", "-out", certificate, "-extfile", ext])
        chmod(key, 0o600)
    }

    static func isIP(_ s: String) -> Bool {
        var buf = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, s, &buf) == 1 || inet_pton(AF_INET6, s, &buf) == 1
    }

    static func openssl(_ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = args
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        do { try p.run() } catch { throw CloudError("cannot run /usr/bin/openssl: \(error)") }
        let message = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            let first = String(decoding: message, as: UTF8.self).split(separator: "\n").first ?? ""
            throw CloudError("openssl \(args[0]) failed: \(first)")
        }
    }
}
