import Foundation
import UTMEngine
import UTMSystem
import UTMWebFilter

/// Builds the engine configuration from the definitions the daemon configuration names
/// (at start and on every SIGHUP). Category data that cannot be loaded is a warning: traffic
/// keeps flowing, filtered by the customer entries only [001 3.4.5(2)]. A web filter settings
/// file that cannot be read or that the policy refuses is an error (at start: exit; on reload:
/// the running definitions stay).
enum Definitions {
    static func engineConfig(_ c: DaemonConfig, warn: (String) -> Void) throws -> EngineConfig {
        var config = EngineConfig()
        if !c.rules.isEmpty {
            for path in c.rules where !FileManager.default.isReadableFile(atPath: path) {
                throw ConfigError("rules: cannot read \(path)")
            }
            warn("warning: rules: the IPS is not in the engine yet; \(c.rules.count) rule file(s) ignored")
        }
        if !c.avDB.isEmpty { warn("warning: av_db: antivirus is not in the engine yet; signatures ignored") }
        guard c.categories != nil || c.webfilter != nil else { return config }
        let settings = try c.webfilter.map { try WebFilterConfig.load(path: $0) } ?? WebFilterConfig()
        var database: CategoryDatabase?
        if let path = c.categories {
            do {
                database = try loadCategories(path)
            } catch {
                warn("warning: categories \(path): \(error); running without category data")
            }
        }
        try config.applyWebFilter(config: settings, database: database)
        return config
    }

    /// A folder (UT1 layout) is compiled in memory; a file from `utmctl defs compile` is mapped.
    static func loadCategories(_ path: String) throws -> CategoryDatabase {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ConfigError("no such file or folder")
        }
        if isDir.boolValue {
            let compiled = try CategoryCompiler.compile(directory: path)
            return try CategoryDatabase(copying: compiled.bytes)
        }
        let file = try MappedFile(path: path)
        return try CategoryDatabase(bytes: file.bytes, owner: file)
    }
}
