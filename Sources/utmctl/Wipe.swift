import ArgumentParser
import UTMUpdate

/// `utmctl wipe --yes`: factory wipe at contract end (FactoryReset).
struct Wipe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Erase logs, events, settings, credentials and definitions; back to the unactivated factory state.")

    @OptionGroup var box: BoxOptions

    @Flag(name: .long, help: "Really wipe (required).")
    var yes = false

    func run() throws {
        guard yes else { throw fail("wipe erases the box's data and credentials; give --yes to do it") }
        do {
            let report = try FactoryReset.wipe(box.paths)
            print("wiped \(report.removed.count) item(s); restored: \(report.restored.isEmpty ? "nothing (no factory set)" : report.restored.joined(separator: ", "))")
            print("the box is not activated; stop utmd and reboot")
        } catch {
            throw fail("wipe: \(error)")
        }
    }
}
