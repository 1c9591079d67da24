#if canImport(Glibc)
import Glibc
#endif

/// The box's own connectivity checks (`utmctl diag`, [000 table 6-1]): a TCP connect, one UDP
/// request and its answer, an ICMP echo. Each returns how long it took or why it failed, in
/// words an installer can act on; nothing throws.
///
/// Why here: sockets, `poll` and `sockaddr` are pointer code, which lives in the system layer.
public enum NetProbe {
    public enum Outcome: Sendable, Equatable {
        /// Answered after this many milliseconds (with the answer, for UDP).
        case ok(milliseconds: Double, answer: [UInt8])
        case failed(String)
    }

    /// Resolves `host` (an IP literal, or a name through the system resolver) to one address.
    static func address(_ host: String, port: UInt16, type: Int32) -> (sockaddr_storage, socklen_t)? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = type
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { return nil }
        defer { freeaddrinfo(list) }
        var storage = sockaddr_storage()
        let len = first.pointee.ai_addrlen
        withUnsafeMutableBytes(of: &storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(len)))
        }
        return (storage, len)
    }

    static func elapsed(since start: UInt64) -> Double {
        Double(MonotonicClock.nanoseconds() - start) / 1e6
    }

    static func errnoText(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// Waits for `events` on `fd` until the deadline; false on timeout.
    static func wait(_ fd: Int32, _ events: Int32, until deadline: UInt64) -> Bool {
        while true {
            let now = MonotonicClock.nanoseconds()
            guard now < deadline else { return false }
            var p = pollfd(fd: fd, events: Int16(events), revents: 0)
            let r = poll(&p, 1, Int32(max(1, (deadline - now) / 1_000_000)))
            if r < 0 && errno == EINTR { continue }
            return r > 0
        }
    }

    /// Opens a TCP connection to host:port and closes it at once.
    public static func tcpConnect(host: String, port: UInt16, timeoutMilliseconds: Int = 3000) -> Outcome {
        guard case (var addr, let len)? = address(host, port: port, type: Int32(SOCK_STREAM.rawValue)) else {
            return .failed("cannot resolve \(host)")
        }
        let start = MonotonicClock.nanoseconds()
        let fd = socket(Int32(addr.ss_family), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failed("socket: \(errnoText(errno))") }
        defer { close(fd) }
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, len) } }
        if r != 0 && errno != EINPROGRESS { return .failed(errnoText(errno)) }
        if r != 0 {
            guard wait(fd, Int32(POLLOUT), until: start + UInt64(timeoutMilliseconds) * 1_000_000) else {
                return .failed("no answer within \(timeoutMilliseconds) ms")
            }
            var err: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &size)
            if err != 0 { return .failed(errnoText(err)) }
        }
        return .ok(milliseconds: elapsed(since: start), answer: [])
    }

    /// Sends one UDP datagram and waits for an answer that `accept` takes (answers from
    /// elsewhere or for another request are ignored until the time is up).
    public static func udpExchange(host: String, port: UInt16, request: [UInt8], timeoutMilliseconds: Int = 3000,
                                   accept: ([UInt8]) -> Bool) -> Outcome {
        guard case (var addr, let len)? = address(host, port: port, type: Int32(SOCK_DGRAM.rawValue)) else {
            return .failed("cannot resolve \(host)")
        }
        let start = MonotonicClock.nanoseconds()
        let fd = socket(Int32(addr.ss_family), Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failed("socket: \(errnoText(errno))") }
        defer { close(fd) }
        // connect: the kernel then hands us only this peer's datagrams, and ICMP port
        // unreachable comes back as ECONNREFUSED.
        let c = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, len) } }
        guard c == 0 else { return .failed(errnoText(errno)) }
        let sent = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == request.count else { return .failed("send: \(errnoText(errno))") }
        let deadline = start + UInt64(timeoutMilliseconds) * 1_000_000
        var buffer = [UInt8](repeating: 0, count: 4096)
        while wait(fd, Int32(POLLIN), until: deadline) {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failed(errnoText(errno))
            }
            let answer = Array(buffer[..<n])
            if accept(answer) { return .ok(milliseconds: elapsed(since: start), answer: answer) }
        }
        return .failed("no answer within \(timeoutMilliseconds) ms")
    }

    /// One ICMP echo to an IPv4 address: an unprivileged ping socket when the system allows
    /// it (`net.ipv4.ping_group_range`), a raw socket otherwise (root or CAP_NET_RAW).
    public static func ping(_ host: String, timeoutMilliseconds: Int = 2000) -> Outcome {
        var target = in_addr()
        guard inet_pton(AF_INET, host, &target) == 1 else { return .failed("\(host) is not an IPv4 address") }
        var raw = false
        var fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_ICMP))
        if fd < 0 {
            fd = socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_ICMP))
            raw = true
        }
        guard fd >= 0 else { return .failed("cannot open an ICMP socket (\(errnoText(errno))): run as root") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr = target
        let ident = UInt16(truncatingIfNeeded: getpid())
        var packet: [UInt8] = [8, 0, 0, 0, UInt8(ident >> 8), UInt8(ident & 0xff), 0, 1]
        packet += Array("mimamori-diag".utf8)
        let sum = checksum(packet)
        packet[2] = UInt8(sum >> 8)
        packet[3] = UInt8(sum & 0xff)
        let start = MonotonicClock.nanoseconds()
        let sent = packet.withUnsafeBytes { p in
            withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, p.baseAddress, p.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard sent == packet.count else { return .failed("send: \(errnoText(errno))") }
        let deadline = start + UInt64(timeoutMilliseconds) * 1_000_000
        var buffer = [UInt8](repeating: 0, count: 2048)
        while wait(fd, Int32(POLLIN), until: deadline) {
            var from = sockaddr_in()
            var fromLen = socklen_t(MemoryLayout<sockaddr_in>.size)
            let n = buffer.withUnsafeMutableBytes { b in
                withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, b.baseAddress, b.count, 0, $0, &fromLen) }
                }
            }
            if n < 0 { if errno == EINTR { continue } else { return .failed(errnoText(errno)) } }
            guard from.sin_addr.s_addr == target.s_addr else { continue }
            // A raw socket sees the IP header; a ping socket only the ICMP message.
            var at = 0
            if raw {
                guard n >= 20 else { continue }
                at = Int(buffer[0] & 0x0f) * 4
            }
            guard n >= at + 8 else { continue }
            if buffer[at] == 0 { return .ok(milliseconds: elapsed(since: start), answer: []) }
            if buffer[at] == 3 { return .failed("destination unreachable") }
        }
        return .failed("no echo reply within \(timeoutMilliseconds) ms")
    }

    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count {
            sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    /// The IPv4 addresses configured on this host's interfaces (the DHCP check wants the
    /// leased one among them).
    public static func localIPv4Addresses() -> [String] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var out: [String] = []
        var p = list
        while let a = p {
            if let sa = a.pointee.ifa_addr, sa.pointee.sa_family == sa_family_t(AF_INET) {
                var text = [CChar](repeating: 0, count: 64)
                sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var addr = sin.pointee.sin_addr
                    _ = inet_ntop(AF_INET, &addr, &text, 64)
                }
                out.append(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            p = a.pointee.ifa_next
        }
        return out
    }
}
