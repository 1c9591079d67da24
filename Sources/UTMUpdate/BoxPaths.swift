/// Every path the control plane owns, named once, so the factory wipe and the status report
/// cover all of them (including the cloud client's credentials, by name only).
///
/// Defaults follow the FHS on the box; `init(root:)` puts everything under one folder (tests,
/// a development tree).
public struct BoxPaths: Sendable {
    /// Customer settings (web filter, zones) written by the control plane.
    public var configDirectory: String
    /// Factory copies of the settings, on the read-only root file system.
    public var factoryConfigDirectory: String
    /// Mutable state: event store, definitions, credentials, firmware schedule.
    public var stateDirectory: String
    /// EVE logs and other logs.
    public var logDirectory: String
    /// Device credentials from activation (client certificate and key); the cloud client
    /// writes them, the wipe removes them. Empty or absent = not activated.
    public var credentialsDirectory: String
    /// The SQLite event store (and its -wal, -shm files).
    public var eventStore: String
    /// The definition store (`DefinitionStore`).
    public var definitionsDirectory: String
    /// The factory definition set on the root file system: one folder per kind.
    public var factoryDefinitionsDirectory: String
    /// Trusted public keys (*.pub, hex), on the root file system.
    public var keysDirectory: String
    /// The firmware layout (slots, boot environment, reboot schedule).
    public var firmware: FirmwareLayout

    public init(root: String = "") {
        configDirectory = root + "/etc/mimamori"
        factoryConfigDirectory = root + "/usr/share/mimamori/factory/etc"
        stateDirectory = root + "/var/lib/mimamori"
        logDirectory = root + "/var/log/mimamori"
        credentialsDirectory = root + "/var/lib/mimamori/cloud"
        eventStore = root + "/var/lib/mimamori/events.db"
        definitionsDirectory = root + "/var/lib/mimamori/definitions"
        factoryDefinitionsDirectory = root + "/usr/share/mimamori/definitions"
        keysDirectory = root + "/usr/share/mimamori/keys"
        if root.isEmpty {
            firmware = FirmwareLayout(slotA: "/dev/disk/by-partlabel/rootfs_a", slotB: "/dev/disk/by-partlabel/rootfs_b",
                                      envPrimary: "/dev/disk/by-partlabel/ubootenv", envRedundant: "/dev/disk/by-partlabel/ubootenv_redund",
                                      cmdline: "/proc/cmdline", rebootSchedule: "/var/lib/mimamori/firmware/reboot-at")
        } else {
            firmware = FirmwareLayout(directory: root + "/firmware")
            firmware.rebootSchedule = stateDirectory + "/firmware/reboot-at"
        }
    }

    public var definitionStore: DefinitionStore { DefinitionStore(root: definitionsDirectory) }
}
