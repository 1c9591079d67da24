import Foundation
import UTMDetect
import UTMEngine
import UTMSystem
import UTMWebFilter

/// A full definition set loaded with the engine's real loaders, ready to build engines from.
public struct LoadedDefinitions {
    /// Antivirus and web filter (the category database) applied.
    public var engineConfig: EngineConfig
    /// The IPS rules (nil when no IPS set is installed).
    public var detection: DetectDefinitions?
    /// One line per kind: what was loaded.
    public var summary: [String] = []
    public var warnings: [String] = []

    /// A fresh engine with these definitions (one per worker).
    public func makeEngine() -> Engine {
        let engine = Engine(config: engineConfig)
        if let detection { engine.loadDetection(detection) }
        return engine
    }
}

/// Loads definition sets from version directories: IPS rule files (`*.rules`) or one IPS
/// bundle (`utmctl defs compile --rules`), ClamAV signature files, and a category database
/// (`utmctl defs compile --categories`). A set that cannot be used is an error naming the kind
/// and the file; a few bad lines inside a usable set are warnings, as at start-up.
public enum DefinitionLoader {
    public static func load(ips: DefinitionVersion?, av: DefinitionVersion?, categories: DefinitionVersion?,
                            webFilter: WebFilterConfig = WebFilterConfig()) throws -> LoadedDefinitions {
        var out = LoadedDefinitions(engineConfig: EngineConfig(), detection: nil)
        if let ips {
            out.detection = try loadIPS(ips, into: &out)
        }
        if let av {
            var files: [(path: String, bytes: [UInt8])] = []
            for path in av.files() { files.append((path, try read(path, "av"))) }
            let (config, warnings, loaded) = EngineAntivirusConfig.load(files)
            guard loaded > 0 || files.isEmpty else {
                throw UpdateError("av v\(av.sequence): no usable signature in \(files.count) file(s)"
                                  + (warnings.first.map { " (first problem: \($0))" } ?? ""))
            }
            out.warnings += warnings.prefix(20)
            out.engineConfig.applyAntivirus(config)
            out.summary.append("av v\(av.sequence): \(loaded) signatures from \(files.count) file(s)")
        }
        var database: CategoryDatabase?
        if let categories {
            guard let path = categories.files().first else { throw UpdateError("categories v\(categories.sequence): no database file") }
            do {
                database = try CategoryDatabase(copying: try read(path, "categories"))
            } catch let e as UpdateError {
                throw e
            } catch {
                throw UpdateError("categories v\(categories.sequence): \(path): \(error)")
            }
            out.summary.append("categories v\(categories.sequence): \(database!.domainCount) domains, \(database!.urlCount) urls")
        }
        if database != nil {
            do {
                try out.engineConfig.applyWebFilter(config: webFilter, database: database)
            } catch {
                throw UpdateError("categories v\(categories?.sequence ?? 0): web filter refused the database: \(error)")
            }
        }
        return out
    }

    /// Loads the current version of every kind in `store`, with `candidate` in place of its kind.
    public static func load(store: DefinitionStore, candidate: DefinitionVersion? = nil) throws -> LoadedDefinitions {
        func pick(_ k: ArtifactKind) -> DefinitionVersion? { candidate?.kind == k ? candidate : store.current(k) }
        return try load(ips: pick(.ips), av: pick(.av), categories: pick(.categories))
    }

    static func loadIPS(_ v: DefinitionVersion, into out: inout LoadedDefinitions) throws -> DetectDefinitions {
        let files = v.files()
        guard !files.isEmpty else { throw UpdateError("ips v\(v.sequence): no rule file") }
        if files.count == 1, let bytes = try? read(files[0], "ips"), DefinitionsBundle.isBundle(prefix: Array(bytes.prefix(8))) {
            do {
                let defs = try DefinitionsBundle.decode(bytes, file: files[0])
                out.summary.append("ips v\(v.sequence): bundle, \(defs.count) rules")
                return defs
            } catch {
                throw UpdateError("ips v\(v.sequence): \(error)")
            }
        }
        var parser = RuleParser()
        // Dataset lists and filemd5/sha1/sha256 hash lists, resolved beside the rule file.
        parser.fileReader = { try readWholeFile($0, limit: RuleListFile.maxBytes) }
        for path in files {
            let bytes = try read(path, "ips")
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw UpdateError("ips v\(v.sequence): \(path): not UTF-8 text (nor an IPS bundle)")
            }
            parser.load(text: text, file: path)
        }
        let set = parser.finish()
        let r = set.report
        guard r.loaded > 0 || r.enabledRules == 0 else {
            throw UpdateError("ips v\(v.sequence): none of \(r.enabledRules) rules loaded"
                              + ((r.errors + r.skipped).first.map { " (first: \($0.description))" } ?? ""))
        }
        out.warnings += (r.errors + r.skipped).prefix(20).map(\.description)
        out.summary.append("ips v\(v.sequence): \(r.loaded) of \(r.enabledRules) rules")
        return DetectDefinitions(ruleSet: set)
    }

    static func read(_ path: String, _ kind: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw UpdateError("\(kind): cannot read \(path)") }
        return [UInt8](data)
    }
}
