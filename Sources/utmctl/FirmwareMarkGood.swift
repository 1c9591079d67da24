import ArgumentParser
import UTMUpdate

/// `utmctl firmware mark-good`: what utmd does after its health check, by hand.
struct FirmwareMarkGood: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mark-good", abstract: "Keep the running slot (stop the bootloader's boot counter).")

    @OptionGroup var box: BoxOptions

    func run() throws {
        let updater = FirmwareUpdater(layout: box.paths.firmware, keyring: Keyring())
        do {
            print(try updater.markGood() ? "marked good: slot \(updater.runningSlot() ?? "?") stays"
                  : "nothing to mark: no slot on trial, or it is not the one running")
        } catch {
            throw fail("\(error)")
        }
    }
}
