import Testing
import UTMCore
@testable import UTMDetect

/// Suricata 8 firewall rules and `firewall.policies`: what loads, into which table, with which
/// actions; what is refused and why; which default policy a hook ends up with.
@Suite struct FirewallRulesTests {
    static func table(_ name: String) -> Int {
        (0 ..< FirewallHooks.tableCount).first { FirewallHooks.tableName($0) == name } ?? -1
    }

    @Test func rulesLandInTheirHookTablesInFileOrder() {
        var set = FirewallRuleSet()
        set.load(text: """
            # comment
            accept:hook tcp:all any any -> any any (sid:100;)
            accept:hook,alert http1:request_started any any -> any any (sid:101;)
            accept:hook http:request_line any any -> any any (http.method; content:"GET"; sid:102;)
            drop:flow http1:request_line any any -> any any (sid:103;)
            accept:packet tcp:flow_start any any -> any any \\
                (flags:S; sid:104;)
            accept:flow,pass:flow,alert tls:client_hello_done any any -> any any (tls.sni; content:"example.org"; sid:105;)
            """, file: "fw.rules")
        #expect(set.errors.isEmpty, "\(set.errors)")
        #expect(set.rules.count == 6)
        let filter = set.byTable[FirewallHooks.filter].map { set.rules[$0].signature.sid }
        #expect(filter == [100, 104])
        #expect(set.rules[set.byTable[FirewallHooks.filter][1]].flowStart)
        let line = set.byTable[Self.table("http1:request_line")].map { set.rules[$0].signature.sid }
        #expect(line == [102, 103], "http is http1; file order is kept")
        let r101 = set.rules[set.byTable[Self.table("http1:request_started")][0]]
        #expect(r101.actions == FirewallActions(accept: true, scope: .hook, alert: true))
        #expect(r101.signature.proto.app == .http)
        let r105 = set.rules[set.byTable[Self.table("tls:client_hello_done")][0]]
        #expect(r105.actions == FirewallActions(accept: true, scope: .flow, alert: true, pass: .flow))
        #expect(r105.signature.list(for: .tlsSNI) != nil)
        let r103 = set.rules[set.byTable[Self.table("http1:request_line")][1]]
        #expect(r103.actions == .dropFlow)
    }

    /// `tls:<client_hello_done` also accepts the hooks before it on the same side, matching on
    /// the rule's header only.
    @Test func acceptPriorHooks() {
        var set = FirewallRuleSet()
        set.load(text: "accept:flow tls:<client_hello_done any any -> any 443 (tls.sni; content:\"a.example\"; sid:7;)\n", file: "p.rules")
        #expect(set.errors.isEmpty)
        let prior = set.byTable[Self.table("tls:client_in_progress")]
        #expect(prior.count == 1)
        let r = set.rules[prior[0]]
        #expect(r.actions == .acceptHook && r.signature.lists.isEmpty)
        #expect(set.byTable[Self.table("tls:client_hello_done")].count == 1)
        #expect(set.byTable[Self.table("tls:server_in_progress")].isEmpty, "only the same side")
    }

    /// A bad firewall rule is left out with file:line and why; the rest loads.
    @Test func badRulesAreReportedAndSkipped() {
        var set = FirewallRuleSet()
        set.load(text: """
            accept tcp:all any any -> any any (sid:1;)
            accept:hook tcp any any -> any any (sid:2;)
            accept:tx tcp:all any any -> any any (sid:3;)
            accept:hook http1:request_nonsense any any -> any any (sid:4;)
            drop:hook tcp:all any any -> any any (sid:5;)
            alert tcp:all any any -> any any (sid:6;)
            drop:flow tls:<client_hello_done any any -> any any (sid:7;)
            accept:hook,reject tcp:all any any -> any any (sid:8;)
            accept:hook tcp:all any any -> any any (nosuchkeyword; sid:9;)
            accept:hook tcp:all
            accept:hook tcp:all any any -> any any (sid:10;)
            """, file: "bad.rules")
        #expect(set.rules.count == 1 && set.rules[0].signature.sid == 10)
        #expect(set.errors.count == 10)
        #expect(set.errors.map(\.line) == Array(1 ... 10))
        #expect(set.errors.allSatisfy { $0.file == "bad.rules" })
        #expect(set.errors[2].message.contains("accept:tx"))
        #expect(set.errors[3].message.contains("request_nonsense"))
    }

    /// Built-in defaults, then the most specific `firewall.policies` setting per hook.
    @Test func policyPrecedence() throws {
        var set = FirewallRuleSet()
        #expect(set.policies[FirewallHooks.filter] == .dropPacket)
        #expect(set.policies[FirewallHooks.preFlow] == .acceptHook)
        #expect(set.policies[Self.table("http1:request_line")] == .dropFlow)
        try set.setPolicy("packet.filter", "accept:hook,alert")
        #expect(set.policies[FirewallHooks.filter] == FirewallActions(accept: true, scope: .hook, alert: true))
        try set.setPolicy("app.default-policy", "accept:hook")
        try set.setPolicy("app.http1.default-policy", "drop:flow,alert")
        try set.setPolicy("app.http1.request-line", "accept:tx,alert")
        #expect(set.policies[Self.table("tls:client_in_progress")] == .acceptHook)
        #expect(set.policies[Self.table("http1:request_started")] == FirewallActions(accept: false, scope: .flow, alert: true))
        #expect(set.policies[Self.table("http1:request_line")] == FirewallActions(accept: true, scope: .tx, alert: true))
        try set.setPolicy("default-policy", "accept:hook")
        #expect(set.policies[FirewallHooks.filter] == FirewallActions(accept: true, scope: .hook, alert: true),
                "the global fallback does not override a specific setting")
        #expect(set.policies[Self.table("dns:request_started")] == .acceptHook)
        #expect(throws: RuleError.self) { try set.setPolicy("packet.filter", "accept:tx") }
        #expect(throws: RuleError.self) { try set.setPolicy("default-policy", "accept:tx") }
        #expect(set.policies[FirewallHooks.preStream] == .acceptHook, "a refused global default changes nothing")
        #expect(throws: RuleError.self) { try set.setPolicy("app.http1.nonsense", "accept:hook") }
        #expect(throws: RuleError.self) { try set.setPolicy("app.gopher.request-started", "accept:hook") }
        #expect(throws: RuleError.self) { try set.setPolicy("packet.filter", "allow") }
        #expect(throws: RuleError.self) { try set.setPolicy("elsewhere", "accept:hook") }
    }

    /// HTTP/2 groups its hooks by sub-state (`http2:stream:request_headers`); its policies
    /// take the extra level, with `app.http2.default-policy` covering both sub-states.
    /// Protocols without hooks here are `unsupported` (a warning to callers), not malformed.
    @Test func subStatesAndUnknownProtocols() throws {
        var set = FirewallRuleSet()
        set.load(text: """
            accept:tx,alert http2:stream:request_headers any any -> any any (http.uri; content:"/dns"; sid:11;)
            accept:tx doh2:global:<response_complete any any -> any any (sid:20;)
            accept:hook smtp:request_started any any -> any any (sid:30;)
            accept:hook http2:request_started any any -> any any (sid:31;)
            """, file: "h2.rules")
        #expect(set.rules.map(\.signature.sid).filter { $0 != 20 } == [11])
        #expect(set.byTable[Self.table("http2:stream:request_headers")].count == 1)
        #expect(set.byTable[Self.table("doh2:global:response_started")].count == 1, "the prior hook of the same side")
        #expect(set.errors.count == 2 && set.errors.allSatisfy {
            if case .unsupported = $0.kind { return true } else { return false }
        })
        try set.setPolicy("app.http2.default-policy", "accept:hook")
        try set.setPolicy("app.http2.stream.response-complete", "accept:tx")
        #expect(set.policies[Self.table("http2:global:request_started")] == .acceptHook)
        #expect(set.policies[Self.table("http2:stream:response_complete")] == FirewallActions(accept: true, scope: .tx))
        #expect(set.policies[Self.table("http1:request_started")] == .dropFlow)
        do {
            try set.setPolicy("app.smtp.request-started", "accept:hook")
            Issue.record("smtp has no hooks")
        } catch {
            if case .unsupported = error.kind {} else { Issue.record("\(error)") }
        }
        #expect(throws: RuleError.self) { try set.setPolicy("app.http2.stream.request-line", "accept:hook") }
    }

    @Test func hookTableIsConsistent() {
        var names = Set<String>()
        for t in 0 ..< FirewallHooks.tableCount { names.insert(FirewallHooks.tableName(t)) }
        #expect(names.count == FirewallHooks.tableCount, "every table has its own name")
        for a in FirewallHooks.apps {
            #expect(a.requestHooks > 0 && a.requestHooks < a.hooks.count)
            if let p = a.app { #expect(FirewallHooks.appIndex(p) >= 0) }
        }
        #expect(FirewallHooks.appIndex(.unknown) == -1)
    }
}
