import Foundation

/// One JSON request to the cloud over TLS, answer bounded. The host and port are fixed when
/// the transport is made — from the activation record — so nothing the box does later can
/// point its alerts anywhere else.
public struct CloudTransport: Sendable {
    public let host: String
    public let port: UInt16
    let context: TLSContext
    /// Connect, send and each read wait at most this long.
    public var timeout: Double
    /// The largest answer accepted; an oversized one is refused before it is read.
    public var limits: HTTPMessage.Limits

    public init(host: String, port: UInt16, context: TLSContext, timeout: Double = 15,
                limits: HTTPMessage.Limits = HTTPMessage.Limits(maxHead: 16 * 1024, maxBody: 256 * 1024)) {
        self.host = host
        self.port = port
        self.context = context
        self.timeout = timeout
        self.limits = limits
    }

    /// POSTs `body` as JSON and decodes a 200 answer as `R`. Every failure is one `CloudError`
    /// line naming the call: connection, TLS (a wrong certificate says so), HTTP status, size,
    /// or JSON.
    public func post<B: Encodable, R: Decodable>(_ path: String, _ body: B, as _: R.Type) throws -> R {
        let response = try exchange(path, body, limits: limits)
        do {
            return try JSONDecoder().decode(R.self, from: Data(response.body))
        } catch {
            throw CloudError("cloud \(host):\(port) \(path): malformed answer (\(response.body.count) bytes of unexpected JSON)")
        }
    }

    /// POSTs `body` as JSON and returns the 200 answer's bytes, at most `maxBytes` (a signed
    /// definition set or firmware image: bigger than any JSON answer, still bounded).
    public func fetch<B: Encodable>(_ path: String, _ body: B, maxBytes: Int) throws -> [UInt8] {
        try exchange(path, body, limits: HTTPMessage.Limits(maxHead: limits.maxHead, maxBody: maxBytes)).body
    }

    func exchange<B: Encodable>(_ path: String, _ body: B, limits: HTTPMessage.Limits) throws -> HTTPMessage {
        let json = try JSONEncoder().encode(body)
        let stream = try TLSStream.connect(host: host, port: port, context: context, timeout: timeout)
        defer { stream.close() }
        let request = HTTPMessage(method: "POST", path: path, headers: ["content-type": "application/json"], body: Array(json))
        try stream.write(request.encode(host: host))
        let response: HTTPMessage
        do {
            // Each read waits `timeout` at most, and the whole answer twice that (plus a
            // second per MiB for a big artifact): a server dribbling bytes cannot hold the
            // caller's thread.
            let allowed = 2 * timeout + Double(limits.maxBody >> 20)
            let deadline = Date().addingTimeInterval(allowed)
            response = try HTTPMessage.read(isResponse: true, limits: limits) {
                guard Date() < deadline else { throw CloudError("answer not complete within \(allowed) s") }
                return try stream.read(max: 64 * 1024)
            }
        } catch let e as CloudError {
            throw CloudError("cloud \(host):\(port) \(path): \(e.description.replacingOccurrences(of: "\(host):\(port): ", with: ""))")
        }
        guard response.status == 200 else {
            let why = (try? JSONDecoder().decode(CloudErrorBody.self, from: Data(response.body)))?.error ?? "no reason given"
            throw CloudError("cloud \(host):\(port) \(path): HTTP \(response.status): \(why.prefix(200))")
        }
        return response
    }
}

/// Activation on first start [000 6.1]: serial + activation code → device certificate, key
/// and settings, stored 0600. Runs over TLS pinned to the CA shipped with the firmware (or
/// given to `utmctl activate`), without a client certificate, which the box has not got yet.
public enum CloudActivation {
    public static func activate(host: String, port: UInt16, caFile: String, serial: String, code: String,
                                directory: String = CloudCredentials.defaultDirectory, timeout: Double = 15) throws -> CloudCredentials {
        guard !serial.isEmpty, serial.count <= 64, serial.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
            throw CloudError("serial must be 1-64 letters, digits or '-'")
        }
        let transport = CloudTransport(host: host, port: port, context: try TLSContext(clientCA: caFile), timeout: timeout)
        let answer = try transport.post(CloudAPI.activatePath, ActivationRequest(serial: serial, code: code), as: ActivationResponse.self)
        guard answer.certificate.hasPrefix("-----BEGIN CERTIFICATE-----"), answer.key.hasPrefix("-----BEGIN"),
              answer.ca.hasPrefix("-----BEGIN CERTIFICATE-----"),
              (5 ... 86400).contains(answer.settings.heartbeat_seconds), (1 ... 5000).contains(answer.settings.upload_batch),
              !answer.settings.epoch.isEmpty
        else {
            throw CloudError("cloud \(host):\(port): activation answer is malformed")
        }
        // The CA kept is the one this activation was verified with, not whatever the answer
        // carries: what was pinned stays pinned.
        guard let ca = FileManager.default.contents(atPath: caFile) else { throw CloudError("\(caFile): cannot read") }
        let info = CloudCredentials.Info(host: host, port: port, serial: serial, settings: answer.settings)
        let creds = try CloudCredentials.save(directory: directory, info: info, ca: Array(ca), response: answer)
        // The identity must work before we call it activated: load it as every later start will.
        _ = try TLSContext(clientCA: creds.caPath, certificate: creds.certificatePath, key: creds.keyPath)
        return creds
    }
}
