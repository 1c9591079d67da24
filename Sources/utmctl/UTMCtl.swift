import ArgumentParser

/// The operator's command-line tool: replay captures through the engine today; status,
/// diagnostics, logs and definitions as the daemon grows.
@main
struct UTMCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "utmctl",
        abstract: "Control and inspect the Mimamori UTM engine.",
        discussion: """
            Start with `utmctl replay CAPTURE --eve events.json` to run a capture file through \
            the same engine the box runs inline, and read what it saw as Suricata-style EVE JSON.
            """,
        subcommands: [Replay.self, Rules.self, Defs.self, Logs.self,
                      Status.self, Flows.self, Diag.self, Alerts.self, ReportCommand.self,
                      Activate.self, Firmware.self, Wipe.self, Scan.self]
    )
}
