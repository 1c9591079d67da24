import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The box's cloud identity, written at activation into one directory (0700, files 0600):
///
///     cloud.json   host, port, serial and the settings the cloud gave (CloudCredentials.Info)
///     ca.pem       the cloud's CA: the only one the box trusts for the cloud (pinned)
///     client.pem   the device certificate (CN = serial)
///     client.key   its private key
///
/// A factory wipe deletes the directory: the box is unactivated again.
public struct CloudCredentials: Sendable, Equatable {
    public struct Info: Codable, Sendable, Equatable {
        public var host: String
        public var port: UInt16
        public var serial: String
        public var settings: CloudSettings
    }

    public var directory: String
    public var info: Info

    public var caPath: String { directory + "/ca.pem" }
    public var certificatePath: String { directory + "/client.pem" }
    public var keyPath: String { directory + "/client.key" }
    static func infoPath(_ dir: String) -> String { dir + "/cloud.json" }

    public static let defaultDirectory = "/var/lib/mimamori/cloud"

    /// Whether `directory` holds an activation.
    public static func isActivated(_ directory: String) -> Bool {
        FileManager.default.fileExists(atPath: infoPath(directory))
    }

    /// Reads an activation back; one-line errors name the file.
    public static func load(_ directory: String) throws -> CloudCredentials {
        let path = infoPath(directory)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CloudError("\(path): not activated (run utmctl activate)")
        }
        guard let info = try? JSONDecoder().decode(Info.self, from: data) else {
            throw CloudError("\(path): unreadable activation record")
        }
        let c = CloudCredentials(directory: directory, info: info)
        for f in [c.caPath, c.certificatePath, c.keyPath] where !FileManager.default.fileExists(atPath: f) {
            throw CloudError("\(f): missing (activate again)")
        }
        return c
    }

    /// Writes the activation: each file 0600 from the start (never briefly readable), the
    /// record last and renamed into place, so a half-written activation is no activation.
    static func save(directory: String, info: Info, ca: [UInt8], response: ActivationResponse) throws -> CloudCredentials {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw CloudError("\(directory): cannot create: \(String(cString: strerror(errno)))")
        }
        chmod(directory, 0o700)
        let c = CloudCredentials(directory: directory, info: info)
        try writePrivate(c.caPath, ca)
        try writePrivate(c.certificatePath, Array(response.certificate.utf8))
        try writePrivate(c.keyPath, Array(response.key.utf8))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writePrivate(infoPath(directory), Array(try encoder.encode(info)))
        return c
    }

    /// Write to a 0600 temporary, fsync, rename.
    static func writePrivate(_ path: String, _ bytes: [UInt8]) throws {
        let tmp = path + ".tmp"
        unlink(tmp)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CloudError("\(tmp): cannot create: \(String(cString: strerror(errno)))") }
        fchmod(fd, 0o600)
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n <= 0 {
                let e = String(cString: strerror(errno))
                close(fd)
                throw CloudError("\(tmp): write failed: \(e)")
            }
            off += n
        }
        fsync(fd)
        close(fd)
        guard rename(tmp, path) == 0 else { throw CloudError("\(path): rename failed: \(String(cString: strerror(errno)))") }
    }

    /// Factory wipe of the identity [000 7.5].
    public static func wipe(_ directory: String) throws {
        guard FileManager.default.fileExists(atPath: directory) else { return }
        try FileManager.default.removeItem(atPath: directory)
    }
}
