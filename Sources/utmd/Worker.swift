import Foundation
import Synchronization
import UTMCapture
import UTMCore
import UTMDecode
import UTMEngine
import UTMSystem

/// What a reload built aside (on the main thread) for a worker: new definitions its running
/// engine adopts, keeping the flows, or a whole new engine when the engine's own settings
/// changed (flow table size, stream settings...).
final class EngineHandover: @unchecked Sendable {
    // @unchecked: built on one thread and used only by the worker that takes it; the Mutex
    // around the slot orders the hand-over.
    enum Content {
        case definitions(EngineDefinitions)
        case engine(Engine)
    }
    let content: Content
    init(_ content: Content) { self.content = content }
}

/// One queue, one thread, one engine: reads packets, runs them through the engine, applies
/// the decision (verdict, and the active response for rejects), writes EVE lines.
final class Worker: @unchecked Sendable {
    // @unchecked: `engine`, `source`'s packet loop, `responder`, `page` and `eve` are used only by
    // the worker thread once `start` ran; other threads touch only the atomics, the Mutex and
    // `source.requestStop`, which is a single aligned store.
    let queue: UInt16
    let source: NFQueueSource
    private let responder: ActiveResponder?
    private var engine: Engine
    private let eve: OutputFile
    private let pending = Mutex<EngineHandover?>(nil)
    private let hasPending = Atomic<Bool>(false)
    /// Advances while the thread makes progress (idle polls, every 256 packets): the watchdog.
    let heartbeat = Atomic<UInt64>(0)
    let finished = Atomic<Bool>(false)
    private(set) var failure: String?
    private var page: [UInt8] = []
    /// The mark bit for flows the engine no longer needs (0: bypass off). Set before `start`.
    var bypassMark: UInt32 = 0
    private var sincePublish = 0
    /// Counters and top flows for the control socket (ControlSocket.swift).
    let publisher: WorkerPublisher
    private let log: @Sendable (String) -> Void

    init(queue: UInt16, source: NFQueueSource, responder: ActiveResponder?, engine: Engine, eve: OutputFile,
         log: @escaping @Sendable (String) -> Void) {
        self.queue = queue
        self.source = source
        self.responder = responder
        self.engine = engine
        self.eve = eve
        self.log = log
        publisher = WorkerPublisher(flowCapacity: engine.flows.capacity)
        page.reserveCapacity(16 << 10)
    }

    func start() {
        let thread = Thread { [self] in loop() }
        thread.name = "utmd-q\(queue)"
        thread.start()
    }

    /// Offers new definitions or a new engine; the worker takes them between two packets.
    /// New definitions offered while a new engine waits (two reloads before this worker's next
    /// packet) go into that engine, so the engine's new settings are not lost.
    func offer(_ content: EngineHandover.Content) {
        pending.withLock { slot in
            if case .definitions(let defs) = content, let waiting = slot, case .engine(let engine) = waiting.content,
               engine.adopt(defs) {
                return
            }
            slot = EngineHandover(content)
        }
        hasPending.store(true, ordering: .releasing)
    }

    private func loop() {
        do {
            try source.run(idle: { try self.idle() }) { packet in self.handle(packet) }
        } catch {
            failure = "\(error)"
        }
        engine.finish()
        flushEVE()
        source.close()
        finished.store(true, ordering: .releasing)
    }

    private func idle() throws {
        heartbeat.add(1, ordering: .relaxed)
        publisher.publish(source, engine, queue: queue)
        if hasPending.load(ordering: .acquiring) { swapEngine() }
        if engine.eve.pendingBytes > 0 { flushEVE() }
    }

    @inline(__always)
    private func handle(_ packet: NFQueuePacket) -> NFQueueVerdict {
        if hasPending.load(ordering: .relaxed) { swapEngine() }
        sincePublish += 1
        if sincePublish >= 256 {
            sincePublish = 0
            heartbeat.add(1, ordering: .relaxed)
            publisher.publish(source, engine, queue: queue)
        }
        let now = WallClock.now()
        let d = engine.process(frame: packet.payload, linkType: .raw,
                               timestamp: Timestamp(seconds: now.seconds, micros: now.micros),
                               wireLength: packet.originalLength, sourceMAC: packet.sourceMAC)
        if engine.lastFlowIsNew { publisher.flowStarted(slot: engine.lastFlow.index, packet) }
        if engine.eve.pendingBytes >= 1 << 16 { flushEVE() }
        switch d.verdict {
        case .accept:
            return d.bypass && bypassMark != 0 ? .bypass(mark: bypassMark) : .accept
        case .drop:
            return .drop
        case .reject:
            respond(d.response, packet.payload)
            return .drop
        }
    }

    /// The answer to a rejected packet, sent before its drop verdict. Without a raw socket
    /// (no CAP_NET_RAW) a reject is a silent drop.
    private func respond(_ response: ActiveResponse, _ payload: ByteView) {
        guard let responder else { return }
        switch response {
        case .tcpResetBoth:
            responder.resetBoth(payload)
        case .httpBlockPage:
            engine.writeBlockPage(into: &page)
            _ = page.withByteView { responder.blockPage(payload, page: $0) }
        case .icmpUnreachable:
            responder.icmpUnreachable(payload)
        case .dnsNXDOMAIN:
            responder.dnsNXDOMAIN(payload)
        case .none:
            break
        }
    }

    /// New definitions: the running engine adopts them and its flows go on (EngineDefinitions.swift).
    /// A new engine (its settings changed): the old one's flows end (their events are written)
    /// and flows in progress are picked up by the new one mid-stream, as after a restart.
    private func swapEngine() {
        // Clear the flag first: an offer racing with this swap sets it again.
        hasPending.store(false, ordering: .relaxed)
        guard let next = pending.withLock({ slot -> EngineHandover? in
            let n = slot
            slot = nil
            return n
        }) else { return }
        switch next.content {
        case .definitions(let defs):
            if engine.adopt(defs) {
                log("queue \(queue): definitions reloaded, flows kept")
            } else {
                log("queue \(queue): reload not applied: the new definitions were sized for another engine; restart utmd")
            }
        case .engine(let fresh):
            engine.finish()
            flushEVE()
            engine = fresh
            log("queue \(queue): engine settings changed: definitions reloaded, flows restarted")
        }
    }

    private func flushEVE() {
        do {
            try engine.eve.withBytes { try eve.write($0) }
        } catch {
            log("warning: queue \(queue): EVE write failed: \(error)")
        }
        engine.eve.reset()
    }

    /// Counters for the exit summary.
    var summary: String {
        let s = source.stats
        return "queue \(queue): \(s.packets) packets, \(s.accepted) accepted (\(s.bypassed) with bypass mark), \(s.dropped) dropped, "
            + "\(s.verdictMessages) verdict messages, \(s.socketOverruns) socket overruns, "
            + "\(responder?.sent ?? 0) responses sent"
    }
}
