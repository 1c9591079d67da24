import Foundation
import UTMStore
#if canImport(Glibc)
import Glibc
#endif

/// Follows utmd's EVE file into the event store (which queues alerts, infected files and
/// dangerous-site blocks for upload in the same transaction). The read position ("inode
/// offset") lives in the store's counters table and is written in the same transaction as each
/// batch of lines, so a restart — or a power cut — resumes exactly after the last committed
/// line: nothing is read twice (which would upload an alert twice under new numbers) and
/// nothing is skipped. A file that was replaced or truncated (log rotation) is read from its
/// start. Only complete lines are read; a partial last line waits for its newline.
public struct EVETail {
    public let path: String
    /// Bytes read per poll at most; a line longer than this is skipped (and logged).
    public var chunk = 4 << 20
    var inode: UInt64 = 0
    var offset: Int64 = 0
    static let inodeKey = "eve_position_inode"
    static let offsetKey = "eve_position_offset"

    /// Resumes at the position saved in `store`. `legacyStatePath`: the file earlier versions
    /// kept the position in, read once when the store has none.
    public init(path: String, store: EventStore, legacyStatePath: String? = nil) {
        self.path = path
        if let i = try? store.counter(Self.inodeKey), let o = try? store.counter(Self.offsetKey) {
            inode = UInt64(bitPattern: i)
            offset = o
        } else if let legacy = legacyStatePath, let text = try? String(contentsOfFile: legacy, encoding: .utf8) {
            let parts = text.split(separator: " ")
            if parts.count == 2, let i = UInt64(parts[0]), let o = Int64(parts[1].trimmingCharacters(in: .whitespacesAndNewlines)) {
                inode = i
                offset = o
            }
        }
    }

    /// Reads what was appended since the last poll into `store`; nil when there was nothing.
    public mutating func poll(into store: EventStore, log: (String) -> Void) throws -> IngestReport? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil } // not there yet: utmd creates it
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        if UInt64(st.st_ino) != inode || Int64(st.st_size) < offset {
            if inode != 0 { log("cloud: \(path) was rotated or truncated; reading it from the start") }
            inode = UInt64(st.st_ino)
            offset = 0
        }
        guard Int64(st.st_size) > offset else { return nil }
        let want = Int(min(Int64(chunk), Int64(st.st_size) - offset))
        var buf = [UInt8](repeating: 0, count: want)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(offset)) }
        guard n > 0 else { return nil }
        guard let lastNewline = buf[0 ..< n].lastIndex(of: 10) else {
            if n == chunk {
                log("cloud: \(path): a line longer than \(chunk) bytes at offset \(offset) skipped")
                offset += Int64(n)
                try saveState(store)
            }
            return nil
        }
        // Lines with the file offset just past each, so the position advances with every
        // committed batch: a crash re-reads at most the batch that was not committed.
        var lines: [Substring] = []
        var ends: [Int64] = []
        var start = offset
        for line in buf[0 ... lastNewline].split(separator: 10, omittingEmptySubsequences: false).dropLast() {
            start += Int64(line.count + 1) // raw bytes: invalid UTF-8 must not move the offsets
            if line.isEmpty { continue }
            lines.append(Substring(String(decoding: line, as: UTF8.self)))
            ends.append(start)
        }
        let inode = Int64(bitPattern: self.inode)
        let report = try store.ingest(lines: lines, counters: { committed in
            committed > 0 ? [Self.inodeKey: inode, Self.offsetKey: ends[committed - 1]] : [:]
        })
        offset = start
        // Past the last line read (blank lines at the end have no batch of their own).
        try saveState(store)
        return report
    }

    func saveState(_ store: EventStore) throws {
        try store.setCounters([Self.inodeKey: Int64(bitPattern: inode), Self.offsetKey: offset])
    }
}
