#if canImport(Glibc)
import Glibc
#endif

/// A listening Unix stream socket: utmd's control socket (`/run/mimamori/utmd.sock`).
///
/// Why here: the control plane speaks JSON lines over it, but `sockaddr_un`, `bind`, `poll`
/// and raw reads are pointer code, which lives in the system layer only. The socket file is
/// created with `mode` (0600: only root may ask the daemon anything) and removed on `close`.
public final class UnixListener: @unchecked Sendable {
    // @unchecked: `fd` is written by `close` only; the daemon closes from the thread that accepts.
    public let path: String
    private var fd: Int32

    /// Binds `path` (a stale socket file left by a killed daemon is replaced) and listens.
    public init(path: String, mode: UInt32 = 0o600) throws {
        self.path = path
        let d = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard d >= 0 else { throw SystemError(call: "socket", subject: path) }
        var addr = try UnixAddress(path)
        // A live daemon on the same path answers a connect: refuse to steal its socket.
        if UnixConnection.probe(&addr) {
            Glibc.close(d)
            throw SystemError(call: "bind", subject: path, code: EADDRINUSE)
        }
        unlink(path)
        // The umask decides the mode between bind and chmod: make it tight for that moment.
        let old = umask(0o177)
        let r = addr.withSockaddr { bind(d, $0, $1) }
        umask(old)
        guard r == 0 else {
            let e = errno
            Glibc.close(d)
            throw SystemError(call: "bind", subject: path, code: e)
        }
        chmod(path, mode_t(mode))
        guard listen(d, 16) == 0 else {
            let e = errno
            Glibc.close(d)
            throw SystemError(call: "listen", subject: path, code: e)
        }
        fd = d
    }

    /// Waits up to `timeoutMilliseconds` for a client; nil on timeout (or after `close`).
    public func accept(timeoutMilliseconds: Int32) -> UnixConnection? {
        guard fd >= 0 else { return nil }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, timeoutMilliseconds) > 0 else { return nil }
        let c = Glibc.accept(fd, nil, nil)
        guard c >= 0 else { return nil }
        _ = fcntl(c, F_SETFD, FD_CLOEXEC)
        return UnixConnection(fd: c)
    }

    /// Stops listening and removes the socket file.
    public func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
        unlink(path)
    }

    deinit { close() }
}

/// One connected control-socket stream: line-oriented reads with a time limit, whole writes.
public final class UnixConnection {
    private var fd: Int32
    private var buffer: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    /// Connects to a listening socket; throws when nothing listens there (ENOENT, ECONNREFUSED).
    public static func connect(path: String) throws -> UnixConnection {
        var addr = try UnixAddress(path)
        let d = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard d >= 0 else { throw SystemError(call: "socket", subject: path) }
        let r = addr.withSockaddr { Glibc.connect(d, $0, $1) }
        guard r == 0 else {
            let e = errno
            Glibc.close(d)
            throw SystemError(call: "connect", subject: path, code: e)
        }
        return UnixConnection(fd: d)
    }

    static func probe(_ addr: inout UnixAddress) -> Bool {
        let d = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard d >= 0 else { return false }
        defer { Glibc.close(d) }
        return addr.withSockaddr { Glibc.connect(d, $0, $1) } == 0
    }

    /// The next line without its newline; nil at end of stream, on timeout, or when a line
    /// grows past `limit` bytes (a confused or hostile peer cannot make us buffer forever).
    public func readLine(limit: Int = 1 << 20, timeoutMilliseconds: Int32 = 5000) -> String? {
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<nl], as: UTF8.self)
                buffer.removeSubrange(...nl)
                return line
            }
            if buffer.count > limit || fd < 0 { return nil }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, timeoutMilliseconds)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { return nil }
            var chunk = [UInt8](repeating: 0, count: 16 << 10)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            buffer.append(contentsOf: chunk[..<n])
        }
    }

    /// Writes all of `text` (MSG_NOSIGNAL: a client that went away is an error, not SIGPIPE).
    public func write(_ text: String) throws {
        var bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { send(fd, $0.baseAddress! + done, $0.count - done, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError(call: "send", subject: "control socket")
            }
            done += n
        }
        bytes.removeAll()
    }

    public func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }

    deinit { close() }
}

/// `sockaddr_un` for a path, checked against its 108-byte limit.
struct UnixAddress {
    var storage = sockaddr_un()

    init(_ path: String) throws {
        storage.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else {
            throw SystemError(call: "bind", subject: path, code: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
    }

    mutating func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        let size = socklen_t(MemoryLayout<sockaddr_un>.size)
        return withUnsafePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, size) }
        }
    }
}
