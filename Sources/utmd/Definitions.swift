import Foundation
import UTMDetect
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
        config.bypass = c.bypass
        var explicit = false
        for item in c.engineSettings {
            _ = try? ReplaySettings.apply(item, to: &config, explicitMidstreamPolicy: &explicit)
        }
        for path in c.rules where !FileManager.default.isReadableFile(atPath: path) {
            throw ConfigError("rules: cannot read \(path)")
        }
        // Checked here too, before the network is touched (and by --check).
        _ = try thresholds(c)
        _ = try ruleFilters(c)
        if let f = c.ruleFilterFiles.first {
            for path in c.rules {
                let head = FileHandle(forReadingAtPath: path).map { h in defer { try? h.close() }; return (try? h.read(upToCount: 8)) ?? Data() } ?? Data()
                if DefinitionsBundle.isBundle(prefix: [UInt8](head)) {
                    throw ConfigError("ips_\(f.kind.rawValue)_conf: \(path) is a compiled bundle; its filters were applied by 'utmctl defs compile'")
                }
            }
        }
        if !c.avDB.isEmpty {
            var files: [(path: String, bytes: [UInt8])] = []
            for path in c.avDB {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw ConfigError("av_db: cannot read \(path)")
                }
                files.append((path, [UInt8](data)))
            }
            let (av, warnings, loaded) = EngineAntivirusConfig.load(files)
            for w in warnings.prefix(20) { warn("warning: av_db \(w)") }
            warn("antivirus: \(loaded) signatures loaded from \(c.avDB.count) file(s)")
            config.applyAntivirus(av)
        }
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

    /// The IPS rules, parsed once per worker: a signature's PCRE match block must not be shared
    /// between threads. A rule that does not parse is a warning with file:line (never fatal,
    /// like Suricata); an unreadable file is an error.
    static func detection(_ c: DaemonConfig, warn: (String) -> Void) throws -> DetectDefinitions? {
        guard !c.rules.isEmpty else { return nil }
        var parser = RuleParser()
        parser.filters = try ruleFilters(c)
        // Dataset lists and filemd5/sha1/sha256 hash lists, resolved beside the rule file.
        parser.fileReader = { try readWholeFile($0, limit: RuleListFile.maxBytes) }
        for path in c.rules {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigError("rules: cannot read \(path)")
            }
            // One IPS bundle (`utmctl defs compile --rules`, or an installed update set).
            if c.rules.count == 1, DefinitionsBundle.isBundle(prefix: [UInt8](data.prefix(8))) {
                if let f = c.ruleFilterFiles.first {
                    throw ConfigError("ips_\(f.kind.rawValue)_conf: \(path) is a compiled bundle; its filters were applied by 'utmctl defs compile'")
                }
                do { return try DefinitionsBundle.decode([UInt8](data), file: path) } catch { throw ConfigError("\(error)") }
            }
            parser.load(text: String(decoding: data, as: UTF8.self), file: path)
        }
        let set = parser.finish()
        for e in (set.report.errors + set.report.skipped).prefix(20) { warn("warning: \(e.description)") }
        if parser.filters != nil {
            let f = set.report.filtered
            for w in set.report.warnings where w.contains("modify.conf") { warn("warning: \(w)") }
            warn("rules: filters disabled \(f.disabled), enabled \(f.enabled), dropped \(f.dropped), modified \(f.modified)")
            if f.flowbitEnabled > 0 { warn("rules: re-enabled \(f.flowbitEnabled) left-out rules as noalert: they set flowbits that loaded rules check") }
        }
        warn("rules: loaded \(set.report.loaded) of \(set.report.enabledRules) rules")
        return DetectDefinitions(ruleSet: set)
    }

    /// Whether engines built from `fresh` (engine configuration `ec`) are the running ones with
    /// other definitions: the same engine settings and bypass, and the same limits the
    /// definitions raise (antivirus switched on lifts body and stream depth limits to its file
    /// size, which the running parsers and reassembler were built without). Then the running
    /// engines adopt the new definitions and keep their flows; otherwise whole engines are built.
    static func sameEngine(_ fresh: DaemonConfig, _ ec: EngineConfig, as running: DaemonConfig, _ runningEC: EngineConfig) -> Bool {
        fresh.engineSettings == running.engineSettings && fresh.bypass == running.bypass
            && ec.flow.streamDepth == runningEC.flow.streamDepth && ec.flow.capacity == runningEC.flow.capacity
            && ec.http.maxBodyInspect == runningEC.http.maxBodyInspect
            && ec.http2.maxBodyInspect == runningEC.http2.maxBodyInspect
    }

    /// One worker's engine: the shared configuration plus its own parsed rules. `sharing`:
    /// the per-host detection state (thresholds, host bits) of the engine built before it from
    /// the same configuration (the first worker's), which this one shares.
    static func makeEngine(_ config: EngineConfig, _ c: DaemonConfig, sharing: SharedHostState? = nil,
                           warn: (String) -> Void) throws -> Engine {
        let defs = try makeDefinitions(config, c, flowCapacity: Engine.flowCapacity(config), sharing: sharing, warn: warn)
        return Engine(config: config, definitions: defs)
    }

    /// One worker's definitions (rules, their thresholds, firewall rules, and the configuration's
    /// web filter, app restrictions and antivirus), for a running engine of `flowCapacity` flows to
    /// adopt at a reload (`Engine.adopt`: flows are kept) or for a new engine.
    static func makeDefinitions(_ config: EngineConfig, _ c: DaemonConfig, flowCapacity: Int,
                                sharing: SharedHostState? = nil, warn: (String) -> Void) throws -> EngineDefinitions {
        var config = config
        config.firewall = try FirewallMode.ruleSet(c, warn: warn)
        let defs = EngineDefinitions(config: config, flowCapacity: flowCapacity)
        if let rules = try detection(c, warn: warn) {
            defs.loadDetection(rules, sharing: sharing)
            defs.detect?.setEventFilters(try thresholds(c))
        } else if c.thresholdFile != nil {
            warn("warning: threshold_file: no IPS rules are loaded, so it has nothing to filter")
        }
        if c.rules.isEmpty, let f = c.ruleFilterFiles.first {
            warn("warning: ips_\(f.kind.rawValue)_conf: no IPS rules are loaded, so it has nothing to filter")
        }
        return defs
    }

    /// The threshold.config, parsed per worker like the rules. A file that cannot be read or
    /// a line that does not parse is an error naming file:line: a suppression silently lost
    /// would turn a known false positive back into blocked traffic.
    static func thresholds(_ c: DaemonConfig) throws -> ThresholdConfig? {
        guard let path = c.thresholdFile else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError("threshold_file: cannot read \(path)")
        }
        do {
            return try ThresholdConfig.parse(String(decoding: data, as: UTF8.self), name: path)
        } catch {
            throw ConfigError("threshold_file: \(error)")
        }
    }

    /// The suricata-update filter files, parsed per worker like the rules (a `re:` matcher owns
    /// PCRE2 match data). A file that cannot be read or a bad line is an error naming file:line:
    /// a drop lost would let an intrusion through, a disable lost would block a known false positive.
    static func ruleFilters(_ c: DaemonConfig) throws -> RuleFilters? {
        guard !c.ruleFilterFiles.isEmpty else { return nil }
        var filters = RuleFilters()
        for (kind, path) in c.ruleFilterFiles {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigError("ips_\(kind.rawValue)_conf: cannot read \(path)")
            }
            do {
                try filters.add(String(decoding: data, as: UTF8.self), kind: kind, name: path)
            } catch {
                throw ConfigError("ips_\(kind.rawValue)_conf: \(error.file):\(error.line): \(error.message)")
            }
        }
        return filters
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
