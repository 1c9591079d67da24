import UTMCore

/// Server-name suffix table: every registered pattern ("googlevideo.com") matches the name
/// itself and every subdomain ("r3---sn-x.googlevideo.com"); the longest match wins.
///
/// Built once at init as an open-addressing hash table over the reversed, lower-cased pattern
/// bytes. A lookup walks the name from its end, updating one hash, and probes the table at each
/// label boundary: no allocation, one pass over the name, bytes compared only on a hash hit.
struct NameTable: Sendable {
    struct Entry: Sendable {
        var hash: UInt32 = 0
        var offset: UInt32 = 0
        var length: UInt16 = 0
        var app: AppID = .unknown
    }

    private var entries: [Entry]
    /// Pattern bytes (lower case, in reading order), referenced by entries.
    private var bytes: [UInt8]
    private let mask: Int
    /// Patterns that were registered twice; the first registration wins (checked by a test).
    private(set) var duplicates: [(String, AppID, AppID)] = []
    private(set) var count = 0

    static let seed: UInt32 = 0x811c_9dc5
    @inline(__always) static func step(_ h: UInt32, _ b: UInt8) -> UInt32 {
        (h ^ UInt32(asciiLower(b))) &* 0x0100_0193
    }

    init(_ patterns: [(StaticString, AppID)]) {
        var size = 16
        while size < patterns.count * 3 { size <<= 1 }
        entries = Array(repeating: Entry(), count: size)
        bytes = []
        mask = size - 1
        for (p, app) in patterns { insert(p.byteView, app) }
    }

    private mutating func insert(_ raw: ByteView, _ app: AppID) {
        // Normalise: lower case, no leading "*." or ".", no trailing dot.
        var v = raw
        if v.starts(with: ("*." as StaticString).byteView) { v = v.dropFirst(2) }
        while v.u8(0) == UInt8(ascii: ".") { v = v.dropFirst(1) }
        while v.count > 0, v.u8(v.count - 1) == UInt8(ascii: ".") { v = v.prefix(v.count - 1) }
        guard v.count > 0, v.count < Int(UInt16.max) else { return }
        var h = NameTable.seed
        var i = v.count - 1
        while i >= 0 { h = NameTable.step(h, v[checked: i]); i -= 1 }
        var slot = Int(h) & mask
        while entries[slot].length != 0 {
            if entries[slot].hash == h, matches(entries[slot], v) {
                if entries[slot].app != app {
                    duplicates.append((String(decoding: v.bytes, as: UTF8.self), entries[slot].app, app))
                }
                return
            }
            slot = (slot + 1) & mask
        }
        let offset = bytes.count
        v.forEachByte { bytes.append(asciiLower($0)) }
        entries[slot] = Entry(hash: h, offset: UInt32(offset), length: UInt16(v.count), app: app)
        count += 1
    }

    @inline(__always)
    private func matches(_ e: Entry, _ name: ByteView) -> Bool {
        guard Int(e.length) == name.count else { return false }
        var i = 0
        let o = Int(e.offset)
        while i < name.count {
            if bytes[o + i] != asciiLower(name[checked: i]) { return false }
            i += 1
        }
        return true
    }

    /// The app of the longest registered suffix of `name` on a label boundary, or `.unknown`.
    /// Ignores a trailing dot and a ":port".
    func lookup(_ raw: ByteView) -> AppID {
        var end = raw.count
        // Strip ":port" (HTTP Host) when everything after the last colon is digits and there
        // is exactly one colon (not an IPv6 literal).
        if let colon = raw.firstIndex(of: UInt8(ascii: ":")),
           raw.firstIndex(of: UInt8(ascii: ":"), from: colon + 1) == nil {
            end = colon
        }
        while end > 0, raw.u8(end - 1) == UInt8(ascii: ".") { end -= 1 }
        guard end > 0, end < 512 else { return .unknown }
        let name = raw.prefix(end)
        var best = AppID.unknown
        var h = NameTable.seed
        var i = end - 1
        while i >= 0 {
            let b = name[checked: i]
            h = NameTable.step(h, b)
            if i == 0 || name[checked: i - 1] == UInt8(ascii: ".") {
                if let app = probe(h, name.suffix(from: i) ?? .empty) { best = app }
            }
            i -= 1
        }
        return best
    }

    @inline(__always)
    private func probe(_ h: UInt32, _ v: ByteView) -> AppID? {
        var slot = Int(h) & mask
        while true {
            let e = entries[slot]
            if e.length == 0 { return nil }
            if e.hash == h, matches(e, v) { return e.app }
            slot = (slot + 1) & mask
        }
    }
}
