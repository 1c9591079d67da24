import ArgumentParser
import Foundation
import UTMCloudService
import UTMUpdate

/// `mimamori-cloud publish FILE...`: offer signed artifacts to every box. The header is read
/// (kind, sequence) but the signature is not checked here — boxes check it, with their keys.
struct Publish: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Offer signed definition sets or firmware images (from `utmctl defs sign`) to the boxes.",
        discussion: """
            Boxes fetch what is newer than what they have when the cloud commands an update \
            (`mimamori-cloud command SERIAL update-defs`, or `reboot-at` for firmware).
            """)
    @OptionGroup var data: DataOption
    @Argument(help: "Signed artifact files (MIMASIG1).")
    var files: [String]

    func run() {
        do {
            let service = try CloudService(config: config(data.data), log: stderrLog)
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { throw CloudPublishError("\(file): cannot read") }
                let bytes = [UInt8](data)
                let artifact: SignedArtifact
                do { artifact = try SignedArtifact.parse(bytes) } catch { throw CloudPublishError("\(file): \(error)") }
                try service.publish(bytes, kind: artifact.kind.name, sequence: artifact.sequence)
                print("\(file): \(artifact.kind.name) v\(artifact.sequence) published")
            }
        } catch { fail(error) }
    }
}

struct CloudPublishError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
