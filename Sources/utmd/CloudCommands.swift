import Foundation
import UTMBoxAgent
import UTMCloudClient
import UTMUpdate

/// The cloud's commands, wired to the update and wipe code (UTMBoxAgent): update definitions
/// now, stage new firmware and schedule the reboot, factory wipe. The box's paths are the
/// configuration's where it names them (`update.definitions`, `update.firmware`, `cloud.store`,
/// `cloud.credentials`, `update.keys`), the FHS defaults otherwise; `update.root = DIR` moves
/// every other path (logs, settings) under DIR, for a development tree or a test.
enum CloudCommands {
    static func paths(_ c: DaemonConfig) -> BoxPaths {
        var p = BoxPaths(root: c.updates["root"] ?? "")
        if let d = c.updates["definitions"] { p.definitionsDirectory = d }
        switch c.updates["firmware"] {
        case nil, "box": break
        case let dir?: p.firmware = FirmwareLayout(directory: dir)
        }
        if let k = c.updates["keys"] { p.keysDirectory = k }
        p.eventStore = c.cloud["store"] ?? p.eventStore
        p.credentialsDirectory = c.cloud["credentials"] ?? p.credentialsDirectory
        return p
    }

    /// The handler, or nil (commands are then logged only) when the trusted keys cannot be read:
    /// without keys nothing could be installed anyway.
    static func handler(_ c: DaemonConfig, log: @escaping @Sendable (String) -> Void) -> BoxCommandHandler? {
        let p = paths(c)
        do {
            let keyring = try Keyring.load(paths: [p.keysDirectory])
            return BoxCommandHandler(paths: p, keyring: keyring, log: log)
        } catch {
            log("cloud: update keys: \(error); cloud commands are logged, not carried out")
            return nil
        }
    }
}
