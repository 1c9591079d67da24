import ArgumentParser
import UTMSystem
import UTMUpdate

/// `utmctl firmware stage IMAGE`: verify and write to the inactive slot; the next boot tries it.
struct FirmwareStage: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stage", abstract: "Write a signed firmware image to the inactive slot.")

    @OptionGroup var box: BoxOptions

    @Argument(help: "The signed image (`utmctl defs sign --kind firmware`).")
    var image: String

    func run() throws {
        let updater = FirmwareUpdater(layout: box.paths.firmware, keyring: try box.keyring())
        do {
            let slot = try updater.stage(try readWholeFile(image))
            print("staged into slot \(slot); it boots at the next reboot (`utmctl firmware reboot-at`)")
        } catch {
            throw fail("\(image): \(error)")
        }
    }
}
