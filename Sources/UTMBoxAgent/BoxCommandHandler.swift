import Foundation
import Synchronization
import UTMCloudClient
import UTMStore
import UTMUpdate

/// What the box does with the cloud's commands [000 6.2.4, 7.5]. The heartbeat thread calls
/// `handle` and must not wait on downloads, so updates run on a worker thread of their own
/// (one at a time; a second command while one runs is answered "already running"). The wipe
/// is quick and done at once: the cloud client sees its activation gone and stops.
public final class BoxCommandHandler: CloudCommandHandler, @unchecked Sendable {
    // @unchecked: `transport` is set once before the client starts, read after.
    public let paths: BoxPaths
    public let keyring: Keyring
    let log: @Sendable (String) -> Void
    private let running = Atomic<Bool>(false)
    private let lock = NSLock()
    private var _transport: CloudTransport?
    private var _last: [ArtifactSync.Result] = []
    /// Called after a wipe (utmd reloads, so the factory definitions are in force).
    public var onWipe: (@Sendable () -> Void)?

    public init(paths: BoxPaths, keyring: Keyring, log: @escaping @Sendable (String) -> Void) {
        self.paths = paths
        self.keyring = keyring
        self.log = log
    }

    /// The cloud link, known once the client is made (the client is made with this handler).
    public var transport: CloudTransport? {
        get { lock.withLock { _transport } }
        set { lock.withLock { _transport = newValue } }
    }

    /// The results of the last finished update run (tests, status).
    public var lastResults: [ArtifactSync.Result] { lock.withLock { _last } }
    public var isBusy: Bool { running.load(ordering: .acquiring) }

    public func handle(_ command: CloudCommand) -> String {
        switch command.kind {
        case .updateDefinitions:
            return startUpdate("definitions update") { $0.syncDefinitions() }
        case .reboot:
            let at: UInt64
            if let text = command.at {
                guard let us = EventTime.parse(text) else { return "refused: reboot time \(text) is not a time" }
                at = UInt64(max(0, us / 1_000_000))
            } else {
                at = UInt64(Date().timeIntervalSince1970)
            }
            return startUpdate("firmware update") { [paths, keyring, log] sync in
                var results = sync.stageFirmware()
                // A reboot is scheduled only when a newer image is in the other slot now
                // (staged by this run, or by an earlier one / by hand).
                let firmware = FirmwareUpdater(layout: paths.firmware, keyring: keyring)
                guard firmware.environment()["upgrade_available"] == "1" else {
                    log("updates: no new firmware staged; no reboot scheduled")
                    return results
                }
                do {
                    try firmware.scheduleReboot(at: at)
                    results.append(.init(kind: "firmware", sequence: 0, outcome: "reboot scheduled", detail: "at \(at)"))
                } catch {
                    results.append(.init(kind: "firmware", sequence: 0, outcome: "refused", detail: "scheduling the reboot: \(error)"))
                }
                return results
            }
        case .wipe:
            do {
                let report = try FactoryReset.wipe(paths)
                log("wipe: commanded by the cloud: \(report.removed.count) items removed, \(report.restored.count) factory items restored")
                onWipe?()
                return "wiped"
            } catch {
                return "refused: \(error)"
            }
        }
    }

    private func startUpdate(_ what: String, _ body: @escaping @Sendable (ArtifactSync) -> [ArtifactSync.Result]) -> String {
        guard let transport else { return "refused: no cloud link yet" }
        guard running.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            return "already running"
        }
        let sync = ArtifactSync(paths: paths, keyring: keyring, transport: transport, log: log)
        let thread = Thread { [self] in
            let results = body(sync)
            lock.withLock { _last = results }
            running.store(false, ordering: .releasing)
        }
        thread.name = "updates"
        thread.start()
        return "\(what) started"
    }

    /// Waits until no update runs (tests; a daemon never waits).
    public func waitIdle(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while isBusy {
            if Date() > deadline { return false }
            usleep(10_000)
        }
        return true
    }
}
