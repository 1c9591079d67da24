import Foundation

/// sd_notify without libsystemd: one datagram to $NOTIFY_SOCKET ("READY=1", "WATCHDOG=1",
/// "RELOADING=1", "STOPPING=1"). A path, or an abstract socket when it starts with '@'.
/// Does nothing outside systemd. The watchdog period comes from $WATCHDOG_USEC.
struct SystemdNotify {
    private let path: [UInt8]?
    let watchdogMicroseconds: UInt64?

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let p = environment["NOTIFY_SOCKET"], !p.isEmpty, p.utf8.count < 108 {
            var bytes = Array(p.utf8)
            if bytes[0] == UInt8(ascii: "@") { bytes[0] = 0 }
            path = bytes
        } else {
            path = nil
        }
        watchdogMicroseconds = environment["WATCHDOG_USEC"].flatMap { UInt64($0) }.flatMap { $0 > 0 ? $0 : nil }
    }

    var enabled: Bool { path != nil }

    /// Sends `state`; failures are ignored (systemd will notice the missing READY or watchdog).
    func send(_ state: String) {
        guard let path else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.enumerated() { raw[i] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
        var message = Array(state.utf8)
        _ = withUnsafePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                message.withUnsafeMutableBytes { m in sendto(fd, m.baseAddress, m.count, Int32(MSG_NOSIGNAL), sa, length) }
            }
        }
    }
}
