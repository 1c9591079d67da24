import Foundation
import UTMEngine

/// Loading ClamAV signatures for `utmctl replay --av-db FILE...`. A file that cannot be read
/// is bad input (one-line failure); lines the engine cannot use are warnings with file:line and
/// reason, and the rest of the database loads [001 3.4.5(2)].
enum ReplayAntivirus {
    static func apply(_ paths: [String], to config: inout EngineConfig, warn: (String) -> Void) throws {
        guard !paths.isEmpty else { return }
        var files: [(path: String, bytes: [UInt8])] = []
        for p in paths {
            guard let data = FileManager.default.contents(atPath: p) else {
                throw ReplayOptionError(description: "--av-db \(p): cannot read the file")
            }
            files.append((p, [UInt8](data)))
        }
        let (av, warnings, loaded) = EngineAntivirusConfig.load(files)
        for w in warnings { warn("warning: --av-db \(w)") }
        if loaded == 0 { warn("warning: --av-db: no signature loaded; only the built-in EICAR test signature is active") }
        config.applyAntivirus(av)
    }
}
