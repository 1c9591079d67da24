import Foundation

/// The HTTP/1.1 subset both ends of the cloud link speak: one request per connection
/// (`Connection: close`), bodies with a `Content-Length` only, every size bounded — the
/// other end's bytes are hostile input like any packet.
public struct HTTPMessage: Sendable, Equatable {
    /// Request: method and path. Response: status code (and empty method/path).
    public var method = ""
    public var path = ""
    public var status = 0
    /// Header names lower-cased.
    public var headers: [String: String] = [:]
    public var body: [UInt8] = []

    public init(method: String, path: String, headers: [String: String] = [:], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }

    public init(status: Int, body: [UInt8] = [], contentType: String = "application/json") {
        self.status = status
        self.body = body
        headers["content-type"] = contentType
    }

    /// Limits of what a reader accepts.
    public struct Limits: Sendable {
        public var maxHead = 16 * 1024
        public var maxBody = 1 << 20
        public init(maxHead: Int = 16 * 1024, maxBody: Int = 1 << 20) {
            self.maxHead = maxHead
            self.maxBody = maxBody
        }
    }

    /// The bytes on the wire.
    public func encode(host: String = "") -> [UInt8] {
        var head: String
        if status == 0 {
            head = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\n"
        } else {
            head = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
        }
        for (k, v) in headers.sorted(by: { $0.key < $1.key }) where k != "content-length" && k != "connection" && k != "host" {
            head += "\(k): \(v)\r\n"
        }
        head += "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        return Array(head.utf8) + body
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 409: "Conflict"
        case 413: "Content Too Large"
        default: status < 400 ? "OK" : "Error"
        }
    }

    /// Reads one message. `source` returns the next bytes (empty at the end of the stream).
    /// Throws a one-line `CloudError` on anything malformed or beyond `limits`.
    public static func read(isResponse: Bool, limits: Limits = Limits(), _ source: () throws -> [UInt8]) throws -> HTTPMessage {
        var buf: [UInt8] = []
        var headEnd: Int?
        while headEnd == nil {
            let chunk = try source()
            guard !chunk.isEmpty else {
                throw CloudError(buf.isEmpty ? "connection closed without an answer" : "connection closed inside the HTTP header")
            }
            let from = max(0, buf.count - 3)
            buf += chunk
            headEnd = findHeadEnd(buf, from: from)
            if headEnd == nil && buf.count > limits.maxHead {
                throw CloudError("HTTP header longer than \(limits.maxHead) bytes")
            }
        }
        let end = headEnd!
        guard end <= limits.maxHead else { throw CloudError("HTTP header longer than \(limits.maxHead) bytes") }
        let head = String(decoding: buf[0 ..< end], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let start = lines.removeFirst().split(separator: " ", maxSplits: 2)
        var m = HTTPMessage(method: "", path: "")
        if isResponse {
            guard start.count >= 2, start[0].hasPrefix("HTTP/1."), let code = Int(start[1]), (100 ... 599).contains(code) else {
                throw CloudError("malformed HTTP status line")
            }
            m.status = code
        } else {
            guard start.count == 3, start[2].hasPrefix("HTTP/1."), start[1].hasPrefix("/") else {
                throw CloudError("malformed HTTP request line")
            }
            m.method = String(start[0])
            m.path = String(start[1])
        }
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw CloudError("malformed HTTP header line") }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            m.headers[name] = value
        }
        if m.headers["transfer-encoding"] != nil { throw CloudError("HTTP chunked bodies are not accepted") }
        let length: Int
        if let cl = m.headers["content-length"] {
            guard let n = Int(cl), n >= 0 else { throw CloudError("malformed Content-Length") }
            length = n
        } else {
            length = 0
        }
        guard length <= limits.maxBody else { throw CloudError("HTTP body of \(length) bytes is over the \(limits.maxBody)-byte limit") }
        var body = Array(buf[(end + 4)...])
        while body.count < length {
            let chunk = try source()
            guard !chunk.isEmpty else { throw CloudError("connection closed after \(body.count) of \(length) body bytes") }
            body += chunk
        }
        guard body.count <= length else { throw CloudError("more bytes than Content-Length") }
        m.body = body
        return m
    }

    static func findHeadEnd(_ b: [UInt8], from: Int) -> Int? {
        guard b.count >= 4 else { return nil }
        var i = from
        while i + 3 < b.count {
            if b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
            i += 1
        }
        return nil
    }
}

