import Foundation
import UTMCloudClient
import UTMSystem
import UTMUpdate

/// Fills the control socket's view of the services around the packet path — activation, the
/// cloud link, installed definition sets and firmware slots — from their own state on disk and
/// the cloud client's counters. Runs on the main loop every few seconds, never on a worker.
struct StatusFeed {
    let paths: BoxPaths
    /// Definition versions come from the store only when utmd loads from it
    /// (`update.definitions`); firmware slots only with `update.firmware`.
    let usesStore: Bool
    let usesFirmware: Bool
    let usesCloud: Bool
    var last: UInt64 = 0

    init(_ c: DaemonConfig) {
        paths = CloudCommands.paths(c)
        usesStore = c.updates["definitions"] != nil
        usesFirmware = c.updates["firmware"] != nil
        usesCloud = !c.cloud.isEmpty
    }

    mutating func refresh(_ control: ControlSocket?, cloud: CloudClient?, now: UInt64 = MonotonicClock.nanoseconds()) {
        guard let control, last == 0 || now - last >= 5_000_000_000 else { return }
        last = now
        let status = UpdateStatus.collect(paths)
        var versions: [String: String] = [:]
        for d in status.definitions {
            guard let seq = d.sequence else { versions[d.kind] = "none installed"; continue }
            versions[d.kind] = "v\(seq)" + (d.ageSeconds.map { ", \($0 / 86_400) days old" } ?? "")
        }
        var slots: [String: String] = [:]
        if let a = status.firmware.versionA { slots["a"] = a }
        if let b = status.firmware.versionB { slots["b"] = b }
        let running = status.firmware.runningSlot ?? status.firmware.bootSlot
        let active = running + (status.firmware.good ? "" : " (on trial, not yet marked good)")
            + (status.firmware.rebootAt.map { ", reboot scheduled at \(EventTime.format(Int64($0) * 1_000_000))" } ?? "")
        let activation: String
        if !usesCloud {
            activation = "cloud link not configured (no cloud.* keys)"
        } else if let creds = try? CloudCredentials.load(paths.credentialsDirectory) {
            activation = "activated as \(creds.info.serial) with \(creds.info.host):\(creds.info.port)"
        } else {
            activation = "not activated"
        }
        let stats = cloud?.snapshot
        control.state.withLock {
            $0.activation = activation
            $0.cloudReachable = cloud == nil ? nil : stats?.reachable
            $0.cloudLastContact = stats?.lastContact.map { Int64($0) }
            $0.definitionsVersions = usesStore ? versions : nil
            $0.firmwareSlots = usesFirmware && !slots.isEmpty ? slots : nil
            $0.firmwareActive = usesFirmware && !slots.isEmpty ? active : nil
        }
    }
}
