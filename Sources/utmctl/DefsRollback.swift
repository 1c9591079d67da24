import ArgumentParser
import UTMUpdate

extension Defs {
    /// `utmctl defs rollback KIND`: back to the previous set of one kind.
    struct Rollback: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the previous definition set of a kind current again.")

        @OptionGroup var box: BoxOptions

        @Argument(help: "ips, av or categories.")
        var kind: String

        func run() throws {
            let k = try parseKind(kind)
            do {
                let v = try box.paths.definitionStore.rollback(k)
                print("\(k.name): v\(v.sequence) is current again; utmd (with update.definitions) reloads it within seconds")
            } catch {
                throw fail("\(error)")
            }
        }
    }
}
