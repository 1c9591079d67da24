import Foundation

/// What is installed, for the heartbeat and `utmctl status`: each definition kind's version
/// and age, and the firmware slots. Encodable as JSON; `lines` for a terminal.
public struct UpdateStatus: Sendable, Codable {
    public struct Definitions: Sendable, Codable {
        public var kind: String
        public var sequence: UInt64?
        public var previous: UInt64?
        /// Seconds since the set was created by the publisher (nil when none installed).
        public var ageSeconds: UInt64?
        public var expires: UInt64?
        public var installed: UInt64?
    }

    public struct Firmware: Sendable, Codable {
        public var bootSlot: String
        public var runningSlot: String?
        public var versionA: String?
        public var versionB: String?
        public var upgradeAvailable: Bool
        public var bootcount: Int
        public var bootlimit: Int
        /// The running slot is the chosen one and no longer on trial.
        public var good: Bool
        public var rebootAt: UInt64?
        public var environmentCopyBad: [Int]
    }

    public var definitions: [Definitions]
    public var firmware: Firmware
    public var activated: Bool

    public static func collect(_ paths: BoxPaths, now: UInt64 = UInt64(Date().timeIntervalSince1970)) -> UpdateStatus {
        let store = paths.definitionStore
        let defs = ArtifactKind.definitions.map { k -> Definitions in
            let c = store.current(k)
            return Definitions(kind: k.name, sequence: c?.sequence, previous: store.previous(k)?.sequence,
                               ageSeconds: c.map { now >= $0.created ? now - $0.created : 0 },
                               expires: c?.expires, installed: c?.installed)
        }
        let fw = FirmwareUpdater(layout: paths.firmware, keyring: Keyring())
        let env = fw.environment()
        let running = fw.runningSlot()
        let boot = env["boot_slot"] ?? "a"
        let upgrade = env["upgrade_available"] == "1"
        let firmware = Firmware(bootSlot: boot, runningSlot: running, versionA: env["fw_version_a"], versionB: env["fw_version_b"],
                                upgradeAvailable: upgrade, bootcount: env.number("bootcount"),
                                bootlimit: env["bootlimit"].flatMap { Int($0) } ?? 3,
                                good: !upgrade && (running == nil || running == boot), rebootAt: fw.scheduledReboot(),
                                environmentCopyBad: env.badCopies)
        return UpdateStatus(definitions: defs, firmware: firmware, activated: FactoryReset.isActivated(paths))
    }

    public var lines: [String] {
        var out: [String] = []
        for d in definitions {
            if let s = d.sequence {
                out.append("\(d.kind): v\(s), \(d.ageSeconds.map { "\($0 / 3600) h" } ?? "?") old"
                           + (d.previous.map { ", previous v\($0)" } ?? ", no previous"))
            } else {
                out.append("\(d.kind): none installed")
            }
        }
        let f = firmware
        out.append("firmware: boot slot \(f.bootSlot), running \(f.runningSlot ?? "unknown"); a=\(f.versionA ?? "factory") b=\(f.versionB ?? "factory"); "
                   + (f.upgradeAvailable ? "on trial, boot \(f.bootcount) of \(f.bootlimit)" : (f.good ? "good" : "not good"))
                   + (f.rebootAt.map { "; reboot at \($0)" } ?? ""))
        if f.environmentCopyBad.count == 2 {
            out.append("warning: no valid boot environment copy: the defaults are in use")
        } else if let bad = f.environmentCopyBad.first {
            out.append("warning: boot environment copy \(bad == 0 ? "primary" : "redundant") invalid (the other is used)")
        }
        out.append("activated: \(activated ? "yes" : "no")")
        return out
    }
}
