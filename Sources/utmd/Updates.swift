import Foundation
import UTMSystem
import UTMUpdate

/// utmd's side of issue 7's updates, configured by `update.*` keys (DaemonConfig):
///
///     update.definitions = /var/lib/mimamori/definitions   # load IPS/AV/categories from the store's `current`
///     update.firmware = box                 # the box's A/B layout (BoxPaths), or a folder (file-backed, tests)
///     update.mark_good_after = 60           # seconds of health before the new firmware is marked good
///     update.reboot_command = /usr/bin/systemctl reboot   # run when a scheduled reboot is due
///
/// Definitions: at start and on every SIGHUP the configuration is read again, and with
/// `update.definitions` the rule, signature and category paths are those of the store's current
/// sets (each `current` link resolved once, so one reload never mixes two versions).
/// Firmware: after `mark_good_after` seconds in which every worker made progress, the running
/// slot is marked good (the bootloader stops counting boots); a due scheduled reboot runs
/// `reboot_command`. A moved `current` link reloads the definitions without a SIGHUP.
final class Updates {
    static let keys: Set<String> = ["definitions", "firmware", "mark_good_after", "reboot_command", "root", "keys"]

    let firmware: FirmwareUpdater?
    let markGoodAfter: UInt64
    let rebootCommand: [String]
    let log: (String) -> Void
    var healthySince = MonotonicClock.nanoseconds()
    var lastCheck: UInt64 = 0
    var lastBeats: [UInt64] = []
    var marked = false
    /// The definition store and the version directories the running engines were built from.
    let store: DefinitionStore?
    var loadedSets: [String?] = []
    var lastStoreCheck: UInt64 = 0

    init(_ c: DaemonConfig, log: @escaping (String) -> Void) {
        self.log = log
        switch c.updates["firmware"] {
        case nil: firmware = nil
        case "box": firmware = FirmwareUpdater(layout: BoxPaths().firmware, keyring: Keyring())
        case let dir?: firmware = FirmwareUpdater(layout: FirmwareLayout(directory: dir), keyring: Keyring())
        }
        markGoodAfter = c.updates["mark_good_after"].flatMap { UInt64($0) } ?? 60
        rebootCommand = c.updates["reboot_command"].map { $0.split(separator: " ").map(String.init) } ?? []
        store = c.updates["definitions"].map { DefinitionStore(root: $0) }
        loadedSets = currentSets()
    }

    func currentSets() -> [String?] {
        guard let store else { return [] }
        return ArtifactKind.definitions.map { store.current($0)?.directory }
    }

    /// True (at most every 2 s) when a `current` link of the store moved since the last
    /// reload: `utmctl defs install` or the cloud client installed or rolled back a set, and
    /// utmd reloads as on SIGHUP (each worker swaps its engine between two packets).
    func definitionsChanged() -> Bool {
        guard store != nil else { return false }
        let now = MonotonicClock.nanoseconds()
        guard now - lastStoreCheck >= 2_000_000_000 else { return false }
        lastStoreCheck = now
        let sets = currentSets()
        guard sets != loadedSets else { return false }
        loadedSets = sets
        log("definitions: the store's current set changed, reloading")
        return true
    }

    /// Called from the main loop (every 250 ms) with each worker's heartbeat counter.
    func tick(heartbeats: [UInt64], workersRunning: Bool) {
        guard let firmware else { return }
        let now = MonotonicClock.nanoseconds()
        if now - lastCheck >= 1_000_000_000 || lastCheck == 0 {
            lastCheck = now
            // Healthy: every worker is running and made progress since the last check.
            if !workersRunning || (lastBeats.count == heartbeats.count && zip(heartbeats, lastBeats).contains { $0 == $1 }) {
                healthySince = now
            }
            lastBeats = heartbeats
        }
        if !marked, now - healthySince >= markGoodAfter * 1_000_000_000 {
            marked = true
            do {
                if try firmware.markGood() { log("firmware: slot \(firmware.runningSlot() ?? "?") passed the health check, marked good") }
            } catch {
                log("warning: firmware: mark good failed: \(error)")
                marked = false
            }
        }
        if firmware.takeDueReboot(now: UInt64(Date().timeIntervalSince1970)) {
            guard let exe = rebootCommand.first else {
                log("warning: firmware: a scheduled reboot is due but update.reboot_command is not set")
                return
            }
            log("firmware: scheduled reboot due, running \(rebootCommand.joined(separator: " "))")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: exe)
            p.arguments = Array(rebootCommand.dropFirst())
            do { try p.run() } catch { log("warning: firmware: reboot command failed: \(error)") }
        }
    }
}

extension DaemonConfig {
    /// The configuration with the definition store's current sets in place of the rule,
    /// signature and category paths (when `update.definitions` is set).
    func resolvingDefinitionStore() throws -> DaemonConfig {
        for k in updates.keys where !Updates.keys.contains(k) {
            throw ConfigError("unknown key update.\(k) (update.\(Updates.keys.sorted().joined(separator: ", update.")))")
        }
        guard let root = updates["definitions"] else { return self }
        var c = self
        let store = DefinitionStore(root: root)
        if let ips = store.current(.ips) { c.rules = ips.files() }
        if let av = store.current(.av) { c.avDB = av.files() }
        if let cat = store.current(.categories), let db = cat.files().first { c.categories = db }
        return c
    }
}
