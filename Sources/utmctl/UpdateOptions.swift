import ArgumentParser
import Foundation
import UTMUpdate

/// Where the box's update state lives, for `defs install|status|rollback`, `firmware` and
/// `wipe`: the FHS paths of BoxPaths, or everything under `--root` (a development tree, tests).
struct BoxOptions: ParsableArguments {
    @Option(name: .long, help: "Prefix every box path with this folder (default: the real paths, /etc /var/lib ...).")
    var root: String = ""

    @Option(name: .long, help: "Trusted public key files or folders of *.pub (default: the box's keys folder).")
    var keys: [String] = []

    var paths: BoxPaths { BoxPaths(root: root) }

    func keyring() throws -> Keyring {
        do {
            return try Keyring.load(paths: keys.isEmpty ? [paths.keysDirectory] : keys)
        } catch {
            throw fail("\(error)")
        }
    }
}

var unixNow: UInt64 { UInt64(Date().timeIntervalSince1970) }

func parseKind(_ name: String) throws -> ArtifactKind {
    guard let k = ArtifactKind(name: name) else { throw fail("unknown kind \(name) (ips, av, categories, firmware)") }
    return k
}
