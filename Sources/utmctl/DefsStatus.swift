import ArgumentParser
import Foundation
import UTMUpdate

extension Defs {
    /// `utmctl defs status`: installed definition and firmware versions (UpdateStatus).
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show installed definition versions, their age, and the firmware slots.")

        @OptionGroup var box: BoxOptions

        @Flag(name: .long, help: "JSON instead of text.")
        var json = false

        func run() throws {
            let status = UpdateStatus.collect(box.paths)
            if json {
                let enc = JSONEncoder()
                enc.outputFormatting = [.sortedKeys]
                print(String(decoding: try enc.encode(status), as: UTF8.self))
            } else {
                for line in status.lines { print(line) }
            }
        }
    }
}
