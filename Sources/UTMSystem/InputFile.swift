#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole file (rule files, signature files, bundles) with EINTR retried; errors name
/// the call and the file in one line. For definitions loaded at start or reload, not packets.
/// A file longer than `limit` bytes fails (EFBIG) once that much is read: files that rules
/// name (`/dev/zero` never ends) are read with a bound.
public func readWholeFile(_ path: String, limit: Int = .max) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw SystemError(call: "open", subject: path) }
    defer { close(fd) }
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
