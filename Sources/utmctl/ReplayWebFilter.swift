import Foundation
import UTMEngine
import UTMSystem
import UTMWebFilter

/// Loading the web filter for `utmctl replay`: category data (a UT1 folder compiled in memory,
/// or a database file from `utmctl defs compile`) and the customer configuration.
enum ReplayWebFilter {
    /// Sets `config.webFilter` (and app restrictions) from the options. Category data that
    /// cannot be loaded is a warning, not a failure: traffic keeps flowing, filtered by the
    /// customer entries only [001 3.4.5(2)]. A configuration file that cannot be read or that
    /// the policy refuses is bad input: it throws its one-line reason.
    static func apply(categories: String?, configPath: String?, to config: inout EngineConfig,
                      warn: (String) -> Void) throws {
        guard categories != nil || configPath != nil else { return }
        let settings = try configPath.map { try WebFilterConfig.load(path: $0) } ?? WebFilterConfig()
        var database: CategoryDatabase?
        if let categories {
            do {
                database = try load(categories)
            } catch {
                warn("warning: --categories \(categories): \(error); running without category data (traffic is not filtered by category)")
            }
        }
        try config.applyWebFilter(config: settings, database: database)
    }

    /// A folder is compiled in memory (UT1 layout, or its parent); a file is mapped.
    static func load(_ path: String) throws -> CategoryDatabase {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ReplayOptionError(description: "\(path): no such file or folder")
        }
        if isDir.boolValue {
            let compiled = try CategoryCompiler.compile(directory: path)
            return try CategoryDatabase(copying: compiled.bytes)
        }
        let file = try MappedFile(path: path)
        return try CategoryDatabase(bytes: file.bytes, owner: file)
    }
}
