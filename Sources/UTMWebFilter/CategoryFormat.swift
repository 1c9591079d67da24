import UTMCore

/// The compiled category database file, version 2. All integers are big-endian (what
/// `ByteView` reads); every section starts on an 8-byte boundary.
///
///     0   magic "MIMAMCAT"            8 bytes
///     8   version                     u32 (2; version 1 had a separate bucket index)
///     12  header length               u32 (192)
///     16  file length                 u64 (the whole file: truncation is caught here)
///     24  checksum                    u64 (`FileChecksum` of bytes 32..<file length)
///     32  list count                  u32 (≤ 128: list ids are bits of a `CategorySet`)
///     36  combination count           u32 (distinct sets of lists, ≤ 65536)
///     40  domain count                u32
///     44  domain bucket bits          u8, minimum labels of a domain entry u8,
///         domain filter bits          u8 (log2 of the filter's size in bits),
///         domain probe limit          u8 (lines after the home line a lookup may read)
///     48  URL count                   u32
///     52  URL bucket bits             u8, 3 reserved
///     56  reserved                    u64
///     64  section table: 16 × (offset u32, length u32), in `Section` order (unused: 0, 0)
///
/// Sections:
///   - names: per list, u8 length + UTF-8 name, in id order;
///   - combos: per combination, the `CategorySet` as (lo u64, hi u64);
///   - domain filter: a one-hash Bloom filter over domain keys (bit = key's low bits), about 16
///     bits per entry: most parent-domain probes miss, and this answers them from a bitmap that
///     stays in the L2 cache instead of two dependent reads of the tables;
///   - domain buckets: empty since version 2 (the entries are their own buckets);
///   - domain entries: 2^bits cache lines of 8 u64 slots (64 bytes), a slot = top 48 bits of
///     the host key << 16 | combination id, 0 = empty. An entry sits in the line given by the
///     key's top bits, or — when that line is full — in the next line with room (wrapping),
///     at most "probe limit" lines further. Why: a hit reads one cache line instead of a bucket
///     index and then the entries (two dependent misses); a lookup stops at the first empty
///     slot. ~4.3 entries per line on UT1.
///   - URL buckets: as for domains, over URL host keys;
///   - URL keys: sorted u64 host keys (host without "www."), one per URL entry;
///   - URL records: per entry u64 = path offset u32 << 32 | path length u16 << 16 | combination id;
///   - URL paths: canonical paths (`URLPathCursor`), concatenated.
public enum CategoryFormat {
    public static let magic: UInt64 = 0x4d49_4d41_4d43_4154  // "MIMAMCAT"
    public static let version: UInt32 = 2
    /// Slots per domain line (one 64-byte cache line).
    public static let lineSlots = 8
    public static let headerLength = 192
    public static let maxLists = 128
    public static let maxCombos = 65536

    public enum Section: Int, CaseIterable {
        case names, combos, domainBuckets, domainEntries, urlBuckets, urlKeys, urlRecords, urlPaths, domainFilter
    }
}

/// A 64-bit checksum over 8-byte words. Each step is a bijection of the state, so any change
/// confined to one word always changes the result; it catches truncation, bit rot and careless
/// edits. It is not a signature: definition updates are signed and verified before this runs.
public enum FileChecksum {
    @inlinable
    public static func of(_ v: ByteView, from start: Int) -> UInt64 {
        var h: UInt64 = 0x9e37_79b9_7f4a_7c15 ^ UInt64(truncatingIfNeeded: v.count)
        var i = max(0, start)
        while let w = v.u64(i) {
            h = (h ^ w) &* 0xff51_afd7_ed55_8ccd
            h ^= h >> 32
            i &+= 8
        }
        var tail: UInt64 = 0, shift: UInt64 = 56
        while let b = v.u8(i) { tail |= UInt64(b) << shift; shift &-= 8; i &+= 1 }
        h = (h ^ tail) &* 0xc4ce_b9fe_1a85_ec53
        return HostKey.finish(h)
    }
}

/// Why a database file was refused. One line, naming what is wrong.
public struct CategoryDatabaseError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        case truncated, badMagic, badVersion, badHeader, badChecksum, badSection, badContent
    }
    public var code: Code
    public var detail: String

    public init(_ code: Code, _ detail: String) { self.code = code; self.detail = detail }

    public var description: String { "category database: \(code.rawValue): \(detail)" }
}
