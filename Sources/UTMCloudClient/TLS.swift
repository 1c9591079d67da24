import CMimamoriTLS
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A failure of the cloud link, one line for the journal: what was being done, with whom, why.
public struct CloudError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// An OpenSSL context (swift-system style wrapper over CMimamoriTLS): trusts only the CA file
/// it was made with — the cloud's CA is pinned, the system store is never read.
public final class TLSContext: @unchecked Sendable {
    let ctx: OpaquePointer

    /// OpenSSL writes with write(2): a peer that hung up would raise SIGPIPE and end the whole
    /// process (utmd, mimamori-cloud). Ignoring it turns that into EPIPE, one failed call.
    static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// Box side: verifies the server against `caFile`; presents `certificate`/`key` when given
    /// (every call after activation).
    public init(clientCA caFile: String, certificate: String? = nil, key: String? = nil) throws {
        Self.ignoreSIGPIPE
        guard let ctx = mtls_ctx_new(0, caFile) else { throw CloudError("TLS: cannot load the cloud CA \(caFile): \(Self.lastError())") }
        self.ctx = ctx
        mtls_ctx_verify_peer(ctx, 0)
        if let certificate, let key, mtls_ctx_use_identity(ctx, certificate, key) != 1 {
            throw CloudError("TLS: cannot load the device certificate \(certificate): \(Self.lastError())")
        }
    }

    /// Cloud side: our certificate, and client certificates verified against `clientCA` when
    /// a box presents one (activation comes without).
    public init(serverCertificate: String, key: String, clientCA: String) throws {
        Self.ignoreSIGPIPE
        guard let ctx = mtls_ctx_new(1, clientCA) else { throw CloudError("TLS: cannot load the CA \(clientCA): \(Self.lastError())") }
        self.ctx = ctx
        mtls_ctx_verify_peer(ctx, 0)
        guard mtls_ctx_use_identity(ctx, serverCertificate, key) == 1 else {
            throw CloudError("TLS: cannot load the server certificate \(serverCertificate): \(Self.lastError())")
        }
    }

    deinit { SSL_CTX_free(ctx) }

    /// A NUL-terminated C buffer as text.
    static func text(_ buf: [CChar]) -> String {
        String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func lastError(_ ssl: OpaquePointer? = nil) -> String {
        var buf = [CChar](repeating: 0, count: 256)
        mtls_last_error(ssl, &buf, buf.count)
        let s = Self.text(buf)
        return s.isEmpty ? "unknown TLS error" : s
    }
}

/// One TLS connection over a blocking socket with send/receive timeouts: the cloud link does
/// one request per connection, so a thread per connection is all it needs.
public final class TLSStream {
    let fd: Int32
    let ssl: OpaquePointer
    let context: TLSContext
    /// Who is at the other end, for log lines.
    public let peer: String

    init(fd: Int32, ssl: OpaquePointer, context: TLSContext, peer: String) {
        self.fd = fd
        self.ssl = ssl
        self.context = context
        self.peer = peer
    }

    deinit {
        SSL_free(ssl)
        Glibc.close(fd)
    }

    static func setTimeouts(_ fd: Int32, seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Connects to host:port (an IP address or a name), then the TLS handshake, verifying the
    /// server's certificate against the pinned CA and its name against `host`.
    public static func connect(host: String, port: UInt16, context: TLSContext, timeout: Double) throws -> TLSStream {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &res)
        guard rc == 0, let first = res else {
            throw CloudError("cloud \(host):\(port): cannot resolve: \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(res) }
        var lastErrno: Int32 = 0
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            if fd >= 0 {
                setTimeouts(fd, seconds: timeout) // Linux applies SO_SNDTIMEO to connect too
                if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 {
                    return try handshake(fd: fd, host: host, port: port, context: context)
                }
                lastErrno = errno
                Glibc.close(fd)
            }
            ai = a.pointee.ai_next
        }
        throw CloudError("cloud \(host):\(port): connect failed: \(String(cString: strerror(lastErrno)))")
    }

    static func handshake(fd: Int32, host: String, port: UInt16, context: TLSContext) throws -> TLSStream {
        guard let ssl = SSL_new(context.ctx) else {
            Glibc.close(fd)
            throw CloudError("TLS: SSL_new failed: \(TLSContext.lastError())")
        }
        let stream = TLSStream(fd: fd, ssl: ssl, context: context, peer: "\(host):\(port)")
        guard mtls_set_peer_name(ssl, host) == 1, SSL_set_fd(ssl, fd) == 1 else {
            throw CloudError("cloud \(host):\(port): TLS setup failed: \(TLSContext.lastError(ssl))")
        }
        let rc = SSL_connect(ssl)
        let savedErrno = errno
        if rc != 1 {
            throw CloudError("cloud \(host):\(port): \(stream.failure(SSL_get_error(ssl, rc), savedErrno, "TLS handshake"))")
        }
        return stream
    }

    /// Server side: the handshake on an accepted socket.
    public static func accept(fd: Int32, context: TLSContext, peer: String, timeout: Double) throws -> TLSStream {
        setTimeouts(fd, seconds: timeout)
        guard let ssl = SSL_new(context.ctx) else {
            Glibc.close(fd)
            throw CloudError("TLS: SSL_new failed: \(TLSContext.lastError())")
        }
        let stream = TLSStream(fd: fd, ssl: ssl, context: context, peer: peer)
        guard SSL_set_fd(ssl, fd) == 1 else { throw CloudError("\(peer): TLS setup failed: \(TLSContext.lastError(ssl))") }
        let rc = SSL_accept(ssl)
        let savedErrno = errno
        if rc != 1 {
            throw CloudError("\(peer): \(stream.failure(SSL_get_error(ssl, rc), savedErrno, "TLS handshake"))")
        }
        return stream
    }

    /// The verified client certificate's common name (the box's serial), nil without one.
    public var peerCommonName: String? {
        var buf = [CChar](repeating: 0, count: 256)
        let n = mtls_peer_common_name(ssl, &buf, Int32(buf.count))
        return n > 0 ? TLSContext.text(buf) : nil
    }

    public func write(_ data: [UInt8]) throws {
        var off = 0
        while off < data.count {
            let n = data[off...].withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
            let savedErrno = errno
            guard n > 0 else { throw CloudError("\(peer): \(failure(SSL_get_error(ssl, n), savedErrno, "TLS write"))") }
            off += Int(n)
        }
    }

    /// Up to `max` bytes; empty at the end of the stream. A timeout is an error.
    public func read(max: Int) throws -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: max)
        let n = buf.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
        let savedErrno = errno
        if n > 0 { return Array(buf[0 ..< Int(n)]) }
        let err = SSL_get_error(ssl, n)
        if err == SSL_ERROR_ZERO_RETURN { return [] }
        if err == SSL_ERROR_SYSCALL && savedErrno == 0 { return [] } // peer closed without close_notify
        throw CloudError("\(peer): \(failure(err, savedErrno, "TLS read"))")
    }

    /// Why a TLS call failed: a socket timeout (SO_RCVTIMEO/SO_SNDTIMEO surface as WANT_READ/
    /// WANT_WRITE or EAGAIN) says so; otherwise the certificate verdict or OpenSSL's error.
    func failure(_ err: Int32, _ savedErrno: Int32, _ what: String) -> String {
        if err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE
            || (err == SSL_ERROR_SYSCALL && (savedErrno == EAGAIN || savedErrno == EWOULDBLOCK)) {
            return "\(what) timed out"
        }
        if err == SSL_ERROR_SYSCALL && savedErrno != 0 {
            return "\(what) failed: \(String(cString: strerror(savedErrno)))"
        }
        return "\(what) failed: \(TLSContext.lastError(ssl))"
    }

    public func close() { SSL_shutdown(ssl) }
}
