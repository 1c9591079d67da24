import Foundation
import UTMStore
#if canImport(Glibc)
import Glibc
#endif

/// Follows utmd's EVE file into the event store (which queues alerts, infected files and
/// dangerous-site blocks for upload in the same transaction). The read position is kept in
/// `statePath` as "inode offset", advanced after each committed batch, so a restart resumes
/// where it stopped. A file that was replaced or truncated (log rotation) is read from its
/// start. Only complete lines are read; a partial last line waits for its newline.
public struct EVETail {
    public let path: String
    public let statePath: String
    /// Bytes read per poll at most; a line longer than this is skipped (and logged).
    public var chunk = 4 << 20
    var inode: UInt64 = 0
    var offset: Int64 = 0

    public init(path: String, statePath: String) {
        self.path = path
        self.statePath = statePath
        if let s = try? String(contentsOfFile: statePath, encoding: .utf8) {
            let parts = s.split(separator: " ")
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
                try saveState()
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
        let (statePath, inode) = (self.statePath, self.inode)
        let report = try store.ingest(lines: lines) { committed in
            if committed > 0 { try? Self.save(statePath, inode, ends[committed - 1]) }
        }
        offset = start
        try saveState()
        return report
    }

    func saveState() throws { try Self.save(statePath, inode, offset) }

    static func save(_ statePath: String, _ inode: UInt64, _ offset: Int64) throws {
        let tmp = statePath + ".tmp"
        try "\(inode) \(offset)\n".write(toFile: tmp, atomically: false, encoding: .utf8)
        guard rename(tmp, statePath) == 0 else { throw CloudError("\(statePath): cannot save the EVE position") }
    }
}
