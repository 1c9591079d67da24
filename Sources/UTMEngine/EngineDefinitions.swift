import UTMDetect
import UTMFlow
import UTMWebFilter

/// What a definitions update replaces in a running engine: the IPS rules, the web filter's
/// policy and category data, application restrictions, the antivirus database and the firewall
/// ruleset, each with the per-flow tables sized for the engine's flow table.
///
/// Why apart from `Engine`: utmd builds one per worker aside (the main thread, at SIGHUP or
/// after an update) and the worker's running engine adopts it between two packets (`adopt`),
/// keeping its flows, reassembly and app-layer parsers. Building whole engines for that held a
/// second flow table and parser pools per worker during every reload, and restarted every flow
/// mid-stream (README "Definitions updates keep the flows, session 9").
public final class EngineDefinitions {
    /// The flow table capacity the per-flow tables are sized for.
    public let flowCapacity: Int
    /// The engine limits its configuration set (antivirus raises body and stream limits): an
    /// engine built with other limits cannot adopt these definitions.
    let limits: Limits
    let webFilterPolicy: WebFilterPolicy?
    let appIDSettings: AppIDSettings
    let antivirus: EngineAntivirusConfig?
    let firewall: FirewallRuleSet?
    public private(set) var detect: DetectEngine?
    var webFilter: EngineWebFilterStage
    var appID: EngineAppIDStage
    var av: EngineAVStage
    var fw: EngineFirewallStage

    public init(config c: EngineConfig, flowCapacity: Int) {
        self.flowCapacity = flowCapacity
        limits = Limits(c)
        webFilterPolicy = c.webFilter
        appIDSettings = c.appID
        antivirus = c.antivirus
        firewall = c.firewall
        webFilter = EngineWebFilterStage(policy: c.webFilter)
        appID = EngineAppIDStage(settings: c.appID, flowCapacity: flowCapacity)
        av = EngineAVStage(config: c.antivirus, flowCapacity: flowCapacity)
        if c.antivirus != nil {
            av.h2Sessions = Array(repeating: nil, count: c.maxHTTP2States * Swift.max(1, c.http2.maxStreams) * 2)
        }
        fw = EngineFirewallStage(rules: c.firewall, flowCapacity: flowCapacity)
    }

    /// The IPS definitions (`Engine.loadDetection` for a running engine). `sharing`: the per-host
    /// detection state of the other workers' definitions (SharedHostState.swift).
    public func loadDetection(_ defs: DetectDefinitions, sharing: SharedHostState? = nil) {
        detect = DetectEngine(definitions: defs, config: Engine.detectConfig(flowCapacity: flowCapacity), sharing: sharing)
    }
}

extension EngineDefinitions {
    /// What of an engine's configuration the definitions' companions change (`applyAntivirus`).
    struct Limits: Equatable {
        var streamDepth: Int
        var httpBody: Int64
        var http2Body: Int64
        init(_ c: EngineConfig) {
            streamDepth = Int(c.flow.streamDepth)
            httpBody = Int64(c.http.maxBodyInspect)
            http2Body = Int64(c.http2.maxBodyInspect)
        }
    }
}

extension Engine {
    /// The flow table capacity an engine built with `config` has: what its definitions are
    /// sized for.
    public static func flowCapacity(_ config: EngineConfig) -> Int { FlowTable.capacity(for: config.flow) }

    static func detectConfig(flowCapacity: Int) -> DetectConfig {
        var c = DetectConfig()
        c.flowCapacity = flowCapacity
        return c
    }

    /// Takes new definitions between two packets, keeping the flows: flow table, reassembly,
    /// app-layer parsers and what each module knows of a flow in progress, as far as it does not
    /// name the old definitions (DetectEngineHandover.swift for detection). False, with nothing
    /// changed, when `next` was sized for another flow table or detection pools, or its
    /// configuration set other body/stream limits (antivirus switched on or off): the caller then
    /// builds a new engine.
    ///
    /// Per module:
    /// - IPS: `DetectEngine.takeFlows` (flowbits by name, stream tails, body bytes kept).
    /// - Antivirus: files being scanned finish on the database they began with (a scan session
    ///   holds its database); files that begin afterwards use the new one. Their table moves
    ///   over when both sides have AV with the same mail pool; AV switched off drops them.
    /// - Application identification: the flows' detection state stays (built-in detectors);
    ///   new restrictions apply when App-ID next decides on a flow (a flow identified before the
    ///   update keeps its verdict, as it did with a whole new engine).
    /// - Firewall mode: `accept:flow` and blocked flows and each direction's hook progress stay
    ///   (Suricata 8 keeps a flow's firewall verdict across a reload); the new rules judge the
    ///   rest.
    /// - Web filter: no per-flow state; the next request is judged with the new policy.
    public func adopt(_ next: EngineDefinitions) -> Bool {
        guard next.flowCapacity == flows.capacity, next.limits == EngineDefinitions.Limits(config) else { return false }
        if let new = next.detect, let old = detect, !new.takeFlows(from: old) { return false }
        detect = next.detect
        webFilter = next.webFilter
        var a = next.appID
        if a.enabled && appID.enabled && a.states.count == appID.states.count { a.states = appID.states }
        appID = a
        var v = next.av
        if v.scanner != nil && av.scanner != nil && v.files.count == av.files.count && v.mail.limit == av.mail.limit
            && v.h2Sessions.count == av.h2Sessions.count {
            v.files = av.files
            v.mail = av.mail
            v.ended = av.ended
            v.h2Sessions = av.h2Sessions
            v.stats = av.stats
        }
        av = v
        var f = next.fw
        if f.rules != nil && fw.rules != nil && f.flows.count == fw.flows.count {
            f.flows = fw.flows
            f.counters = fw.counters
        }
        fw = f
        config.webFilter = next.webFilterPolicy
        config.appID = next.appIDSettings
        config.antivirus = next.antivirus
        config.firewall = next.firewall
        return true
    }
}
