import Foundation
import Synchronization
import UTMCapture
import UTMCore
import UTMEngine
import UTMSystem

/// One worker's counters as the control socket shows them. Fixed-size: the worker copies it
/// into its slot without allocating.
struct WorkerCounters: Sendable {
    var queue: UInt16 = 0
    var packets: UInt64 = 0
    var bytes: UInt64 = 0
    var accepted: UInt64 = 0
    var dropped: UInt64 = 0
    var verdictMessages: UInt64 = 0
    var socketOverruns: UInt64 = 0
    var verdictFailures: UInt64 = 0
    var alerts: UInt64 = 0
    var blockedPackets: UInt64 = 0
    var activeFlows: Int = 0
    var flowsCreated: UInt64 = 0
    /// Over the last second or so (bits per second, packets per second).
    var bitsPerSecond: Double = 0
    var packetsPerSecond: Double = 0
    /// Monotonic time of the copy, to tell a stuck worker from an idle one.
    var publishedAt: UInt64 = 0
}

/// The hand-over between a worker (packet path) and the control-socket thread.
///
/// Why this shape: the packet path must never wait for an operator. Every 256 packets and on
/// every idle poll the worker copies its counters into `counters` with a try-lock; when the
/// socket thread holds the lock, that copy is skipped and the next one lands. Top flows cost
/// a walk of the flow table, so the worker makes that list only when `flowsWanted` asks for it.
/// Zone pairs are the daemon's, not the engine's: one byte per flow-table slot, set when a
/// packet starts a flow, from the interface it came in on and the one it leaves by.
final class WorkerPublisher: @unchecked Sendable {
    // @unchecked: `zonePair`, `flowBuffer`, `last*` and `zoneOfDevice` are used by the worker
    // thread only (after `start`); the socket thread touches the Mutexes and atomics only.
    let counters = Mutex(WorkerCounters())
    let flows = Mutex<(generation: UInt64, list: [FlowSummary], zones: [UInt8])>((0, [], []))
    /// Flows the socket asks for (0: none wanted).
    let flowsWanted = Atomic<Int>(0)
    let flowsGeneration = Atomic<UInt64>(0)

    /// Interface index → zone number + 1 (0: not in a zone), filled before the worker starts.
    var zoneOfDevice: [(index: UInt32, zone: UInt8)] = []
    var zonePair: [UInt8] = []
    private var flowBuffer: [FlowSummary] = []
    private var zoneBuffer: [UInt8] = []
    private var lastPublish: UInt64 = 0
    private var lastRateTime: UInt64 = 0
    private var lastRateBytes: UInt64 = 0
    private var lastRatePackets: UInt64 = 0
    private var rate: (bits: Double, packets: Double) = (0, 0)

    init(flowCapacity: Int) {
        zonePair = Array(repeating: 0, count: flowCapacity)
        flowBuffer.reserveCapacity(100)
        zoneBuffer.reserveCapacity(100)
    }

    /// A packet started the flow in `slot`: remember which zones it goes between (in high
    /// nibble, out low nibble). Physical ports first: in bridge mode they name the zone.
    @inline(__always)
    func flowStarted(slot: Int32, _ p: NFQueuePacket) {
        let i = Int(slot)
        guard i >= 0 && i < zonePair.count else { return }
        let inZone = zone(p.physInDevice != 0 ? p.physInDevice : p.inDevice)
        let outZone = zone(p.physOutDevice != 0 ? p.physOutDevice : p.outDevice)
        zonePair[i] = inZone << 4 | outZone
    }

    @inline(__always)
    private func zone(_ device: UInt32) -> UInt8 {
        for z in zoneOfDevice where z.index == device { return z.zone }
        return 0
    }

    /// Copies the counters out (rate-limited to every 50 ms) and answers a pending flows request.
    func publish(_ source: NFQueueSource, _ engine: Engine, queue: UInt16) {
        let now = MonotonicClock.nanoseconds()
        if flowsWanted.load(ordering: .acquiring) > 0 { publishFlows(engine) }
        guard now &- lastPublish >= 50_000_000 else { return }
        lastPublish = now
        let s = source.stats
        if now &- lastRateTime >= 1_000_000_000 {
            let seconds = Double(now &- lastRateTime) / 1e9
            if lastRateTime != 0 {
                rate = (Double(engine.stats.bytes &- lastRateBytes) * 8 / seconds,
                        Double(engine.stats.packets &- lastRatePackets) / seconds)
            }
            lastRateTime = now
            lastRateBytes = engine.stats.bytes
            lastRatePackets = engine.stats.packets
        }
        var c = WorkerCounters()
        c.queue = queue
        c.packets = s.packets
        c.bytes = engine.stats.bytes
        c.accepted = s.accepted
        c.dropped = s.dropped
        c.verdictMessages = s.verdictMessages
        c.socketOverruns = s.socketOverruns
        c.verdictFailures = s.verdictFailures
        c.alerts = engine.stats.alerts
        c.blockedPackets = engine.stats.blockedPackets
        c.activeFlows = engine.flows.counters.active
        c.flowsCreated = engine.flows.counters.created
        c.bitsPerSecond = rate.bits
        c.packetsPerSecond = rate.packets
        c.publishedAt = now
        _ = counters.withLockIfAvailable { $0 = c }
    }

    private func publishFlows(_ engine: Engine) {
        let limit = min(100, flowsWanted.load(ordering: .relaxed))
        engine.topFlows(into: &flowBuffer, limit: limit)
        zoneBuffer.removeAll(keepingCapacity: true)
        for f in flowBuffer { zoneBuffer.append(Int(f.slot) < zonePair.count ? zonePair[Int(f.slot)] : 0) }
        let done = flows.withLockIfAvailable { slot -> Bool in
            swap(&slot.list, &flowBuffer)
            swap(&slot.zones, &zoneBuffer)
            slot.generation &+= 1
            return true
        } ?? false
        if done {
            flowsWanted.store(0, ordering: .relaxed)
            flowsGeneration.add(1, ordering: .releasing)
        }
    }
}

/// Facts about the running daemon the status answer carries besides the counters.
struct DaemonFacts: Sendable {
    var startedAt: Int64
    var mode: String
    var queues: ClosedRange<UInt16>
    var zones: [String]
    var rules: [String]
    var avDB: [String]
    var categories: String?
    var eve: String
}

/// What other services (activation, cloud heartbeat, definition and firmware updates) report,
/// for `utmctl status`. Anything not reported yet reads "unknown".
struct ControlPlaneState: Sendable {
    var activation: String?
    var cloudReachable: Bool?
    var cloudLastContact: Int64?
    /// Definition set → version ("ips" → "2026-12-01.1").
    var definitionsVersions: [String: String]?
    /// Firmware slots: "a"/"b" → version, and which one is active.
    var firmwareSlots: [String: String]?
    var firmwareActive: String?
}

/// utmd's control socket: JSON lines, one request and one answer per line.
///
///     {"command":"status"}            → running since, mode, queues, per-queue counters, throughput, definitions
///     {"command":"counters"}          → per-queue counters only
///     {"command":"flows","limit":20}  → the biggest active flows with app, bytes and zone pair
///
/// Answers carry `"ok": true` or `"ok": false, "error": "…"`. The socket is mode 0600 in a
/// directory of its own (default /run/mimamori/utmd.sock); one thread serves clients in turn,
/// each with a 5 s read limit, so a stuck client delays others but never the packet path.
final class ControlSocket: @unchecked Sendable {
    // @unchecked: `listener` is used by the serving thread; `stop` only sets the atomic.
    let path: String
    private let listener: UnixListener
    private let workers: [Worker]
    private let facts: Mutex<DaemonFacts>
    let state = Mutex(ControlPlaneState())
    private let definitionsLoadedAt = Atomic<Int64>(0)
    private let stopped = Atomic<Bool>(false)
    private let done = Atomic<Bool>(false)
    private let log: @Sendable (String) -> Void

    init(path: String, workers: [Worker], facts: DaemonFacts, log: @escaping @Sendable (String) -> Void) throws {
        self.path = path
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty && !FileManager.default.fileExists(atPath: dir) {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o755])
        }
        listener = try UnixListener(path: path, mode: 0o600)
        self.workers = workers
        self.facts = Mutex(facts)
        self.log = log
        definitionsLoadedAt.store(facts.startedAt, ordering: .relaxed)
    }

    func start() {
        let thread = Thread { [self] in serve() }
        thread.name = "utmd-control"
        thread.start()
    }

    /// Stops serving and removes the socket file (waits up to half a second for the thread).
    func stop() {
        stopped.store(true, ordering: .releasing)
        for _ in 0..<50 where !done.load(ordering: .acquiring) { usleep(10_000) }
    }

    /// Definitions were reloaded (SIGHUP): their age restarts.
    func definitionsReloaded(_ fresh: DaemonFacts) {
        definitionsLoadedAt.store(EventTime.nowSeconds(), ordering: .relaxed)
        facts.withLock { f in
            f.rules = fresh.rules
            f.avDB = fresh.avDB
            f.categories = fresh.categories
        }
    }

    private func serve() {
        while !stopped.load(ordering: .acquiring) {
            guard let c = listener.accept(timeoutMilliseconds: 200) else { continue }
            while let line = c.readLine(limit: 64 << 10, timeoutMilliseconds: 5000) {
                let answer = respond(to: line)
                do { try c.write(answer + "\n") } catch { break }
            }
            c.close()
        }
        listener.close()
        done.store(true, ordering: .releasing)
    }

    /// One request line → one answer line. Malformed requests get an error answer, never a crash.
    func respond(to line: String) -> String {
        let request = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        guard let request, let command = request["command"] as? String else {
            return encode(["ok": false, "error": "expected a JSON object with \"command\" (status, counters, flows)"])
        }
        switch command {
        case "status": return encode(status())
        case "counters": return encode(["ok": true, "queues": workers.map(countersJSON)])
        case "flows":
            let limit = (request["limit"] as? Int) ?? 20
            guard (1...100).contains(limit) else { return encode(["ok": false, "error": "limit must be 1 to 100"]) }
            return encode(flows(limit: limit))
        default:
            return encode(["ok": false, "error": "unknown command \(command) (status, counters, flows)"])
        }
    }

    private func encode(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return "{\"ok\":false,\"error\":\"internal: answer not encodable\"}"
        }
        return String(decoding: data, as: UTF8.self)
    }

    private func snapshot(_ w: Worker) -> WorkerCounters {
        w.publisher.counters.withLock { $0 }
    }

    private func countersJSON(_ w: Worker) -> [String: Any] {
        let c = snapshot(w)
        let age = c.publishedAt == 0 ? -1 : Double(MonotonicClock.nanoseconds() &- c.publishedAt) / 1e9
        return [
            "queue": Int(w.queue), "packets": c.packets, "bytes": c.bytes, "accepted": c.accepted,
            "dropped": c.dropped, "verdict_messages": c.verdictMessages, "socket_overruns": c.socketOverruns,
            "verdict_failures": c.verdictFailures, "alerts": c.alerts, "blocked_packets": c.blockedPackets,
            "active_flows": c.activeFlows, "flows_created": c.flowsCreated,
            "bits_per_second": c.bitsPerSecond.rounded(), "packets_per_second": c.packetsPerSecond.rounded(),
            "snapshot_age_seconds": (age * 1000).rounded() / 1000,
        ]
    }

    private func status() -> [String: Any] {
        let f = facts.withLock { $0 }
        let s = state.withLock { $0 }
        let now = EventTime.nowSeconds()
        let queues = workers.map(countersJSON)
        let all = workers.map(snapshot)
        func sum(_ k: KeyPath<WorkerCounters, UInt64>) -> UInt64 { all.reduce(0) { $0 &+ $1[keyPath: k] } }
        let loadedAt = definitionsLoadedAt.load(ordering: .relaxed)
        func fileInfo(_ path: String) -> [String: Any] {
            var info: [String: Any] = ["path": path]
            if let a = try? FileManager.default.attributesOfItem(atPath: path) {
                if let m = a[.modificationDate] as? Date {
                    info["modified"] = EventTime.format(Int64(m.timeIntervalSince1970) * 1_000_000)
                    info["age_days"] = Int((Double(now) - m.timeIntervalSince1970) / 86400)
                }
                if let size = a[.size] as? Int { info["bytes"] = size }
            } else {
                info["missing"] = true
            }
            return info
        }
        var definitions: [String: Any] = [
            "loaded_at": EventTime.format(loadedAt * 1_000_000),
            "rules": f.rules.map(fileInfo),
            "av_db": f.avDB.map(fileInfo),
            "categories": f.categories.map(fileInfo) ?? "none",
            "versions": s.definitionsVersions ?? "unknown",
        ]
        if f.rules.isEmpty && f.avDB.isEmpty && f.categories == nil { definitions["note"] = "no definitions configured: traffic flows uninspected by IPS, AV and web filter" }
        var firmware: [String: Any] = ["slots": s.firmwareSlots ?? "unknown", "active": s.firmwareActive ?? "unknown"]
        if s.firmwareSlots == nil { firmware["note"] = "not reported by the update service" }
        return [
            "ok": true,
            "running": true,
            "pid": Int(getpid()),
            "running_since": EventTime.format(f.startedAt * 1_000_000),
            "uptime_seconds": Int(now - f.startedAt),
            "mode": f.mode,
            "queue_range": "\(f.queues.lowerBound)-\(f.queues.upperBound)",
            "zones": f.zones,
            "eve": f.eve,
            "queues": queues,
            "totals": [
                "packets": sum(\.packets), "bytes": sum(\.bytes), "accepted": sum(\.accepted), "dropped": sum(\.dropped),
                "alerts": sum(\.alerts), "blocked_packets": sum(\.blockedPackets), "socket_overruns": sum(\.socketOverruns),
                "active_flows": all.reduce(0) { $0 + $1.activeFlows },
                "bits_per_second": all.reduce(0) { $0 + $1.bitsPerSecond }.rounded(),
                "packets_per_second": all.reduce(0) { $0 + $1.packetsPerSecond }.rounded(),
            ] as [String: Any],
            "definitions": definitions,
            "activation": s.activation ?? "unknown",
            "cloud": [
                "reachable": s.cloudReachable.map { $0 ? "yes" : "no" } ?? "unknown",
                "last_contact": s.cloudLastContact.map { EventTime.format($0 * 1_000_000) } ?? "unknown",
            ],
            "firmware": firmware,
        ]
    }

    /// Asks every worker for its top flows and waits up to a second for the lists; a worker
    /// that does not answer (no packets and no idle poll) is named in `missing`.
    private func flows(limit: Int) -> [String: Any] {
        let before = workers.map { $0.publisher.flowsGeneration.load(ordering: .acquiring) }
        for w in workers { w.publisher.flowsWanted.store(limit, ordering: .releasing) }
        let deadline = MonotonicClock.nanoseconds() + 1_000_000_000
        while MonotonicClock.nanoseconds() < deadline {
            if zip(workers, before).allSatisfy({ $0.publisher.flowsGeneration.load(ordering: .acquiring) != $1 }) { break }
            usleep(2000)
        }
        let zoneNames = facts.withLock { $0.zones }
        func zoneName(_ z: UInt8) -> String { z == 0 || Int(z) > zoneNames.count ? "-" : zoneNames[Int(z) - 1] }
        var all: [(FlowSummary, UInt8, UInt16)] = []
        var missing: [Int] = []
        for (w, gen) in zip(workers, before) {
            if w.publisher.flowsGeneration.load(ordering: .acquiring) == gen { missing.append(Int(w.queue)) }
            let (list, zones) = w.publisher.flows.withLock { ($0.list, $0.zones) }
            for (i, f) in list.enumerated() { all.append((f, i < zones.count ? zones[i] : 0, w.queue)) }
        }
        all.sort { $0.0.bytes > $1.0.bytes }
        let rows: [[String: Any]] = all.prefix(limit).map { f, z, q in
            [
                "flow_id": f.id, "queue": Int(q),
                "src_ip": f.clientIP.description, "src_port": Int(f.clientPort),
                "dest_ip": f.serverIP.description, "dest_port": Int(f.serverPort),
                "proto": f.ipProto == 6 ? "TCP" : f.ipProto == 17 ? "UDP" : f.ipProto == 1 ? "ICMP" : "\(f.ipProto)",
                "app": f.appName, "bytes": f.bytes, "bytes_toserver": f.bytesToServer, "bytes_toclient": f.bytesToClient,
                "packets": f.packets,
                "zone": "\(zoneName(z >> 4))→\(zoneName(z & 0x0f))",
                "age_seconds": max(0, Int(f.lastSeen.seconds - f.firstSeen.seconds)),
            ]
        }
        var answer: [String: Any] = ["ok": true, "flows": rows]
        if !missing.isEmpty { answer["stale_queues"] = missing }
        return answer
    }
}

extension EventTime {
    static func nowSeconds() -> Int64 { WallClock.now().seconds }
    /// "2026-12-06T18:20:00Z"
    static func format(_ us: Int64) -> String {
        let d = Date(timeIntervalSince1970: Double(us) / 1e6)
        let f = ISO8601DateFormatter()
        return f.string(from: d)
    }
}

/// utmd does not link the store: a namespace for the time helpers above.
enum EventTime {}

/// The facts `status` reports, from the configuration.
func daemonFacts(_ c: DaemonConfig, mode: String) -> DaemonFacts {
    DaemonFacts(startedAt: EventTime.nowSeconds(), mode: mode, queues: c.queues, zones: c.zones.map(\.name),
                rules: c.rules, avDB: c.avDB, categories: c.categories, eve: c.eve)
}

/// Gives each worker its zone map and opens the control socket (nil when disabled). A socket
/// that cannot be opened is a warning: inspection matters more than the operator's view.
func startControlSocket(_ c: DaemonConfig, workers: [Worker], mode: String) -> ControlSocket? {
    var map: [(index: UInt32, zone: UInt8)] = []
    for (z, zone) in c.zones.enumerated() {
        for name in zone.interfaces {
            let index = if_nametoindex(name)
            if index != 0 { map.append((index, UInt8(z + 1))) }
        }
    }
    for w in workers { w.publisher.zoneOfDevice = map }
    guard let path = c.controlSocket else { return nil }
    do {
        let socket = try ControlSocket(path: path, workers: workers, facts: daemonFacts(c, mode: mode), log: log)
        log("control socket \(path)")
        return socket
    } catch {
        log("warning: control socket \(path): \(error); utmctl status will not reach this daemon")
        return nil
    }
}
