import ArgumentParser

/// `utmctl firmware`: the A/B firmware update (firmware/README.md).
struct Firmware: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stage a signed firmware image, schedule the reboot, mark the new system good.",
        subcommands: [FirmwareStage.self, FirmwareStatus.self, FirmwareMarkGood.self, FirmwareRebootAt.self]
    )
}
