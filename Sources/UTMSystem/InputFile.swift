#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole file (rule files, signature files, bundles) with EINTR retried; errors name
/// the call and the file in one line. For definitions loaded at start or reload, not packets.
public func readWholeFile(_ path: String) throws -> [UInt8] {
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
        bytes.append(contentsOf: chunk[0 ..< n])
    }
    return bytes
}
