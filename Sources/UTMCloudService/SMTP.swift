import Foundation
import UTMCloudClient
#if canImport(Glibc)
import Glibc
#endif

/// A mail to send: UTF-8 subject and body (both go out base64-encoded, so Japanese text and
/// ★ survive any relay).
public struct Mail: Sendable, Equatable {
    public var from: String
    public var to: [String]
    public var subject: String
    public var body: String

    public init(from: String, to: [String], subject: String, body: String) {
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
    }

    /// RFC 5322 message with an RFC 2047 subject; lines CRLF, base64 body wrapped at 76.
    func rendered(date: Date = Date()) -> String {
        let subject = "=?UTF-8?B?\(Data(self.subject.utf8).base64EncodedString())?="
        let body = Data(self.body.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        return """
            From: \(from)\r
            To: \(to.joined(separator: ", "))\r
            Subject: \(subject)\r
            MIME-Version: 1.0\r
            Content-Type: text/plain; charset=UTF-8\r
            Content-Transfer-Encoding: base64\r
            \r
            \(body)\r

            """
    }
}

/// Plain SMTP to the configured relay (the relay does TLS and delivery onwards): EHLO,
/// MAIL FROM, RCPT TO per address, DATA, QUIT. Every reply is checked; a failure is one line.
public struct SMTPClient: Sendable {
    public var host: String
    public var port: UInt16
    public var timeout: Double = 15
    public var heloName = "mimamori-cloud"

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    public func send(_ mail: Mail) throws {
        let conn = try TCPConnection(host: host, port: port, timeout: timeout)
        func expect(_ code: Int, _ what: String) throws {
            var line: String
            repeat {
                line = try conn.readLine()
            } while line.count >= 4 && Array(line)[3] == "-" // multi-line reply
            guard line.hasPrefix(String(code)) else { throw CloudError("SMTP \(host):\(port): \(what): \(line.prefix(120))") }
        }
        func command(_ text: String, _ code: Int) throws {
            try conn.write(text + "\r\n")
            try expect(code, text.split(separator: ":").first.map(String.init) ?? text)
        }
        try expect(220, "greeting")
        try command("EHLO \(heloName)", 250)
        try command("MAIL FROM:<\(mail.from)>", 250)
        for r in mail.to { try command("RCPT TO:<\(r)>", 250) }
        try command("DATA", 354)
        // Dot-stuffing: a line starting with "." gets another (base64 never does, headers might).
        let data = mail.rendered().split(separator: "\r\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(".") ? "." + $0 : String($0) }.joined(separator: "\r\n")
        try conn.write(data + ".\r\n")
        try expect(250, "message")
        try? conn.write("QUIT\r\n")
    }
}

/// A plain TCP connection with timeouts, read by lines (SMTP) — bounded like everything read
/// from the network.
final class TCPConnection {
    let fd: Int32
    var buffer: [UInt8] = []

    init(host: String, port: UInt16, timeout: Double) throws {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let a = res else { throw CloudError("SMTP \(host):\(port): cannot resolve") }
        defer { freeaddrinfo(res) }
        let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw CloudError("SMTP: socket failed") }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 else {
            let e = String(cString: strerror(errno))
            close(fd)
            throw CloudError("SMTP \(host):\(port): connect failed: \(e)")
        }
        self.fd = fd
    }

    deinit { close(fd) }

    func write(_ s: String) throws {
        let bytes = Array(s.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw CloudError("SMTP: send failed: \(String(cString: strerror(errno)))") }
            off += n
        }
    }

    /// One line without its CRLF; at most 4096 bytes.
    func readLine() throws -> String {
        while true {
            if let i = buffer.firstIndex(of: 10) {
                let line = buffer[..<i].last == 13 ? buffer[..<(i - 1)] : buffer[..<i]
                let s = String(decoding: line, as: UTF8.self)
                buffer.removeFirst(i + 1)
                return s
            }
            guard buffer.count < 4096 else { throw CloudError("SMTP: reply line too long") }
            var chunk = [UInt8](repeating: 0, count: 1024)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw CloudError(n == 0 ? "SMTP: connection closed" : "SMTP: read failed: \(String(cString: strerror(errno)))") }
            buffer += chunk[0 ..< n]
        }
    }
}
