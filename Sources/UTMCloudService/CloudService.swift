import Foundation
import UTMCloudClient
import UTMStore

/// Settings of the reference cloud service. Example: systemd/mimamori-cloud.conf.
public struct CloudServiceConfig: Sendable {
    /// CA, server certificate and the SQLite file.
    public var dataDirectory = "/var/lib/mimamori-cloud"
    public var listenHost = "0.0.0.0"
    public var port: UInt16 = 8443
    /// The SMTP relay customer notifications go through (plain SMTP, port 25 or 587 without auth).
    public var smtpHost = "127.0.0.1"
    public var smtpPort: UInt16 = 25
    public var mailFrom = "mimamori-cloud@localhost"
    /// A box whose heartbeats stopped this long ago is reported offline [000 3.3 (2)].
    public var offlineMinutes = 10
    /// An offline box is reported again after this long while it stays offline (daily).
    public var offlineRepeatSeconds = 86_400
    /// What boxes are told at activation.
    public var heartbeatSeconds = 60
    public var uploadBatch = 200
    /// Largest request body taken (an alert batch of 200 records is ~80 KB).
    public var maxRequestBody = 2 << 20
    /// Per-connection read/write timeout.
    public var timeout = 15.0
    /// Wall clock in microseconds (tests move it).
    public var clock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1_000_000) }

    public init() {}
}

/// The other side of the box's cloud link: provisioning, activation, heartbeats with queued
/// commands, alert intake deduplicated by (serial, epoch, seq), offline detection and the
/// customer notification mails of [000 3.3]. Thread-safe: every call holds one lock (a
/// reference service, not a scale-out design).
public final class CloudService: @unchecked Sendable {
    public let config: CloudServiceConfig
    public let ca: CertificateAuthority
    let db: CloudDatabase
    let lock = NSLock()
    let log: @Sendable (String) -> Void
    /// Sees every request after TLS, with the verified serial: the tests' capture of what a
    /// box sends.
    public var onRequest: (@Sendable (String?, HTTPMessage) -> Void)?

    public init(config: CloudServiceConfig, log: @escaping @Sendable (String) -> Void) throws {
        self.config = config
        self.log = log
        ca = CertificateAuthority(directory: config.dataDirectory)
        guard ca.exists else { throw CloudError("\(config.dataDirectory): no CA here (run mimamori-cloud init first)") }
        db = try CloudDatabase(path: config.dataDirectory + "/cloud.db")
    }

    @discardableResult
    func locked<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    // MARK: Operator commands

    /// Registers a box (or resets it to unactivated) and returns its new activation code.
    /// Up to three notification addresses [000 3.3].
    public func provision(serial: String, emails: [String] = []) throws -> String {
        guard !serial.isEmpty, serial.count <= 64, serial.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
            throw CloudError("serial must be 1-64 letters, digits or '-'")
        }
        guard emails.count <= 3 else { throw CloudError("at most three notification addresses") }
        for e in emails where !e.contains("@") || e.contains(where: { $0 == "\r" || $0 == "\n" || $0 == " " || $0 == "<" || $0 == ">" }) {
            throw CloudError("not a mail address: \(e)")
        }
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        let code = (0 ..< 4).map { _ in String((0 ..< 4).map { _ in alphabet.randomElement()! }) }.joined(separator: "-")
        try locked {
            try db.query("""
                INSERT INTO devices(serial, code, emails) VALUES (?1, ?2, ?3)
                ON CONFLICT(serial) DO UPDATE SET code = ?2, emails = ?3, activated_us = NULL, epoch = NULL,
                  last_seen_us = NULL, offline_reported_us = NULL
                """, [serial, code, emails.joined(separator: ",")])
        }
        return code
    }

    /// Queues a command for the box's next heartbeat; returns its id.
    public func queueCommand(serial: String, kind: CloudCommand.Kind, at: String? = nil) throws -> Int64 {
        try locked {
            guard try !db.query("SELECT 1 FROM devices WHERE serial = ?1", [serial]).isEmpty else {
                throw CloudError("unknown serial \(serial) (provision it first)")
            }
            try db.query("INSERT INTO commands(serial, kind, at, created_us) VALUES (?1, ?2, ?3, ?4)",
                         [serial, kind.rawValue, at, config.clock()])
            return Int64(try db.query("SELECT last_insert_rowid()")[0][0] ?? "0") ?? 0
        }
    }

    /// Alerts stored for a box, in arrival order (for tests and the portal).
    public func alerts(serial: String) throws -> [UploadRecord] {
        try locked {
            try db.query("SELECT record FROM alerts WHERE serial = ?1 ORDER BY id", [serial]).compactMap { row in
                row[0].flatMap { try? JSONDecoder().decode(UploadRecord.self, from: Data($0.utf8)) }
            }
        }
    }

    /// The last heartbeat a box sent (JSON), nil before the first.
    public func lastStatus(serial: String) throws -> Heartbeat? {
        try locked {
            try db.query("SELECT status FROM devices WHERE serial = ?1", [serial]).first?[0]
                .flatMap { try? JSONDecoder().decode(Heartbeat.self, from: Data($0.utf8)) }
        }
    }

    /// Commands not yet acknowledged by their box.
    public func pendingCommands(serial: String) throws -> [CloudCommand] {
        try locked { try unacked(serial) }
    }

    func unacked(_ serial: String) throws -> [CloudCommand] {
        try db.query("SELECT id, kind, at FROM commands WHERE serial = ?1 AND acked_us IS NULL ORDER BY id", [serial]).compactMap { r in
            guard let id = r[0].flatMap({ Int64($0) }), let kind = r[1].flatMap({ CloudCommand.Kind(rawValue: $0) }) else { return nil }
            return CloudCommand(id: id, kind: kind, at: r[2])
        }
    }

    // MARK: Requests

    /// Answers one request. `serial` is the verified client certificate's CN, nil without one.
    public func handle(_ request: HTTPMessage, serial: String?) -> HTTPMessage {
        onRequest?(serial, request)
        guard request.method == "POST" else { return Self.error(404, "no such endpoint") }
        do {
            switch request.path {
            case CloudAPI.activatePath:
                return try Self.json(activate(try decode(ActivationRequest.self, request)))
            case CloudAPI.heartbeatPath:
                guard let serial = try activatedSerial(serial) else { return Self.error(401, "client certificate required") }
                return try Self.json(heartbeat(serial: serial, try decode(Heartbeat.self, request)))
            case CloudAPI.alertsPath:
                guard let serial = try activatedSerial(serial) else { return Self.error(401, "client certificate required") }
                return try Self.json(intake(serial: serial, try decode(AlertBatch.self, request)))
            case CloudAPI.artifactsPath:
                guard try activatedSerial(serial) != nil else { return Self.error(401, "client certificate required") }
                return try Self.json(artifactList(try decode(ArtifactListRequest.self, request)))
            case CloudAPI.artifactPath:
                guard try activatedSerial(serial) != nil else { return Self.error(401, "client certificate required") }
                return try artifact(try decode(ArtifactRequest.self, request))
            default:
                return Self.error(404, "no such endpoint")
            }
        } catch let e as Refusal {
            log("cloud: \(request.path) from \(serial ?? "unauthenticated"): \(e.message)")
            return Self.error(e.status, e.message)
        } catch {
            log("cloud: \(request.path) from \(serial ?? "unauthenticated"): \(error)")
            return Self.error(500, "internal error")
        }
    }

    struct Refusal: Error {
        var status: Int
        var message: String
    }

    func decode<T: Decodable>(_: T.Type, _ r: HTTPMessage) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(r.body)) } catch {
            throw Refusal(status: 400, message: "malformed \(T.self) body")
        }
    }

    static func json<T: Encodable>(_ value: T) throws -> HTTPMessage {
        HTTPMessage(status: 200, body: Array(try JSONEncoder().encode(value)))
    }

    static func error(_ status: Int, _ message: String) -> HTTPMessage {
        HTTPMessage(status: status, body: Array((try? JSONEncoder().encode(CloudErrorBody(error: message))) ?? Data()))
    }

    /// A certificate from our CA is not enough: the box must still be activated (a wiped and
    /// re-provisioned box's old certificate no longer counts).
    func activatedSerial(_ serial: String?) throws -> String? {
        guard let serial else { return nil }
        return try locked {
            try db.query("SELECT 1 FROM devices WHERE serial = ?1 AND activated_us IS NOT NULL", [serial]).isEmpty ? nil : serial
        }
    }

    func activate(_ r: ActivationRequest) throws -> ActivationResponse {
        let epoch = (0 ..< 8).map { _ in String(format: "%02x", UInt8.random(in: 0 ... 255)) }.joined()
        return try locked {
            let rows = try db.query("SELECT code, activated_us FROM devices WHERE serial = ?1", [r.serial])
            guard let row = rows.first, row[0] == r.code, !r.code.isEmpty else {
                throw Refusal(status: 403, message: "unknown serial or wrong activation code")
            }
            guard row[1] == nil else { throw Refusal(status: 409, message: "already activated (provision the box again to reset)") }
            let identity = try ca.issueDevice(serial: r.serial)
            try db.query("UPDATE devices SET activated_us = ?2, epoch = ?3, last_seen_us = ?2 WHERE serial = ?1",
                         [r.serial, config.clock(), epoch])
            log("cloud: \(r.serial) activated")
            return ActivationResponse(certificate: identity.certificate, key: identity.key,
                                      ca: try String(contentsOfFile: ca.caPath, encoding: .utf8),
                                      settings: CloudSettings(heartbeat_seconds: config.heartbeatSeconds,
                                                              upload_batch: config.uploadBatch, epoch: epoch))
        }
    }

    func heartbeat(serial: String, _ beat: Heartbeat) throws -> HeartbeatResponse {
        try locked {
            let status = String(decoding: try JSONEncoder().encode(beat), as: UTF8.self)
            let wasOffline = try db.query("SELECT offline_reported_us FROM devices WHERE serial = ?1", [serial]).first?[0] != nil
            try db.query("UPDATE devices SET last_seen_us = ?2, status = ?3, offline_reported_us = NULL WHERE serial = ?1",
                         [serial, config.clock(), status])
            if wasOffline { log("cloud: \(serial) is back online") }
            for id in beat.acknowledged_commands.prefix(256) {
                try db.query("UPDATE commands SET acked_us = ?3 WHERE id = ?1 AND serial = ?2 AND acked_us IS NULL",
                             [id, serial, config.clock()])
            }
            let commands = try unacked(serial)
            if let wipe = commands.first(where: { $0.kind == .wipe }) {
                // Contract end [000 7.5]: the box wipes its credentials on receipt and never
                // acknowledges; the cloud stops accepting its certificate once the command is
                // on its way, so a copy of the key is worth nothing from here on.
                try db.query("UPDATE commands SET acked_us = ?2 WHERE id = ?1", [wipe.id, config.clock()])
                try db.query("UPDATE devices SET activated_us = NULL WHERE serial = ?1", [serial])
                log("cloud: \(serial): wipe delivered; its certificate is no longer accepted")
                return HeartbeatResponse(commands: commands.filter { $0.id <= wipe.id })
            }
            return HeartbeatResponse(commands: commands)
        }
    }

    func intake(serial: String, _ batch: AlertBatch) throws -> AlertAck {
        guard !batch.records.isEmpty, batch.records.count <= 5000 else { throw Refusal(status: 400, message: "batch of \(batch.records.count) records") }
        return try locked {
            let epoch = try db.query("SELECT epoch FROM devices WHERE serial = ?1", [serial]).first?[0] ?? nil
            guard epoch == batch.epoch else { throw Refusal(status: 409, message: "epoch \(batch.epoch) is not this activation's") }
            var duplicates = 0
            var last = Int64.min
            try db.transaction {
                for r in batch.records {
                    guard r.seq > last else { throw Refusal(status: 400, message: "records out of order at seq \(r.seq)") }
                    last = r.seq
                    // Re-encoded from the decoded record: only UploadRecord's metadata fields are kept.
                    let json = String(decoding: try JSONEncoder().encode(r), as: UTF8.self)
                    try db.query("""
                        INSERT INTO alerts(serial, epoch, seq, received_us, severity, record) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                        ON CONFLICT(serial, epoch, seq) DO NOTHING
                        """, [serial, batch.epoch, r.seq, config.clock(), r.severity, json])
                    if db.changes == 0 { duplicates += 1 }
                }
            }
            return AlertAck(acknowledged: last, duplicates: duplicates)
        }
    }
}
