import ArgumentParser
import UTMSystem
import UTMUpdate

extension Defs {
    /// `utmctl defs install ARTIFACT`: verify, load, self-test, swap (DefinitionUpdater). utmd
    /// picks the new set up on SIGHUP (`systemctl reload utmd`).
    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Install a signed definition artifact into the definition store.")

        @OptionGroup var box: BoxOptions

        @Argument(help: "The artifact.")
        var artifact: String

        func run() throws {
            let updater = DefinitionUpdater(store: box.paths.definitionStore, keyring: try box.keyring())
            let outcome: DefinitionUpdater.Outcome
            do {
                outcome = try updater.install(try readWholeFile(artifact))
            } catch {
                throw fail("\(artifact): \(error)")
            }
            if case .rolledBack = outcome { throw fail("\(outcome)") }
            print("\(outcome); utmd (with update.definitions) reloads it within seconds")
        }
    }
}
