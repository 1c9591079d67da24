/// The payload of a definition artifact: a few named files (rule files, signature databases,
/// a compiled category database). Format (big-endian): count u32, then per file: name length
/// u16, name (UTF-8), data length u64, data. Nothing may follow the last file.
///
/// Why not tar: the names must be plain file names (no '/', no "..", no leading '.') and every
/// length checked against what is left — a 40-line format is easier to prove that of than a
/// tar reader. Fuzzed with the artifact header (Fuzz/FuzzArtifact.swift).
public enum PayloadArchive {
    public static let maxFiles = 256

    public static func encode(_ files: [(name: String, bytes: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        let n = UInt32(files.count)
        out += [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)]
        for f in files {
            let name = Array(f.name.utf8)
            out += [UInt8(name.count >> 8 & 0xff), UInt8(name.count & 0xff)]
            out += name
            put64(&out, UInt64(f.bytes.count))
            out += f.bytes
        }
        return out
    }

    public static func decode(_ bytes: [UInt8]) throws(ArtifactError) -> [(name: String, bytes: [UInt8])] {
        func bad(_ r: String) -> ArtifactError { ArtifactError(.badPayload, "payload: \(r)") }
        guard bytes.count >= 4 else { throw bad("truncated (no file count)") }
        let count = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        guard count <= maxFiles else { throw bad("\(count) files, at most \(maxFiles)") }
        var at = 4
        var files: [(name: String, bytes: [UInt8])] = []
        for i in 0 ..< count {
            guard bytes.count - at >= 2 else { throw bad("file \(i + 1): truncated name length") }
            let nameLength = Int(bytes[at]) << 8 | Int(bytes[at + 1])
            at += 2
            guard nameLength > 0, bytes.count - at >= nameLength else { throw bad("file \(i + 1): truncated name") }
            guard let name = String(validating: bytes[at ..< at + nameLength], as: UTF8.self), isSafeName(name) else {
                throw bad("file \(i + 1): unsafe file name")
            }
            at += nameLength
            guard bytes.count - at >= 8 else { throw bad("\(name): truncated length") }
            let length = be64(bytes, at)
            at += 8
            guard length <= UInt64(bytes.count - at) else { throw bad("\(name): \(length) bytes, only \(bytes.count - at) left") }
            files.append((name, Array(bytes[at ..< at + Int(length)])))
            at += Int(length)
            if files.dropLast().contains(where: { $0.name == name }) { throw bad("\(name) appears twice") }
        }
        guard at == bytes.count else { throw bad("\(bytes.count - at) bytes after the last file") }
        return files
    }

    /// A plain file name: 1-255 bytes, no '/', no NUL, not starting with '.'.
    public static func isSafeName(_ name: String) -> Bool {
        let u = Array(name.utf8)
        return !u.isEmpty && u.count <= 255 && u[0] != UInt8(ascii: ".") && !u.contains(UInt8(ascii: "/")) && !u.contains(0)
    }
}
