import Foundation
import UTMStore
#if canImport(Glibc)
import Glibc
#endif

/// How the box's cloud client runs. Defaults are a box's; tests shorten the intervals.
public struct CloudClientConfig: Sendable {
    /// Activation record and keys (see `CloudCredentials`).
    public var credentialsDirectory = CloudCredentials.defaultDirectory
    /// The event store holding the upload queue, and its limits (`uploadMaxRows`: the oldest
    /// records are dropped beyond it).
    public var storePath = "/var/lib/mimamori/events.db"
    public var store = EventStoreConfig()
    /// utmd's EVE file to follow into the store; nil when something else feeds the store.
    public var evePath: String? = "/var/log/mimamori/eve.json"
    /// The cloud host the configuration names, if any: it must be the activated one, or the
    /// client refuses to start (alerts go to the activated cloud or nowhere).
    public var expectedHost: String?
    /// Overrides the heartbeat interval the cloud set at activation.
    public var heartbeatSeconds: Double?
    /// Records queued longer than this are dropped unsent [001 3.5].
    public var retentionDays = 14
    public var backoffBase = 2.0
    public var backoffCap = 600.0
    /// Connect/read timeout of each request.
    public var timeout = 15.0
    /// How often the loop looks at the EVE file and the queue.
    public var tick = 1.0
    public var firmwareVersion = "dev"
    /// Version and age of the loaded definitions, for the heartbeat (nil, nil when unknown).
    public var definitions: @Sendable () -> (version: String, ageSeconds: Int?) = { ("", nil) }
    /// Counters the daemon adds to the heartbeat (packets, drops, alerts…).
    public var counters: @Sendable () -> [String: Int] = { [:] }
    /// Wall clock in seconds (tests may move it).
    public var clock: @Sendable () -> Double = { Date().timeIntervalSince1970 }

    public init() {}
}

/// The box's side of the cloud link, on one thread of its own: follows the EVE file into the
/// event store, sends a heartbeat every interval (and hands the commands in its answer to the
/// `CloudCommandHandler`), and uploads the alert queue in order, in batches, acknowledged by
/// the cloud. Any failure — unreachable cloud, wrong certificate, malformed or oversized
/// answer, timeout — is one log line and a retry after exponential backoff with jitter; the
/// queue waits in SQLite meanwhile (two weeks at most, oldest dropped first).
public final class CloudClient: @unchecked Sendable {
    public let config: CloudClientConfig
    public let credentials: CloudCredentials
    /// The activated cloud's mTLS link; the command handler fetches artifacts over it.
    public let transport: CloudTransport
    let store: EventStore
    let handler: any CloudCommandHandler
    let log: @Sendable (String) -> Void
    var tail: EVETail?
    let started: Double
    let lock = NSLock()
    var stopping = false
    var thread: Thread?
    var finished = false

    // Loop state: only the client's thread touches these.
    var backoff: Backoff
    var nextAttempt = 0.0
    var nextHeartbeat = 0.0
    var nextPrune = 0.0
    var handledCommands: [Int64] = []
    var pendingAcks: [Int64] = []
    public private(set) var stats = Stats()

    public struct Stats: Sendable {
        public var heartbeats = 0
        public var uploaded = 0
        public var failures = 0
        public var commands = 0
        public var lastError: String?
        /// Wall-clock seconds of the last answered heartbeat; nil before the first.
        public var lastContact: Double?
        /// The last round reached the cloud (false while backing off).
        public var reachable = false
    }

    private var published = Stats()
    /// A copy of the counters for other threads (utmd's control socket), updated after each
    /// round; `stats` itself belongs to the client's thread.
    public var snapshot: Stats { lock.withLock { published } }

    /// Loads the activation and opens the store; throws one line when either is missing, or
    /// when the configured host is not the activated one.
    public init(config: CloudClientConfig, handler: any CloudCommandHandler, log: @escaping @Sendable (String) -> Void) throws {
        self.config = config
        self.handler = handler
        self.log = log
        credentials = try CloudCredentials.load(config.credentialsDirectory)
        let info = credentials.info
        if let expected = config.expectedHost, expected != info.host && expected != "\(info.host):\(info.port)" {
            throw CloudError("cloud host \(expected) in the configuration is not the activated cloud \(info.host):\(info.port); "
                + "refusing to send anything (activate again to move the box)")
        }
        let context = try TLSContext(clientCA: credentials.caPath, certificate: credentials.certificatePath, key: credentials.keyPath)
        transport = CloudTransport(host: info.host, port: info.port, context: context, timeout: config.timeout)
        store = try EventStore(path: config.storePath, config: config.store)
        if let eve = config.evePath {
            tail = EVETail(path: eve, store: store, legacyStatePath: config.storePath + ".eve-position")
        }
        backoff = Backoff(base: config.backoffBase, cap: config.backoffCap)
        started = config.clock()
        loadCommandState()
    }

    var heartbeatInterval: Double { config.heartbeatSeconds ?? Double(credentials.info.settings.heartbeat_seconds) }

    /// Starts the client's thread.
    public func start() {
        let t = Thread { [self] in
            while !isStopping {
                runOnce()
                var slept = 0.0
                while slept < config.tick && !isStopping {
                    usleep(20_000)
                    slept += 0.02
                }
            }
            lock.withLock { finished = true }
        }
        t.name = "cloud"
        thread = t
        t.start()
    }

    /// Asks the thread to stop and waits for it, at most `wait` seconds: a request in flight
    /// may take up to its timeout, and a daemon shutting down does not wait for it (the store
    /// is safe whenever the process ends; an unacknowledged batch is sent again). Returns
    /// whether the thread ended.
    @discardableResult
    public func stop(wait: Double = .infinity) -> Bool {
        lock.withLock { stopping = true }
        guard thread != nil else { return true }
        let deadline = Date().addingTimeInterval(wait)
        while !lock.withLock({ finished }) {
            if Date() > deadline { return false }
            usleep(10_000)
        }
        return true
    }

    var isStopping: Bool { lock.withLock { stopping } }

    /// One round: follow the EVE file, then heartbeat and upload when due. Public so a caller
    /// without the thread (tests, `utmctl`) can drive it.
    public func runOnce() {
        defer {
            let s = stats
            lock.withLock { published = s }
        }
        let now = config.clock()
        if var t = tail {
            do {
                if let r = try t.poll(into: store, log: log), r.malformed > 0 {
                    log("cloud: EVE: \(r.summary)")
                }
            } catch {
                log("cloud: reading \(t.path) into the store failed: \(error)")
            }
            tail = t
        }
        if now >= nextPrune {
            nextPrune = now + 60
            do {
                let dropped = try store.pruneOlderThan(days: config.retentionDays)
                if dropped > 0 { log("cloud: \(dropped) alerts waited more than \(config.retentionDays) days and were dropped unsent") }
            } catch {
                log("cloud: pruning the upload queue failed: \(error)")
            }
        }
        guard now >= nextAttempt, !isStopping else { return }
        do {
            if now >= nextHeartbeat {
                try heartbeat()
                nextHeartbeat = now + heartbeatInterval
            }
            try upload()
            backoff.succeed()
            stats.reachable = true
        } catch {
            stats.failures += 1
            stats.reachable = false
            stats.lastError = "\(error)"
            let wait = backoff.fail()
            nextAttempt = config.clock() + wait
            log("cloud: \(error); retry in \(String(format: "%.1f", wait)) s")
        }
    }

    func heartbeat() throws {
        let defs = config.definitions()
        var counters = config.counters()
        counters["uploads_pending"] = (try? store.pendingUploads()) ?? -1
        counters["uploads_dropped"] = (try? store.uploadsDropped()) ?? -1
        counters["uploads_sent"] = stats.uploaded
        counters["cloud_failures"] = stats.failures
        let disk = Self.disk(config.credentialsDirectory)
        let beat = Heartbeat(uptime_seconds: Self.uptime() ?? Int(config.clock() - started), firmware_version: config.firmwareVersion,
                             definitions_version: defs.version, definitions_age_seconds: defs.ageSeconds, counters: counters,
                             disk_free_bytes: disk.free, disk_total_bytes: disk.total, acknowledged_commands: pendingAcks)
        let answer = try transport.post(CloudAPI.heartbeatPath, beat, as: HeartbeatResponse.self)
        stats.heartbeats += 1
        stats.lastContact = config.clock()
        pendingAcks.removeAll { beat.acknowledged_commands.contains($0) }
        for command in answer.commands.prefix(16) {
            if handledCommands.contains(command.id) {
                if !pendingAcks.contains(command.id) { pendingAcks.append(command.id) }
                continue
            }
            let outcome = handler.handle(command)
            stats.commands += 1
            log("cloud: command \(command.id) \(command.kind.rawValue): \(outcome)")
            handledCommands.append(command.id)
            pendingAcks.append(command.id)
        }
        if handledCommands.count > 256 { handledCommands.removeFirst(handledCommands.count - 256) }
        guard CloudCredentials.isActivated(config.credentialsDirectory) else {
            log("cloud: the activation is gone (wiped); the cloud client stops")
            lock.withLock { stopping = true }
            return
        }
        saveCommandState()
    }

    /// Sends the queue in order, batch by batch, until it is empty or a call fails.
    func upload() throws {
        let limit = credentials.info.settings.upload_batch
        while !isStopping {
            let batch = try store.nextBatch(limit: limit)
            guard let last = batch.last else { return }
            let ack = try transport.post(CloudAPI.alertsPath, AlertBatch(epoch: credentials.info.settings.epoch, records: batch),
                                         as: AlertAck.self)
            guard ack.acknowledged >= batch[0].seq, ack.acknowledged <= last.seq else {
                throw CloudError("cloud \(transport.host):\(transport.port) \(CloudAPI.alertsPath): acknowledgement \(ack.acknowledged) "
                    + "outside the batch \(batch[0].seq)-\(last.seq)")
            }
            try store.acknowledge(upTo: ack.acknowledged)
            stats.uploaded += batch.filter { $0.seq <= ack.acknowledged }.count
        }
    }

    // MARK: Command ids survive restarts

    struct CommandState: Codable {
        var handled: [Int64]
        var pendingAcks: [Int64]
    }

    var commandStatePath: String { config.credentialsDirectory + "/commands.json" }

    func loadCommandState() {
        guard let data = FileManager.default.contents(atPath: commandStatePath),
              let s = try? JSONDecoder().decode(CommandState.self, from: data) else { return }
        handledCommands = s.handled
        pendingAcks = s.pendingAcks
    }

    func saveCommandState() {
        guard let data = try? JSONEncoder().encode(CommandState(handled: handledCommands, pendingAcks: pendingAcks)) else { return }
        do {
            try CloudCredentials.writePrivate(commandStatePath, Array(data))
        } catch {
            log("cloud: \(error)")
        }
    }

    // MARK: Status

    static func uptime() -> Int? {
        guard let s = try? String(contentsOfFile: "/proc/uptime", encoding: .utf8),
              let first = s.split(separator: " ").first, let v = Double(first) else { return nil }
        return Int(v)
    }

    static func disk(_ path: String) -> (free: Int64, total: Int64) {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return (0, 0) }
        return (Int64(s.f_bavail) * Int64(s.f_frsize), Int64(s.f_blocks) * Int64(s.f_frsize))
    }
}
