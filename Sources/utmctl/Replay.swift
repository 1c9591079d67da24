import ArgumentParser
import UTMCapture
import UTMCore
import UTMDetect
import UTMEngine
import UTMOutput
import UTMSystem

/// `utmctl replay`: the contract CI and the benchmarks rely on (DESIGN.md).
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a capture file (pcap or pcapng) through the engine and write EVE JSON.",
        discussion: """
            Events go to --eve (one JSON object per line; '-' for standard output). When the \
            run ends, one JSON line with packets, bytes, seconds (packet processing only), \
            load_seconds, alerts, peak_rss_bytes and throughput goes to standard error.
            Exit status is non-zero, with a one-line reason, when the capture cannot be read.
            """
    )

    @Argument(help: "The capture file to replay.")
    var capture: String

    @Option(name: .long, help: "Where to write EVE JSON lines ('-' for standard output).")
    var eve: String?

    @Option(name: .long, help: "Suricata rule file(s), or a definitions bundle from 'utmctl defs compile'.")
    var rules: [String] = []

    @Option(name: .long, help: "A compiled IPS definitions bundle ('utmctl defs compile --rules').")
    var defs: String?

    @Option(name: .customLong("av-db"), help: "ClamAV signature file(s) (.hdb .hsb .ndb .ldb). Unusable lines are warnings with file:line; loading time counts in load_seconds.")
    var avDB: [String] = []

    @Option(name: .long, help: "URL categories: a UT1-style folder (compiled in memory) or a database file from 'utmctl defs compile'. Unloadable data is a warning; traffic still flows.")
    var categories: String?

    @Option(name: .customLong("webfilter-config"), help: "Web filter configuration (JSON: level, allow, deny, groups, answerBlockedDNSWithNXDOMAIN, blockedApps). Default: the standard level.")
    var webfilterConfig: String?

    @Flag(name: .long, help: "IDS mode: drop and reject rules only alert (action 'allowed'); nothing is dropped.")
    var ids = false

    @Option(name: .customLong("set"), help: "A Suricata configuration key the engine understands, KEY=VALUE (stream.midstream, stream.async-oneside, stream.midstream-policy, exception-policy, stream.reassembly.depth). Other keys are a warning.")
    var settings: [String] = []

    @OptionGroup var filterOptions: RuleFilterOptions

    @Option(name: .customLong("threshold-file"), help: "A Suricata threshold.config (threshold, event_filter, suppress, rate_filter lines).")
    var thresholdFile: String?

    @Option(name: .customLong("action-order"), help: "Order actions are evaluated in, e.g. pass,drop,reject,alert (Suricata's default). Default: drop,reject,pass,alert. Rule files only, not bundles.")
    var actionOrder: String?

    @Flag(name: .customLong("drop-log-flows"), help: "Write a drop event for every packet of a blocked flow, not only the first.")
    var dropLogFlows = false

    @Option(name: .customLong("firewall-rules"), help: "Suricata 8 firewall-mode rule file(s) (accept/drop with hooks), evaluated before the threat-detection rules; default policies drop what they do not accept. Bad rules are warnings with file:line.")
    var firewallRules: [String] = []

    @Option(name: .customLong("firewall-policy"), help: "A firewall default policy, KEY=ACTIONS below firewall.policies, e.g. packet.filter=accept:hook,alert or app.http1.request-line=accept:tx. Implies firewall mode.")
    var firewallPolicies: [String] = []

    @Option(name: .customLong("anomaly-log"), help: "EVE anomaly event types logged: none, all or a comma list of decode, stream, applayer. Default: applayer (Suricata's default); records per event and second: --set anomaly-log.rate=N (default 10).")
    var anomalyLog: String?

    @Flag(name: .long, help: "Print the summary for people instead of one JSON line.")
    var human = false

    func run() throws {
        let loadStart = MonotonicClock.nanoseconds()
        var definitions: DetectDefinitions?
        var order = ActionOrder.standard
        if let text = actionOrder {
            guard let o = ActionOrder(parsing: text) else {
                throw fail("--action-order '\(text)': name pass, drop, reject and alert once each, comma-separated")
            }
            order = o
        }
        if !rules.isEmpty || defs != nil {
            definitions = try loadDefinitions(rules: rules, bundle: defs, actionOrder: order, filters: try filterOptions.load())
        } else if !filterOptions.isEmpty {
            throw fail("--disable/enable/modify/drop-conf need --rules")
        }
        var config = EngineConfig()
        var thresholds: ThresholdConfig?
        do {
            thresholds = try ReplayModes.thresholdConfig(thresholdFile)
            try ReplayModes.apply(ids: ids, dropLogFlows: dropLogFlows, settings: settings, to: &config,
                                  warn: writeStandardError)
            try ReplayModes.anomalyLog(anomalyLog, to: &config)
            try ReplayAntivirus.apply(avDB, to: &config, warn: writeStandardError)
            try ReplayWebFilter.apply(categories: categories, configPath: webfilterConfig, to: &config,
                                      warn: writeStandardError)
            try ReplayFirewall.apply(rules: firewallRules, policies: firewallPolicies, to: &config,
                                     warn: writeStandardError)
        } catch {
            throw fail("\(error)")
        }

        let source: PcapFileSource
        let output: OutputFile?
        do {
            source = try PcapFileSource(path: capture)
            output = try eve.map { try OutputFile(path: $0) }
        } catch {
            throw fail("\(error)")
        }
        let engine = Engine(config: config)
        if let definitions {
            engine.loadDetection(definitions)
            engine.detect?.setEventFilters(thresholds)
        }
        let loadSeconds = MonotonicClock.seconds(since: loadStart)

        let flushAt = 1 << 17
        var failure: String?
        let start = MonotonicClock.nanoseconds()
        do {
            try source.forEachFrame { frame, time, wireLength in
                engine.process(frame: frame, rawLinkType: source.rawLinkType, timestamp: time, wireLength: wireLength)
                if engine.eve.pendingBytes >= flushAt {
                    try engine.eve.withBytes { try output?.write($0) }
                    engine.eve.reset()
                }
            }
        } catch {
            failure = "\(error)"
        }
        engine.finish()
        let seconds = MonotonicClock.seconds(since: start)
        do {
            try engine.eve.withBytes { try output?.write($0) }
            engine.eve.reset()
            output?.close()
        } catch {
            throw fail("\(error)")
        }
        writeSummary(engine, seconds: seconds, loadSeconds: loadSeconds)
        if let failure { throw fail(failure) }
    }

    func writeSummary(_ engine: Engine, seconds: Double, loadSeconds: Double) {
        let s = engine.stats
        let gbps = seconds > 0 ? Double(s.bytes) * 8 / seconds / 1e9 : 0
        let pps = seconds > 0 ? Double(s.packets) / seconds : 0
        if human {
            writeStandardError("""
                \(s.packets) packets, \(s.bytes) bytes in \(fmt(seconds)) s \
                (\(fmt(gbps)) Gbit/s, \(Int(pps)) packets/s); definitions loaded in \(fmt(loadSeconds)) s; \
                \(s.alerts) alerts; peak RSS \(ProcessStats.peakResidentBytes() / 1_048_576) MiB
                """)
            return
        }
        var w = JSONWriter(capacity: 1024)
        w.beginObject()
        w.key("packets"); w.uint(s.packets)
        w.key("bytes"); w.uint(s.bytes)
        w.key("seconds"); w.fixed(seconds)
        w.key("load_seconds"); w.fixed(loadSeconds)
        w.key("alerts"); w.uint(s.alerts)
        w.key("peak_rss_bytes"); w.int(ProcessStats.peakResidentBytes())
        w.key("gbps"); w.fixed(gbps, places: 3)
        w.key("packets_per_second"); w.int(Int(pps))
        w.key("flows"); w.uint(engine.flows.counters.created)
        w.key("events"); w.beginObject()
        for t in EVEEventType.allCases where engine.eve.count(t) > 0 {
            w.key(t.name); w.uint(engine.eve.count(t))
        }
        w.endObject()
        w.endObject()
        writeStandardError(String(decoding: w.buffer, as: UTF8.self))
    }
}

/// Numbers in the summary with six significant decimals, without Foundation's formatter.
func fmt(_ x: Double) -> String {
    let scaled = (x * 1_000_000).rounded()
    guard scaled.isFinite, abs(scaled) < 9e18 else { return "0" }
    let v = Int64(scaled)
    let whole = v / 1_000_000, frac = abs(v % 1_000_000)
    var f = String(frac)
    while f.count < 6 { f = "0" + f }
    return "\(whole).\(f)"
}

/// A replay option that cannot be applied (a bad value, an unreadable file): every `--` option's
/// helper throws it, and `run` prints its description as the one-line failure.
struct ReplayOptionError: Error, CustomStringConvertible {
    var description: String
}

/// A one-line failure: printed as "utmctl: reason" and exit status 1, never a stack trace.
func fail(_ message: String) -> ExitCode {
    writeStandardError("utmctl: \(message)")
    return ExitCode(1)
}
