import Foundation
import UTMCapture
import UTMDetect
import UTMEngine
import UTMSystem

/// utmd: the inline daemon. `utmd --config FILE [--check]`.
///
/// Start-up order, so that a bad configuration never touches traffic: read and check the
/// configuration (interfaces exist, zones do not overlap) → load definitions → open the EVE
/// log → bind every queue (fails when a queue is taken) → install the iptables rules → start
/// one worker thread per queue → READY=1. Signals are taken by the main thread only:
/// SIGTERM/SIGINT: remove the rules (traffic flows uninspected), let the workers drain their
/// queues, exit 0. SIGHUP: build the new definitions aside and hand them to each worker, whose
/// running engine adopts them between two packets and keeps its flows (a whole new engine only
/// when the engine's own settings changed). A worker that fails stops the daemon with status 1;
/// systemd restarts it, and `--queue-bypass` keeps traffic flowing meanwhile.

let log: @Sendable (String) -> Void = { writeStandardError("utmd: \($0)") }

func usage() -> Never {
    writeStandardError("usage: utmd --config FILE [--check]\n  --check  read the configuration and definitions, report, exit")
    exit(2)
}

func die(_ message: String) -> Never {
    log(message)
    exit(1)
}

var configPath: String?
var checkOnly = false
var argv = CommandLine.arguments.dropFirst().makeIterator()
while let arg = argv.next() {
    switch arg {
    case "--config": configPath = argv.next() ?? { usage() }()
    case "--check": checkOnly = true
    case "-h", "--help": usage()
    default: log("unknown argument \(arg)"); usage()
    }
}
guard let configPath else { usage() }

// 1. Configuration and definitions: errors here leave the network untouched.
let config: DaemonConfig
let engineConfig: EngineConfig
do {
    config = try DaemonConfig.load(path: configPath)
    try config.checkInterfaces()
    engineConfig = try Definitions.engineConfig(config, warn: log)
} catch {
    die("\(error)")
}
let mode: Firewall.Mode = switch config.mode {
case .router: .router
case .bridge: .bridge
case .auto: Firewall.detectMode(interfaces: config.policy.allInterfaces)
}
if mode == .bridge {
    do {
        try Firewall.checkBridge(interfaces: config.policy.allInterfaces, load: !checkOnly)
        for bridge in Firewall.bridgesWithoutAddress(interfaces: config.policy.allInterfaces) {
            log("warning: bridge \(bridge) has no IPv4 address; resets, block pages and ICMP answers cannot be sent")
        }
    } catch {
        die("\(error)")
    }
}
if checkOnly {
    // The queues are free (bound and released at once; root only, as binding needs
    // CAP_NET_ADMIN). A running utmd holds them: check a new configuration with the daemon
    // stopped, or expect this line.
    for q in config.queues where geteuid() == 0 {
        do {
            _ = try NFQueueSource(config: NFQueueConfig(queue: q))
        } catch {
            die("\(error)")
        }
    }
    let pairs = config.policy.matrix.map { "\($0.from.name)->\($0.to.name) \($0.action.rawValue)" }
    log("configuration ok: queues \(config.queues.lowerBound)-\(config.queues.upperBound), \(mode.rawValue) mode"
        + (pairs.isEmpty ? ", no zones (all forwarded traffic inspected)" : ", zones: " + pairs.joined(separator: ", ")))
    exit(0)
}

// 2. Signals go to the main thread's sigtimedwait only (workers inherit the mask).
var signals = sigset_t()
sigemptyset(&signals)
for s in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&signals, s) }
pthread_sigmask(SIG_BLOCK, &signals, nil)
signal(SIGPIPE, SIG_IGN)

// 3. Queues, raw socket, EVE.
var workers: [Worker] = []
/// The per-host detection state every worker's definitions share (thresholds, host bits),
/// carried over at each reload; and the flow capacity the workers' engines were built with.
var sharedHostState: SharedHostState?
var flowCapacity = 0
do {
    for q in config.queues {
        var nfq = NFQueueConfig(queue: q)
        nfq.copyRange = config.copyRange
        nfq.maxLength = config.queueMaxLength
        nfq.failOpen = config.failOpen
        nfq.batchVerdicts = config.batchVerdicts
        let source = try NFQueueSource(config: nfq)
        var responder: ActiveResponder?
        do {
            responder = try ActiveResponder()
        } catch {
            log("warning: \(error); rejected packets are dropped without an answer")
        }
        let eve = try OutputFile(path: config.eve, append: true)
        // Every worker's engine shares the first one's per-host detection state.
        let engine = try Definitions.makeEngine(engineConfig, config, sharing: sharedHostState, warn: log)
        if sharedHostState == nil { sharedHostState = engine.detect?.hostState }
        flowCapacity = engine.flows.capacity
        let worker = Worker(queue: q, source: source, responder: responder, engine: engine, eve: eve, log: log)
        worker.bypassMark = config.bypass != .off && config.installFirewall ? config.bypassMark : 0
        workers.append(worker)
    }
} catch {
    die("\(error)")
}

// 4. Firewall rules, then the workers.
var firewall = Firewall(mode: mode, queues: config.queues, policy: config.policy,
                        bypassMark: config.bypassMark, log: log)
if config.installFirewall {
    do {
        try firewall.install()
    } catch {
        Firewall.remove(log: log)
        die("\(error)")
    }
}
let control = startControlSocket(config, workers: workers, mode: mode.rawValue)
for w in workers { w.start() }
let commandHandler = config.cloud.isEmpty ? nil : CloudCommands.handler(config, log: log)
// Heartbeat counters: the workers' published snapshots (copied under a try-lock by the
// workers, read here under the lock: the packet path never waits for the cloud thread).
let publishers = workers.map(\.publisher)
let controlPlane = ControlPlane.start(config, handler: commandHandler, counters: {
    var totals: [String: Int] = [:]
    for p in publishers {
        let c = p.counters.withLock { $0 }
        totals["packets", default: 0] += Int(truncatingIfNeeded: c.packets)
        totals["bytes", default: 0] += Int(truncatingIfNeeded: c.bytes)
        totals["dropped", default: 0] += Int(truncatingIfNeeded: c.dropped)
        totals["alerts", default: 0] += Int(truncatingIfNeeded: c.alerts)
        totals["blocked_packets", default: 0] += Int(truncatingIfNeeded: c.blockedPackets)
        totals["active_flows", default: 0] += c.activeFlows
        totals["socket_overruns", default: 0] += Int(truncatingIfNeeded: c.socketOverruns)
    }
    return totals
}, log: log)
control?.start()
let notify = SystemdNotify()
notify.send("READY=1\nSTATUS=inspecting \(workers.count) queue(s), \(mode.rawValue) mode")
log("running: queues \(config.queues.lowerBound)-\(config.queues.upperBound), \(mode.rawValue) mode, "
    + (config.installFirewall ? "rules installed" : "rules managed elsewhere"))

// 5. Signals, watchdog, worker health.
/// The configuration the workers' engines run with (the start's, then each reload's).
var running = config
var runningEngine = engineConfig

@MainActor func reload() {
    notify.send("RELOADING=1")
    do {
        let fresh = try DaemonConfig.load(path: configPath)
        if fresh.queues != config.queues || fresh.mode != config.mode || fresh.eve != config.eve {
            log("warning: reload: queues, mode and eve take effect at the next restart")
        }
        let ec = try Definitions.engineConfig(fresh, warn: log)
        // Built here, aside; each worker takes them at a packet boundary. Only the definitions
        // when the engine's own settings are unchanged (the running engines adopt them and keep
        // their flows); whole engines otherwise.
        // All are built before any is offered (a rule file that fails for one worker leaves
        // every worker on the running rules); the others share the first's per-host state,
        // which takes over the running one's (thresholds, host bits) right before the offers,
        // so little that the workers count meanwhile is lost.
        let keepFlows = Definitions.sameEngine(fresh, ec, as: running, runningEngine)
        var offers: [EngineHandover.Content] = []
        var newCapacity = flowCapacity
        var nextHostState: SharedHostState?
        for _ in workers {
            if keepFlows {
                let defs = try Definitions.makeDefinitions(ec, fresh, flowCapacity: flowCapacity, sharing: nextHostState, warn: log)
                if nextHostState == nil { nextHostState = defs.detect?.hostState }
                offers.append(.definitions(defs))
            } else {
                let engine = try Definitions.makeEngine(ec, fresh, sharing: nextHostState, warn: log)
                if nextHostState == nil { nextHostState = engine.detect?.hostState }
                offers.append(.engine(engine))
                newCapacity = engine.flows.capacity
            }
        }
        // Zones and pair policies, once the engines are built (a bad rule file leaves the
        // running policy too): the chain is replaced in one iptables-restore transaction, so no
        // packet sees a half-built chain; interfaces are checked first.
        if fresh.policy != firewall.policy && config.installFirewall {
            try fresh.checkInterfaces()
            if mode == .bridge { try Firewall.checkBridge(interfaces: fresh.policy.allInterfaces, load: false) }
            var next = firewall
            next.policy = fresh.policy
            try next.install()
            firewall = next
            log("reload: zone policy replaced")
        }
        if let next = nextHostState, let current = sharedHostState {
            next.carry(from: current, now: WallClock.now().seconds)
        }
        for (w, o) in zip(workers, offers) { w.offer(o) }
        sharedHostState = nextHostState
        running = fresh
        runningEngine = ec
        flowCapacity = newCapacity
        log("reload: new definitions handed to \(workers.count) worker(s)")
        control?.definitionsReloaded(daemonFacts(fresh, mode: mode.rawValue))
    } catch {
        log("reload failed, running definitions kept: \(error)")
    }
    notify.send("READY=1")
}

@MainActor func shutdown(status: Int32) -> Never {
    notify.send("STOPPING=1")
    // No new packets are queued once the rules are gone; the workers then drain what is queued.
    if config.installFirewall { Firewall.remove(log: log) }
    for w in workers { w.source.requestStop(drain: true) }
    controlPlane?.stop(wait: 1)
    let deadline = MonotonicClock.nanoseconds() + 3_000_000_000
    while workers.contains(where: { !$0.finished.load(ordering: .acquiring) }) {
        if MonotonicClock.nanoseconds() > deadline {
            for w in workers { w.source.requestStop() }
        }
        usleep(10_000)
    }
    for w in workers { log(w.summary) }
    control?.stop()
    exit(status)
}

let updates = Updates(config, log: log)
var statusFeed = StatusFeed(config)
var lastBeats = workers.map { _ in UInt64.max }
var lastWatchdog = MonotonicClock.nanoseconds()
let watchdogInterval = notify.watchdogMicroseconds.map { $0 * 1000 / 3 }
while true {
    var info = siginfo_t()
    var timeout = timespec(tv_sec: 0, tv_nsec: 250_000_000)
    let s = sigtimedwait(&signals, &info, &timeout)
    switch s {
    case SIGTERM, SIGINT:
        log("signal \(s): stopping")
        shutdown(status: 0)
    case SIGHUP:
        reload()
    default:
        break
    }
    if let failed = workers.first(where: { $0.finished.load(ordering: .acquiring) }) {
        log("queue \(failed.queue) stopped: \(failed.failure ?? "unknown reason")")
        shutdown(status: 1)
    }
    updates.tick(heartbeats: workers.map { $0.heartbeat.load(ordering: .relaxed) }, workersRunning: true)
    if updates.definitionsChanged() { reload() }
    statusFeed.refresh(control, cloud: controlPlane)
    if let interval = watchdogInterval, MonotonicClock.nanoseconds() - lastWatchdog >= interval {
        // Only while every worker makes progress: a stuck worker lets systemd restart us.
        let beats = workers.map { $0.heartbeat.load(ordering: .relaxed) }
        if zip(beats, lastBeats).allSatisfy({ $0 != $1 }) {
            notify.send("WATCHDOG=1")
            lastWatchdog = MonotonicClock.nanoseconds()
        }
        lastBeats = beats
    }
}
