import ArgumentParser
import UTMSystem
import UTMUpdate

extension Defs {
    /// `utmctl defs verify ARTIFACT`: the checks a box makes before installing, and the header.
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check an artifact's signature, digest and expiry against the trusted keys.")

        @OptionGroup var box: BoxOptions

        @Argument(help: "The artifact.")
        var artifact: String

        func run() throws {
            let keyring = try box.keyring()
            do {
                let a = try SignedArtifact.open(try readWholeFile(artifact), keyring: keyring, now: unixNow)
                var line = "\(artifact): ok: \(a.kind.name) sequence \(a.sequence), key \(hex(a.keyID)), created \(a.created), expires \(a.expires), \(a.payload.count) payload bytes"
                if a.kind != .firmware {
                    let files = try PayloadArchive.decode(a.payload)
                    line += "; files: " + files.map { "\($0.name) (\($0.bytes.count))" }.joined(separator: ", ")
                }
                print(line)
            } catch {
                throw fail("\(artifact): \(error)")
            }
        }
    }
}
