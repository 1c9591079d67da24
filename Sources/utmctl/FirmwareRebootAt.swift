import ArgumentParser
import UTMUpdate

/// `utmctl firmware reboot-at TIME`: when utmd reboots into the staged slot.
struct FirmwareRebootAt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reboot-at", abstract: "Schedule the reboot into the staged firmware (Unix seconds, or +SECONDS).")

    @OptionGroup var box: BoxOptions

    @Argument(help: "Unix time, or +N for N seconds from now.")
    var time: String

    func run() throws {
        let at: UInt64
        if time.hasPrefix("+"), let n = UInt64(time.dropFirst()) {
            at = unixNow + n
        } else if let t = UInt64(time) {
            at = t
        } else {
            throw fail("reboot-at: \(time) is not a Unix time or +SECONDS")
        }
        do {
            try FirmwareUpdater(layout: box.paths.firmware, keyring: Keyring()).scheduleReboot(at: at)
        } catch {
            throw fail("\(error)")
        }
        print("reboot scheduled at \(at)")
    }
}
