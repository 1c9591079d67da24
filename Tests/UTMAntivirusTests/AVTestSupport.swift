import Foundation
import UTMAntivirus
import UTMCore
import UTMInflate

/// Shared helpers: databases from text, scanning buffers in chunks, archives built in Swift.
enum AV {
    static let eicar = Array("X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*".utf8)
    static let unitInputs = "/work/shared/corpus/clamav-unit-tests/unit_tests/input"
    static let testFiles = "/usr/share/clamav-testfiles"

    static func db(_ lines: [(String, AVSignatureFormat)] = []) -> AVDatabase {
        var b = AVDatabaseBuilder()
        for (text, f) in lines { b.load(text, format: f) }
        return b.build()
    }

    /// Scans `bytes` split into pieces of `chunk` bytes (0 = one piece).
    static func scan(_ bytes: [UInt8], db: AVDatabase, chunk: Int = 0, config: AVScanConfig = .init(), type: AVFileType? = nil) -> AVScanResult {
        let s = FileScanSession(database: db, config: config)
        s.begin(declaredSize: -1, type: type)
        bytes.withUnsafeBytes { raw in
            let all = ByteView(raw)
            let step = chunk <= 0 ? Swift.max(1, all.count) : chunk
            var off = 0
            while off < all.count {
                s.feed(all.dropFirst(off).prefix(step))
                off += step
            }
        }
        return s.end()
    }

    static func name(_ r: AVScanResult) -> String? {
        if case .infected(let n) = r.verdict { return n }
        return nil
    }

    static func read(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { [UInt8]($0) }
    }

    /// Whether tests that need external data should fail (CI) or skip when it is missing.
    static var inCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    // MARK: Archive builders

    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xff), UInt8((v >> 8) & 0xff)] }
    static func le32(_ v: Int) -> [UInt8] { le16(v & 0xffff) + le16((v >> 16) & 0xffff) }

    /// A zip with local headers only (plus a central-directory signature at the end).
    /// `deflate` compresses; `descriptor` moves sizes into a data descriptor.
    static func zip(_ files: [(String, [UInt8])], deflate: Bool = true, descriptor: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        for (name, data) in files {
            let body = deflate ? Deflate.compress(data, format: .raw) : data
            let n = Array(name.utf8)
            out += [0x50, 0x4b, 3, 4] + le16(20) + le16(descriptor ? 8 : 0) + le16(deflate ? 8 : 0) + le32(0)
            out += le32(0)  // crc (not checked)
            out += descriptor ? le32(0) + le32(0) : le32(body.count) + le32(data.count)
            out += le16(n.count) + le16(0) + n + body
            if descriptor { out += [0x50, 0x4b, 7, 8] + le32(0) + le32(body.count) + le32(data.count) }
        }
        out += [0x50, 0x4b, 1, 2] + [UInt8](repeating: 0, count: 42)
        return out
    }

    static func octal(_ v: Int, _ width: Int) -> [UInt8] {
        var s = Array(String(v, radix: 8).utf8)
        while s.count < width - 1 { s.insert(0x30, at: 0) }
        return s + [0]
    }

    static func tar(_ files: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        for (name, data) in files {
            var h = [UInt8](repeating: 0, count: 512)
            let n = Array(name.utf8.prefix(99))
            h.replaceSubrange(0..<n.count, with: n)
            h.replaceSubrange(100..<108, with: octal(0o644, 8))
            h.replaceSubrange(124..<136, with: octal(data.count, 12))
            h[156] = 0x30
            h.replaceSubrange(257..<263, with: Array("ustar\0".utf8))
            h.replaceSubrange(148..<156, with: [UInt8](repeating: 0x20, count: 8))
            let sum = h.reduce(0) { $0 + Int($1) }
            h.replaceSubrange(148..<156, with: octal(sum, 7) + [0x20])
            out += h + data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
        }
        return out + [UInt8](repeating: 0, count: 1024)
    }

    static func hex8(_ v: Int) -> [UInt8] {
        var s = Array(String(v, radix: 16).uppercased().utf8)
        while s.count < 8 { s.insert(0x30, at: 0) }
        return s
    }

    static func cpioNewc(_ files: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        func entry(_ name: String, _ data: [UInt8], mode: Int) {
            let n = Array(name.utf8) + [0]
            out += Array("070701".utf8) + hex8(1) + hex8(mode) + hex8(0) + hex8(0) + hex8(1) + hex8(0)
            out += hex8(data.count) + hex8(0) + hex8(0) + hex8(0) + hex8(0) + hex8(n.count) + hex8(0)
            out += n
            while out.count % 4 != 0 { out.append(0) }
            out += data
            while out.count % 4 != 0 { out.append(0) }
        }
        for (name, data) in files { entry(name, data, mode: 0o100644) }
        entry("TRAILER!!!", [], mode: 0)
        return out
    }

    static func base64Lines(_ data: [UInt8]) -> String {
        Data(data).base64EncodedString(options: [.lineLength76Characters, .endLineWithLineFeed])
    }
}
