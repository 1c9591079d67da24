import Foundation

/// Key files: one hex line each. `NAME.pub` holds a 32-byte Ed25519 public key; a private key
/// file (`utmctl defs keygen`) holds the 32-byte seed and is never committed or put on a box.
extension Keyring {
    /// Every `*.pub` file in `directory`. Unreadable or malformed files are errors naming the file.
    public static func load(directory: String) throws -> Keyring {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var keys: [[UInt8]] = []
        for n in names.sorted() where n.hasSuffix(".pub") {
            keys.append(try readKey(directory + "/" + n, length: 32))
        }
        guard !keys.isEmpty else { throw UpdateError("keyring: no *.pub key in \(directory)") }
        return Keyring(keys: keys)
    }

    /// Public keys from files and/or directories.
    public static func load(paths: [String]) throws -> Keyring {
        var keys: [[UInt8]] = []
        for p in paths {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), isDir.boolValue {
                keys += try load(directory: p).keys
            } else {
                keys.append(try readKey(p, length: 32))
            }
        }
        return Keyring(keys: keys)
    }

    public static func readKey(_ path: String, length: Int) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw UpdateError("key: cannot read \(path)") }
        let text = String(decoding: data, as: UTF8.self).split(separator: "\n").first { !$0.hasPrefix("#") } ?? ""
        guard let key = unhex(String(text)), key.count == length else {
            throw UpdateError("key: \(path) is not \(length) bytes of hex")
        }
        return key
    }
}
