#if canImport(Glibc)
import Glibc
#endif
import UTMCore

/// A file mapped read-only into memory, lent as a `ByteView`.
///
/// Why: the URL category database (and later other definitions) is queried in place. Mapping
/// it shares the pages with the page cache, costs no parse at load, and lets a new version be
/// swapped in by mapping the new file and dropping the old mapping.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    /// Size in bytes.
    public let count: Int
    private let base: UnsafeMutableRawPointer?

    /// Maps `path` (MAP_PRIVATE, PROT_READ). An empty file maps to an empty view.
    public init(path: String) throws {
        self.path = path
        var fd: Int32
        repeat { fd = open(path, O_RDONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw SystemError(call: "open", subject: path) }
        defer { _ = close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError(call: "fstat", subject: path) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw SystemError(call: "open", subject: path, code: EINVAL) }
        let size = Int(st.st_size)
        count = size
        if size == 0 {
            base = nil
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw SystemError(call: "mmap", subject: path)
        }
        base = p
    }

    /// The file's bytes, valid while this object lives.
    public var bytes: ByteView { ByteView(unsafeStart: base.map { UnsafeRawPointer($0) }, count: count) }

    /// Asks the kernel to read the whole file ahead (definition loads that want no page faults later).
    public func willNeed() {
        if let base { _ = madvise(base, count, MADV_WILLNEED) }
    }

    deinit {
        if let base { _ = munmap(base, count) }
    }
}
