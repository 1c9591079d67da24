import UTMCore

/// Which digest a `filemd5` / `filesha1` / `filesha256` list holds.
public enum FileHashKind: UInt8, Sendable, CaseIterable {
    case md5 = 0, sha1 = 1, sha256 = 2

    /// Digest length in bytes (16, 20, 32).
    public var length: Int {
        switch self {
        case .md5: 16
        case .sha1: 20
        case .sha256: 32
        }
    }

    public var keyword: String {
        switch self {
        case .md5: "filemd5"
        case .sha1: "filesha1"
        case .sha256: "filesha256"
        }
    }
}

/// A hash list of `filemd5:FILE` & co. (Suricata's format: one hex digest at the start of each
/// line, anything after it ignored, so `md5sum` output works; blank lines and `#` comments
/// skipped), loaded at rule load into one sorted flat array: `count` digests of
/// `kind.length` bytes, back to back. Why flat and sorted: a lookup is a binary search over
/// plain bytes (no allocation, no hashing per file), 16-32 bytes per entry as in Suricata, and
/// the whole list goes into the definitions bundle as one byte string.
public struct FileHashList: Sendable, Equatable {
    public let kind: FileHashKind
    /// Sorted, duplicates removed; `count * kind.length` bytes.
    public let digests: [UInt8]
    /// `filemd5:!FILE`: the rule matches a file whose digest is NOT in the list (an allow list).
    public let negated: Bool
    /// Where it was loaded from (for messages; not used for matching).
    public let path: String

    public var count: Int { digests.count / kind.length }

    /// From digests already sorted and unique (the bundle decoder checks that).
    public init(kind: FileHashKind, sortedDigests: [UInt8], negated: Bool, path: String) {
        self.kind = kind
        self.digests = sortedDigests
        self.negated = negated
        self.path = path
    }

    /// Parses list text as Suricata's hash list loader (`LoadHashTable`'s caller) does: a line
    /// that is empty or starts with `#`, a space or a tab is skipped; any other line is cut
    /// after the digest's 32/40/64 characters whatever follows (`<md5>,trojan` or
    /// `<md5>  name` load), and those characters must be hex. A line shorter than that or not
    /// hex is an error `path:line: reason`, as a bad rule is: a list that silently lost
    /// entries would let those files through.
    public static func parse(_ text: [UInt8], kind: FileHashKind, negated: Bool, path: String) throws(RuleError) -> FileHashList {
        let n = kind.length
        var entries: [[UInt8]] = []
        var line = 0
        var i = 0
        while i < text.count {
            line += 1
            var end = i
            while end < text.count && text[end] != 0x0A { end += 1 }
            let s = i
            var e = end
            if e > s && text[e - 1] == 0x0D { e -= 1 }
            i = end + 1
            if s >= e || text[s] == 0x23 || text[s] == 0x20 || text[s] == 0x09 { continue }
            var digest = [UInt8](repeating: 0, count: n)
            var k = 0
            var ok = e - s >= 2 * n
            while ok && k < n {
                if let hi = hexNibble(text[s + 2 * k]), let lo = hexNibble(text[s + 2 * k + 1]) {
                    digest[k] = hi << 4 | lo
                } else {
                    ok = false
                }
                k += 1
            }
            guard ok else {
                throw .invalid("\(path):\(line): not a \(2 * n)-digit hex \(kind == .md5 ? "MD5" : kind == .sha1 ? "SHA-1" : "SHA-256") at the start of the line")
            }
            entries.append(digest)
        }
        entries.sort { lexicographicallyPrecedes($0, $1) }
        var flat: [UInt8] = []
        flat.reserveCapacity(entries.count * n)
        var last: [UInt8]?
        for d in entries where d != last {
            flat += d
            last = d
        }
        return FileHashList(kind: kind, sortedDigests: flat, negated: negated, path: path)
    }

    /// Whether the flat array is sorted with no duplicate (the bundle decoder's check: a
    /// tampered list must not make lookups wrong).
    public static func isSortedUnique(_ flat: [UInt8], length n: Int) -> Bool {
        guard n > 0, flat.count % n == 0 else { return false }
        var i = n
        while i < flat.count {
            if compare(flat, i - n, flat, i, n) >= 0 { return false }
            i += n
        }
        return true
    }

    /// Whether `digest` (its first `kind.length` bytes) is in the list. Binary search, no
    /// allocation (the per-file path).
    @inlinable
    public func contains(_ digest: UnsafeRawBufferPointer) -> Bool {
        let n = kind.length
        guard digest.count >= n else { return false }
        var lo = 0, hi = digests.count / n
        return digests.withUnsafeBufferPointer { d -> Bool in
            while lo < hi {
                let mid = (lo &+ hi) >> 1
                var c = 0
                var k = 0
                while k < n {
                    let a = d[mid &* n &+ k], b = digest[k]
                    if a != b { c = a < b ? -1 : 1; break }
                    k &+= 1
                }
                if c == 0 { return true }
                if c < 0 { lo = mid &+ 1 } else { hi = mid }
            }
            return false
        }
    }

    /// The rule's test: the digest is in the list (or, negated, is not).
    @inlinable
    public func matches(_ digest: UnsafeRawBufferPointer) -> Bool { contains(digest) != negated }

    static func compare(_ a: [UInt8], _ i: Int, _ b: [UInt8], _ j: Int, _ n: Int) -> Int {
        var k = 0
        while k < n {
            if a[i + k] != b[j + k] { return a[i + k] < b[j + k] ? -1 : 1 }
            k += 1
        }
        return 0
    }

    static func lexicographicallyPrecedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        compare(a, 0, b, 0, a.count) < 0
    }

    static func hexNibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30 ... 0x39: return c - 0x30
        case 0x41 ... 0x46: return c - 0x41 + 10
        case 0x61 ... 0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}

/// The hash lists a rule set loaded, by resolved path and keyword, so rules naming the same
/// list share one array. A class because every rule's builder adds to the one cache of its
/// parser; used only while loading (one thread).
final class FileHashListCache: @unchecked Sendable {
    var lists: [String: FileHashList] = [:]
}
