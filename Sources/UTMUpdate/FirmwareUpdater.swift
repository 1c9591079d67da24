import Foundation
import UTMCrypto
import UTMSystem

/// Where the A/B firmware lives (firmware/README.md). On a box: two root partitions, the env
/// partition(s) and /proc/cmdline; in tests, plain files under a temporary folder.
public struct FirmwareLayout: Sendable {
    public var slotA: String
    public var slotB: String
    public var envPrimary: String
    public var envRedundant: String
    /// The kernel command line; the bootloader passes `mimamori.slot=a|b` (which slot runs).
    public var cmdline: String = "/proc/cmdline"
    /// The scheduled reboot (`reboot-at`, Unix seconds), in the state directory.
    public var rebootSchedule: String

    public init(slotA: String, slotB: String, envPrimary: String, envRedundant: String,
                cmdline: String = "/proc/cmdline", rebootSchedule: String) {
        self.slotA = slotA
        self.slotB = slotB
        self.envPrimary = envPrimary
        self.envRedundant = envRedundant
        self.cmdline = cmdline
        self.rebootSchedule = rebootSchedule
    }

    /// Every path under one folder (tests, a development box).
    public init(directory d: String) {
        self.init(slotA: d + "/slot-a.img", slotB: d + "/slot-b.img", envPrimary: d + "/uboot.env",
                  envRedundant: d + "/uboot-redund.env", cmdline: d + "/cmdline", rebootSchedule: d + "/reboot-at")
    }

    public func slotPath(_ slot: String) -> String { slot == "b" ? slotB : slotA }
    public static func other(_ slot: String) -> String { slot == "b" ? "a" : "b" }
}

/// NEC-style firmware update: a signed image goes to the inactive slot, the bootloader
/// environment is switched in one redundant write, the reboot happens when the customer (or
/// the cloud) chose, and the new system marks itself good only after utmd's health check.
///
/// Power cut at any step (firmware/README.md): before the environment write the bootloader
/// still boots the old slot; the environment write itself is one of two redundant copies;
/// after it, the bootloader's counter falls back to the old slot if the new one never marks
/// itself good. `faultHook` lets tests stop the process at every step.
public struct FirmwareUpdater: Sendable {
    public enum Step: String, Sendable, CaseIterable {
        case verified, imageWritten, imageChecked, environmentWritten
    }

    public let layout: FirmwareLayout
    public let keyring: Keyring
    /// Called after each step; throwing there simulates a crash (tests only).
    public var faultHook: (@Sendable (Step) throws -> Void)?

    public init(layout: FirmwareLayout, keyring: Keyring) {
        self.layout = layout
        self.keyring = keyring
    }

    public func environment() -> BootEnvironment {
        BootEnvironment.load(primary: layout.envPrimary, redundant: layout.envRedundant)
    }

    /// The slot running now, from the kernel command line; nil when it does not say.
    public func runningSlot() -> String? {
        guard let data = FileManager.default.contents(atPath: layout.cmdline) else { return nil }
        for word in String(decoding: data, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        where word.hasPrefix("mimamori.slot=") {
            let v = String(word.dropFirst("mimamori.slot=".count))
            if v == "a" || v == "b" { return v }
        }
        return nil
    }

    /// Verifies a signed firmware image and writes it to the slot not booted now; the next
    /// boot tries it (upgrade_available=1, bootcount=0). Returns the slot written.
    @discardableResult
    public func stage(_ bytes: [UInt8], now: UInt64 = UInt64(Date().timeIntervalSince1970)) throws -> String {
        let artifact = try SignedArtifact.open(bytes, keyring: keyring, now: now)
        guard artifact.kind == .firmware else {
            throw ArtifactError(.wrongKind, "artifact: \(artifact.kind.name) definitions, not a firmware image")
        }
        var env = environment()
        let active = runningSlot() ?? env["boot_slot"] ?? "a"
        let running = UInt64(env["fw_version_\(active)"] ?? "0") ?? 0
        guard artifact.sequence > running else {
            throw ArtifactError(.downgrade, "artifact: firmware version \(artifact.sequence) is not newer than the running \(running) (downgrade refused)")
        }
        try faultHook?(.verified)
        let target = FirmwareLayout.other(active)
        // The target slot is not bootable from here until the environment names it again.
        try env.update(["fw_version_\(target)": nil, "fw_sha256_\(target)": nil])
        try DurableFile.overwrite(artifact.payload, at: layout.slotPath(target), truncate: true)
        try faultHook?(.imageWritten)
        guard let written = FileManager.default.contents(atPath: layout.slotPath(target)),
              OneShotSHA256.hash([UInt8](written.prefix(artifact.payload.count))) == artifact.payloadDigest else {
            throw UpdateError("firmware: slot \(target) does not read back as written (\(layout.slotPath(target)))")
        }
        try faultHook?(.imageChecked)
        try env.update(["fw_version_\(target)": "\(artifact.sequence)", "fw_sha256_\(target)": hex(artifact.payloadDigest),
                        "fw_size_\(target)": "\(artifact.payload.count)",
                        "boot_slot": target, "upgrade_available": "1", "bootcount": "0"])
        try faultHook?(.environmentWritten)
        return target
    }

    /// The new system is healthy: stop counting boots, so the bootloader keeps this slot.
    /// Only when the running slot is the one being tried (not on the old system before the
    /// reboot). Returns true when it marked.
    @discardableResult
    public func markGood() throws -> Bool {
        var env = environment()
        guard env["upgrade_available"] == "1" else { return false }
        guard let slot = runningSlot(), slot == env["boot_slot"] else { return false }
        try env.update(["upgrade_available": "0", "bootcount": "0"])
        return true
    }

    /// Records when to reboot into the staged slot (Unix seconds); utmd reboots then.
    public func scheduleReboot(at time: UInt64) throws {
        if let slash = layout.rebootSchedule.lastIndex(of: "/") {
            try FileManager.default.createDirectory(atPath: String(layout.rebootSchedule[..<slash]), withIntermediateDirectories: true)
        }
        try DurableFile.write(Array("\(time)\n".utf8), to: layout.rebootSchedule)
    }

    public func scheduledReboot() -> UInt64? {
        FileManager.default.contents(atPath: layout.rebootSchedule)
            .flatMap { UInt64(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// True when a reboot is scheduled at or before `now`; clears the schedule so it runs once.
    public func takeDueReboot(now: UInt64) -> Bool {
        guard let at = scheduledReboot(), at <= now else { return false }
        try? FileManager.default.removeItem(atPath: layout.rebootSchedule)
        return true
    }
}

/// The bootloader's side of the A/B scheme, as U-Boot runs it with CONFIG_BOOTCOUNT_ENV
/// (bootcmd/altbootcmd) or GRUB with a grubenv script (firmware/README.md), so tests can boot
/// the file-backed layout:
///
///     if upgrade_available == 1: bootcount += 1 (saved)
///     if bootcount > bootlimit: altbootcmd — boot_slot = other slot, upgrade_available = 0,
///                                bootcount = 0 (saved)
///     if the chosen slot's image does not match its recorded SHA-256: boot the other slot
///     boot; the kernel command line carries mimamori.slot=<slot>
public struct BootloaderSimulator: Sendable {
    public let layout: FirmwareLayout

    public init(layout: FirmwareLayout) {
        self.layout = layout
    }

    /// One power-on. Returns the slot booted.
    @discardableResult
    public func boot() throws -> String {
        var env = BootEnvironment.load(primary: layout.envPrimary, redundant: layout.envRedundant)
        if env["upgrade_available"] == "1" {
            let count = env.number("bootcount") + 1
            try env.update(["bootcount": "\(count)"])
            let limit = env["bootlimit"].flatMap { Int($0) } ?? 3
            if count > limit {
                try env.update(["boot_slot": FirmwareLayout.other(env["boot_slot"] ?? "a"), "upgrade_available": "0",
                                "bootcount": "0"])
            }
        }
        var slot = env["boot_slot"] ?? "a"
        if !imageValid(env, slot) { slot = FirmwareLayout.other(slot) }
        try DurableFile.write(Array("console=ttyS0 root=PARTLABEL=rootfs_\(slot) mimamori.slot=\(slot)\n".utf8), to: layout.cmdline)
        return slot
    }

    /// A slot whose image hash is recorded must match it (a factory slot records none).
    public func imageValid(_ env: BootEnvironment, _ slot: String) -> Bool {
        guard let expected = env["fw_sha256_\(slot)"] else { return true }
        guard let data = FileManager.default.contents(atPath: layout.slotPath(slot)) else { return false }
        let size = env["fw_size_\(slot)"].flatMap { Int($0) } ?? data.count
        return hex(OneShotSHA256.hash([UInt8](data.prefix(size)))) == expected
    }
}
