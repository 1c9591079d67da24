import UTMCore

/// The registration table of firewall hooks (Suricata 8's firewall mode): the packet tables
/// and, per app-layer protocol, its states in progress order. A firewall rule names one of
/// them in its protocol field (`tcp:all`, `http1:request_line`, `tls:<client_hello_done`).
///
/// Why a table and not per-parser code: the firewall walks hooks by index (a flow's progress
/// is "the first hook not yet accepted"), so each protocol only has to say how far a
/// transaction got; the names live here once, for rules and for `firewall.policies` keys.
public enum FirewallHooks {
    /// Packet tables, in evaluation order. `all` and `flow_start` rules live in `filter`.
    public static let packetTables = ["pre_flow", "pre_stream", "filter"]
    public static let preFlow = 0, preStream = 1, filter = 2

    /// One app-layer protocol's hooks (or one sub-state's, for protocols that group them:
    /// `http2:stream`, `http2:global`): request-side states, then response-side states.
    public struct App: Sendable {
        /// The name rules and policies use (`http1`, `http2:stream`).
        public let name: String
        /// The parser whose transactions reach these hooks; nil while there is none (rules
        /// and policies load, nothing reaches them).
        public let app: AppProto?
        public let hooks: [String]
        /// How many of `hooks` are request-side (to_server).
        public let requestHooks: Int
        /// The protocol word of the threat-detection rule the options compile as.
        public let ruleProto: String

        public init(name: String, app: AppProto?, hooks: [String], requestHooks: Int, ruleProto: String? = nil) {
            self.name = name; self.app = app; self.hooks = hooks; self.requestHooks = requestHooks
            self.ruleProto = ruleProto ?? name
        }
    }

    /// HTTP/2 per stream (Suricata 9's `http2:stream` sub-state; each stream is a transaction).
    static let http2Stream = ["request_started", "request_headers", "request_data", "request_closed",
                              "request_complete", "response_started", "response_headers", "response_data",
                              "response_closed", "response_complete"]

    /// Request and response states every protocol has (Suricata's generic hooks).
    static let generic = ["request_started", "request_complete", "response_started", "response_complete"]

    /// Every protocol with firewall hooks. Add a protocol here (and teach the engine how far its
    /// transactions got, EngineFirewall.swift); until then its hooks are the generic four.
    public static let apps: [App] = [
        App(name: "http1", app: .http,
            hooks: ["request_started", "request_line", "request_headers", "request_body", "request_trailer",
                    "request_complete", "response_started", "response_line", "response_headers", "response_body",
                    "response_trailer", "response_complete"],
            requestHooks: 6, ruleProto: "http"),
        App(name: "tls", app: .tls,
            hooks: ["client_in_progress", "client_hello_done", "client_cert_done", "client_handshake_done",
                    "client_finished", "server_in_progress", "server_hello", "server_cert_done",
                    "server_hello_done", "server_handshake_done", "server_finished"],
            requestHooks: 5),
        App(name: "dns", app: .dns, hooks: generic, requestHooks: 2),
        App(name: "quic", app: .quic, hooks: generic, requestHooks: 2),
        App(name: "dhcp", app: .dhcp, hooks: generic, requestHooks: 2),
        App(name: "http2:stream", app: .http2, hooks: http2Stream, requestHooks: 5, ruleProto: "http2"),
        App(name: "http2:global", app: nil, hooks: generic, requestHooks: 2, ruleProto: "http2"),
        // DNS over HTTP/2: hooks of its own, no parser (rules load; nothing reaches them).
        App(name: "doh2:stream", app: nil, hooks: http2Stream, requestHooks: 5, ruleProto: "http2"),
        App(name: "doh2:global", app: nil, hooks: generic, requestHooks: 2, ruleProto: "http2"),
    ]

    /// Table index of the first hook of each entry of `apps` (packet tables come first).
    public static let appBase: [Int] = {
        var out: [Int] = []
        var next = packetTables.count
        for a in apps { out.append(next); next += a.hooks.count }
        return out
    }()

    public static var tableCount: Int { appBase.last.map { $0 + apps[apps.count - 1].hooks.count } ?? packetTables.count }

    /// Index into `apps` for an app protocol, or -1 when it has no firewall hooks.
    public static func appIndex(_ app: AppProto) -> Int {
        var i = 0
        while i < apps.count { if apps[i].app == app { return i }; i += 1 }
        return -1
    }

    /// Index into `apps` for a rule's or policy's protocol word (`http` is `http1`;
    /// `http2:stream` names a sub-state).
    static func appIndex(named name: String) -> Int? {
        let n = name == "http" ? "http1" : name
        return apps.firstIndex { $0.name == n }
    }

    /// Whether `proto` groups its hooks into sub-states (`http2` has `http2:stream`...).
    static func hasSubStates(_ proto: String) -> Bool {
        apps.contains { $0.name.hasPrefix(proto + ":") }
    }

    /// A human name for a table ("packet:filter", "http1:request_line").
    public static func tableName(_ t: Int) -> String {
        if t < packetTables.count { return "packet:" + packetTables[t] }
        var i = apps.count - 1
        while i >= 0 {
            if t >= appBase[i] { return apps[i].name + ":" + apps[i].hooks[t - appBase[i]] }
            i -= 1
        }
        return "?"
    }
}
