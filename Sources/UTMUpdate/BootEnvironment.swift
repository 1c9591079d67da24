import Foundation
import UTMSystem

/// The bootloader environment the A/B firmware update drives, file-backed in U-Boot's
/// redundant layout (what `fw_setenv` writes with CONFIG_ENV_OFFSET_REDUND): two copies, each
///
///     u32 CRC32 (little-endian, over the data area) | u8 flag (write counter) | data
///
/// where data is `name=value\0…\0\0`, zero-padded to `size - 5` bytes. A write goes to the copy
/// that is *not* the newest, with the counter one higher, and is fsynced; so a power cut in
/// the middle of a write leaves the other copy intact and it is used at the next boot.
/// On a box the two paths are the env partitions (e.g. /dev/mmcblk0p3 at two offsets, or
/// two files on the boot FAT); in tests, two plain files.
///
/// Variables (firmware/README.md): boot_slot (a|b), upgrade_available (0|1), bootcount,
/// bootlimit, fw_version_a/b, fw_sha256_a/b.
public struct BootEnvironment: Sendable {
    public static let defaultSize = 4096
    public static let defaults: [String: String] = ["boot_slot": "a", "upgrade_available": "0", "bootcount": "0",
                                                    "bootlimit": "3"]

    public let primary: String
    public let redundant: String
    public let size: Int
    public private(set) var variables: [String: String]
    /// Which copy is the newest valid one (0 primary, 1 redundant; -1 none: defaults in use).
    public private(set) var activeCopy: Int
    public private(set) var flag: UInt8
    /// Copies whose CRC did not match (or that were missing) at load.
    public private(set) var badCopies: [Int]

    /// Reads both copies and picks the newest valid one. Never fails on corrupt copies: with
    /// none valid, the defaults are used (as U-Boot falls back to its built-in environment).
    public static func load(primary: String, redundant: String, size: Int = defaultSize) -> BootEnvironment {
        var copies: [(vars: [String: String], flag: UInt8)?] = []
        for path in [primary, redundant] {
            copies.append(FileManager.default.contents(atPath: path).flatMap { decode([UInt8]($0), size: size) })
        }
        var env = BootEnvironment(primary: primary, redundant: redundant, size: size, variables: defaults,
                                  activeCopy: -1, flag: 0, badCopies: [])
        env.badCopies = (0 ..< 2).filter { copies[$0] == nil }
        let pick: Int?
        switch (copies[0], copies[1]) {
        case let (a?, b?): pick = newer(a.flag, than: b.flag) ? 0 : 1
        case (.some, nil): pick = 0
        case (nil, .some): pick = 1
        case (nil, nil): pick = nil
        }
        if let pick, let c = copies[pick] {
            env.variables = c.vars
            env.activeCopy = pick
            env.flag = c.flag
        }
        return env
    }

    /// U-Boot's rule: the higher counter wins, except that 0 is newer than 255 (wrap-around).
    static func newer(_ a: UInt8, than b: UInt8) -> Bool {
        if a == 0 && b == 255 { return true }
        if a == 255 && b == 0 { return false }
        return a >= b
    }

    public subscript(_ name: String) -> String? { variables[name] }

    public func number(_ name: String) -> Int { variables[name].flatMap { Int($0) } ?? 0 }

    /// Applies `changes` (nil removes a variable) and writes them to the older copy, durably.
    public mutating func update(_ changes: [String: String?]) throws {
        var vars = variables
        for (k, v) in changes {
            guard !k.isEmpty, !k.contains("="), !k.utf8.contains(0), !(v?.utf8.contains(0) ?? false) else {
                throw UpdateError("boot environment: invalid variable \(k)")
            }
            vars[k] = v
        }
        let newFlag = activeCopy < 0 ? 1 : flag &+ 1
        guard let bytes = Self.encode(vars, flag: newFlag, size: size) else {
            throw UpdateError("boot environment: variables do not fit in \(size) bytes")
        }
        let target = activeCopy == 0 ? 1 : 0
        try DurableFile.overwrite(bytes, at: target == 0 ? primary : redundant, truncate: false)
        variables = vars
        flag = newFlag
        activeCopy = target
        badCopies.removeAll { $0 == target }
    }

    static func encode(_ vars: [String: String], flag: UInt8, size: Int) -> [UInt8]? {
        var data: [UInt8] = []
        for k in vars.keys.sorted() { data += Array("\(k)=\(vars[k]!)".utf8); data.append(0) }
        data.append(0)
        guard data.count <= size - 5 else { return nil }
        data += [UInt8](repeating: 0, count: size - 5 - data.count)
        let crc = CRC32.checksum(data)
        return [UInt8(crc & 0xff), UInt8(crc >> 8 & 0xff), UInt8(crc >> 16 & 0xff), UInt8(crc >> 24), flag] + data
    }

    /// One copy's variables and flag; nil when short or the CRC does not match.
    static func decode(_ bytes: [UInt8], size: Int) -> (vars: [String: String], flag: UInt8)? {
        guard bytes.count >= size, size > 5 else { return nil }
        let data = bytes[5 ..< size]
        let stored = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
        guard CRC32.checksum(data) == stored else { return nil }
        var vars: [String: String] = [:]
        for entry in data.split(separator: 0, omittingEmptySubsequences: false) {
            if entry.isEmpty { break }
            let text = String(decoding: entry, as: UTF8.self)
            guard let eq = text.firstIndex(of: "=") else { continue }
            vars[String(text[..<eq])] = String(text[text.index(after: eq)...])
        }
        return (vars, bytes[4])
    }
}

/// CRC-32 (IEEE 802.3, reflected, as zlib and U-Boot's env use).
enum CRC32 {
    static let table: [UInt32] = (0 ..< 256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0 ..< 8 { c = c & 1 != 0 ? 0xedb8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var c: UInt32 = 0xffff_ffff
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xffff_ffff
    }
}
