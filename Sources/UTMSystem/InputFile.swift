#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole file (rule files, signature files, bundles) with EINTR retried; errors name
/// the call and the file in one line. For definitions loaded at start or reload, not packets.
/// A file longer than `limit` bytes fails (EFBIG) once that much is read: files that rules
/// name (`/dev/zero` never ends) are read with a bound.
///
/// With a limit the file must be a regular file no larger than it, checked before reading:
/// a FIFO named by a rule would block the load (and a reload) forever, and a device or a
/// too-large file is refused without reading `limit` bytes first.
public func readWholeFile(_ path: String, limit: Int = .max) throws -> [UInt8] {
    let bounded = limit != .max
    let fd = open(path, O_RDONLY | O_CLOEXEC | (bounded ? O_NONBLOCK : 0))
    guard fd >= 0 else { throw SystemError(call: "open", subject: path) }
    defer { close(fd) }
    if bounded {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError(call: "fstat", subject: path) }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw SystemError(call: "open (not a regular file)", subject: path, code: EINVAL)
        }
        guard Int(st.st_size) <= limit else {
            throw SystemError(call: "read (over \(limit) bytes)", subject: path, code: EFBIG)
        }
    }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw SystemError(call: "read", subject: path)
        }
        if n == 0 { break }
        guard n <= limit &- bytes.count else {
            throw SystemError(call: "read (over \(limit) bytes)", subject: path, code: EFBIG)
        }
        bytes.append(contentsOf: chunk[0 ..< n])
    }
    return bytes
}
