import ArgumentParser
import UTMUpdate

/// `utmctl firmware status`: slots, versions, trial state.
struct FirmwareStatus: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the firmware slots.")

    @OptionGroup var box: BoxOptions

    func run() throws {
        let s = UpdateStatus.collect(box.paths)
        for line in s.lines where line.hasPrefix("firmware") || line.hasPrefix("warning") { print(line) }
    }
}
