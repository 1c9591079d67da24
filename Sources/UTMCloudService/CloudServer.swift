import Foundation
import UTMCloudClient
#if canImport(Glibc)
import Glibc
#endif

/// The service's listener: TLS (the system's libssl, the same wrapper the box uses) with
/// client certificates verified against the cloud CA, one thread per connection, one request
/// per connection, bounded sizes and timeouts. What the verified certificate says (CN = serial)
/// is what the request is from; nothing in the request itself can claim a serial.
public final class CloudServer: @unchecked Sendable {
    public let service: CloudService
    let context: TLSContext
    let listenFD: Int32
    /// The bound port (the configured one, or the kernel's choice for port 0).
    public let port: UInt16
    let lock = NSLock()
    var stopped = false
    var active = 0
    var acceptDone = false
    /// Connections served at once; more are closed at accept.
    public var maxConnections = 64

    /// Listens on the configured address, or on `port` when given (a restart on the port the
    /// kernel picked the first time).
    public init(service: CloudService, port: UInt16? = nil) throws {
        self.service = service
        let c = service.config
        context = try TLSContext(serverCertificate: service.ca.serverCertificatePath, key: service.ca.serverKeyPath,
                                 clientCA: service.ca.caPath)
        (listenFD, self.port) = try Self.listen(host: c.listenHost, port: port ?? c.port)
    }

    static func listen(host: String, port: UInt16) throws -> (Int32, UInt16) {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let a = res else { throw CloudError("listen \(host):\(port): cannot resolve") }
        defer { freeaddrinfo(res) }
        let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw CloudError("listen: socket failed") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0, Glibc.listen(fd, 64) == 0 else {
            let e = String(cString: strerror(errno))
            close(fd)
            throw CloudError("listen \(host):\(port): \(e)")
        }
        var addr = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let bound: UInt16 = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        return (fd, bound)
    }

    /// Starts accepting on a thread of its own.
    public func start() {
        let t = Thread { [self] in
            while true {
                let fd = accept(listenFD, nil, nil)
                if fd < 0 {
                    if errno == EINTR { continue }
                    break // closed by stop()
                }
                let admitted = lock.withLock { () -> Bool in
                    guard !stopped, active < maxConnections else { return false }
                    active += 1
                    return true
                }
                guard admitted else { close(fd); continue }
                let conn = Thread { [self] in
                    serve(fd)
                    lock.withLock { active -= 1 }
                }
                conn.start()
            }
            lock.withLock { acceptDone = true }
        }
        t.name = "cloud-accept"
        t.start()
    }

    func serve(_ fd: Int32) {
        let stream: TLSStream
        do {
            stream = try TLSStream.accept(fd: fd, context: context, peer: "client", timeout: service.config.timeout)
        } catch {
            service.log("cloud: \(error)")
            return
        }
        defer { stream.close() }
        let limits = HTTPMessage.Limits(maxHead: 16 * 1024, maxBody: service.config.maxRequestBody)
        let response: HTTPMessage
        do {
            // A whole-request deadline too: a client dribbling a byte per timeout holds no thread long.
            let deadline = Date().addingTimeInterval(service.config.timeout)
            let request = try HTTPMessage.read(isResponse: false, limits: limits) {
                guard Date() < deadline else { throw CloudError("request not complete within \(service.config.timeout) s") }
                return try stream.read(max: 16 * 1024)
            }
            response = service.handle(request, serial: stream.peerCommonName)
        } catch {
            service.log("cloud: bad request: \(error)")
            response = CloudService.error(400, "\(error)")
        }
        try? stream.write(response.encode())
    }

    /// Stops accepting and waits for the connections being served.
    public func stop() {
        lock.withLock { stopped = true }
        shutdown(listenFD, Int32(SHUT_RDWR))
        close(listenFD)
        while !lock.withLock({ acceptDone && active == 0 }) { usleep(5_000) }
    }
}
