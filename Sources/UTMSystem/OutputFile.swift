import UTMCore

#if canImport(Glibc)
import Glibc
#endif

/// An append-only output file (EVE JSON lines, exports) written through one descriptor.
///
/// Why not FileHandle: Foundation is not needed for writing bytes, and this keeps partial
/// writes and EINTR visible and handled in one place.
public final class OutputFile {
    public let path: String
    private var fd: Int32
    private let ownsDescriptor: Bool

    /// Opens (creating or truncating) `path`; "-" means standard output.
    public init(path: String, append: Bool = false) throws {
        self.path = path
        if path == "-" {
            fd = 1
            ownsDescriptor = false
            return
        }
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC)
        let d = open(path, flags, 0o640)
        guard d >= 0 else { throw SystemError(call: "open", subject: path) }
        fd = d
        ownsDescriptor = true
    }

    /// Writes all of `bytes`, retrying short writes and EINTR.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withByteView { try write($0) }
    }

    /// Writes all of a borrowed view, retrying short writes and EINTR.
    public func write(_ view: ByteView) throws {
        try view.withUnsafeBytes { raw in
            guard raw.count > 0 else { return }
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SystemError(call: "write", subject: path)
                }
                offset += n
            }
        }
    }

    public func close() {
        if ownsDescriptor && fd >= 0 {
            _ = Glibc.close(fd)
        }
        fd = -1
    }

    deinit { close() }
}

/// Writes a line to standard error (the replay summary, one-line errors).
public func writeStandardError(_ line: String) {
    var s = line
    if !s.hasSuffix("\n") { s += "\n" }
    var bytes = Array(s.utf8)
    bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let n = Glibc.write(2, raw.baseAddress! + offset, raw.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
    bytes.removeAll()
}
