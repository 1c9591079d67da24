import UTMCore
import UTMDecode
import UTMFlow
import UTMAppLayer
import UTMAppID
import UTMOutput
import UTMWebFilter

extension FlowBits {
    /// The app-layer parser has nothing more to read (encrypted, gave up, no parser). The flow
    /// is `appDone` (reassembly stops) only when App-ID is done too.
    static let parserDone: UInt32 = 1 << 3
    /// The flow's TLS ClientHello was looked up (web filter, App-ID name): once per flow.
    static let helloChecked: UInt32 = 1 << 4
}

/// The engine's web-filter state: the policy (nil: no filtering, no `web_filter` fields), the
/// category names as EVE bytes, and what the last HTTP block was about (for the block page).
struct EngineWebFilterStage {
    let policy: WebFilterPolicy?
    let names: EVECategoryNames?
    let nxdomain: Bool
    /// Host of the last blocked HTTP request and the list that blocked it (-1: a customer
    /// entry), kept for `Engine.writeBlockPage`.
    var blockedHost: [UInt8]
    var blockedList: Int = -1

    init(policy: WebFilterPolicy?) {
        self.policy = policy
        nxdomain = policy?.config.answerBlockedDNSWithNXDOMAIN ?? false
        if let policy, let db = policy.database {
            var reported: [String] = []
            for (id, name) in db.listNames.enumerated() {
                let g = policy.group(ofList: id)
                reported.append(g == .other || g == .ignored ? name : g.rawValue)
            }
            names = EVECategoryNames(lists: db.listNames, reported: reported)
        } else {
            names = nil
        }
        blockedHost = []
        blockedHost.reserveCapacity(256)
    }
}

extension EngineConfig {
    /// Binds a customer configuration to a category database (nil when none could be loaded:
    /// customer entries and app restrictions still apply, traffic flows) and takes its app
    /// restrictions. Throws the policy's one-line errors (a never-allowable category allowed,
    /// an unknown list or application).
    public mutating func applyWebFilter(config: WebFilterConfig, database: CategoryDatabase?) throws {
        webFilter = try WebFilterPolicy(config: config, database: database)
        appID.blocked = try AppIDSettings.resolve(config.blockedApps)
    }
}

extension Engine {
    // MARK: Verdicts as EVE

    /// The list a verdict is about: the one that decided, else the first it is in.
    static func decidingList(_ v: WebFilterVerdict) -> Int {
        switch v.rule {
        case .protectedCategory(let id), .deniedCategory(let id), .levelCategory(let id), .recorded(let id):
            return id
        default:
            return v.categories.first ?? -1
        }
    }

    /// The `web_filter` object for a verdict. `enforced`: the engine acts on a block for this
    /// protocol (HTTP, TLS, QUIC; DNS only with NXDOMAIN answers), else a block is "recorded".
    func eveWebFilter(_ v: WebFilterVerdict, enforced: Bool) -> EVEWebFilter? {
        guard let names = webFilter.names else { return nil }
        let action: StaticString
        switch v.action {
        case .allow: action = "allowed"
        case .record: action = "recorded"
        case .block: action = enforced ? "blocked" : "recorded"
        }
        return EVEWebFilter(action: action, category: Engine.decidingList(v), categoriesLo: v.categories.lo,
                            categoriesHi: v.categories.hi, names: names)
    }

    /// Refuses the current packet (and so its flow) with `d`; the first refusal of a packet
    /// writes Suricata's `drop` event.
    func refuse(_ d: PacketDecision, reason: StaticString, _ m: EVEEndpoints, webFilter wf: EVEWebFilter?) {
        let first = decision.verdict == .accept
        decision.escalate(to: d)
        if first && decision.verdict != .accept {
            eve.writeDrop(packet, reason: reason, flowID: m.flowID, appProto: m.appProto, webFilter: wf)
        }
    }

    // MARK: HTTP

    /// Host and path of a request: the Host header and the request target; an absolute-form
    /// target ("http://host/path", proxies) gives both.
    func withRequestTarget<R>(_ parser: HTTPParser, _ tx: HTTPTransaction, _ body: (ByteView, ByteView) -> R) -> R {
        parser.withField(tx.host) { host in
            parser.withField(tx.uri) { uri in
                if uri.u8(0) == UInt8(ascii: "/") || uri.isEmpty { return body(host, uri) }
                let (h, p) = URLText.split(uri)
                return body(host.isEmpty ? h : host, p)
            }
        }
    }

    /// Hook after HTTP client bytes were parsed: every request whose headers are complete is
    /// named to App-ID and checked; a blocked URL rejects the flow with the block page.
    func httpRequests(_ ref: FlowRef, _ slot: Int, _ m: EVEEndpoints) {
        guard http.items[slot].events.contains(.requestHeaders) else { return }
        let n = http.items[slot].pendingCount
        for k in 0 ..< n {
            let tx = http.items[slot].ready(k)
            guard tx.hasRequest && !tx.hasResponse else { continue }
            withRequestTarget(http.items[slot], tx) { host, path in
                appIDName(ref, host, .httpHost, m)
                guard let policy = webFilter.policy, !host.isEmpty else { return }
                let v = policy.decide(host: host, path: path)
                guard v.action == .block else { return }
                webFilter.blockedHost.removeAll(keepingCapacity: true)
                for b in 0 ..< min(host.count, 255) { webFilter.blockedHost.append(host[checked: b]) }
                webFilter.blockedList = Engine.decidingList(v)
                refuse(PacketDecision(verdict: .reject, response: .httpBlockPage, source: .webFilter),
                       reason: "web filter", m, webFilter: eveWebFilter(v, enforced: true))
            }
        }
    }

    /// The `web_filter` object of an http event (nil without a database).
    func httpWebFilter(_ parser: HTTPParser, _ tx: HTTPTransaction) -> EVEWebFilter? {
        guard let policy = webFilter.policy, webFilter.names != nil else { return nil }
        return withRequestTarget(parser, tx) { host, path in
            host.isEmpty ? nil : eveWebFilter(policy.decide(host: host, path: path), enforced: true)
        }
    }

    // MARK: TLS and QUIC

    /// Hook when a flow's ClientHello is first complete: App-ID gets the SNI; a blocked SNI
    /// resets TLS both ways and drops QUIC (browsers then fall back to TCP, where the TLS
    /// check applies).
    func clientHello(_ ref: FlowRef, _ parser: TLSParser, quic: Bool, _ m: EVEEndpoints) {
        guard let ch = parser.clientHello else { return }
        parser.withField(ch.sni) { sni in
            appIDName(ref, sni, quic ? .quicSNI : .sni, m)
            guard let policy = webFilter.policy, !sni.isEmpty else { return }
            let v = policy.decide(host: sni)
            guard v.action == .block else { return }
            let d = quic ? PacketDecision(verdict: .drop, response: .none, source: .webFilter)
                         : PacketDecision(verdict: .reject, response: .tcpResetBoth, source: .webFilter)
            refuse(d, reason: "web filter", m, webFilter: eveWebFilter(v, enforced: true))
        }
    }

    /// The `web_filter` object of a tls or quic event.
    func helloWebFilter(_ parser: TLSParser) -> EVEWebFilter? {
        guard let policy = webFilter.policy, webFilter.names != nil, let ch = parser.clientHello else { return nil }
        return parser.withField(ch.sni) { sni in
            sni.isEmpty ? nil : eveWebFilter(policy.decide(host: sni), enforced: true)
        }
    }

    // MARK: DNS

    /// Hook for each DNS message about to be logged: queries name the flow to App-ID; the
    /// first question is looked up. A blocked name is recorded; with
    /// `answerBlockedDNSWithNXDOMAIN` a query is rejected (`.dnsNXDOMAIN`: the live source
    /// answers NXDOMAIN in the resolver's name). Returns the dns event's `web_filter` object.
    func dnsMessage(_ ref: FlowRef, _ parser: DNSParser, _ m: EVEEndpoints) -> EVEWebFilter? {
        guard let q = parser.message.question(0) else { return nil }
        let isQuery = !parser.message.flags.qr
        return parser.withField(q.name) { name -> EVEWebFilter? in
            if isQuery { appIDName(ref, name, .dnsQuery, m) }
            guard let policy = webFilter.policy, !name.isEmpty else { return nil }
            let v = policy.decide(host: name)
            let enforce = webFilter.nxdomain && isQuery
            let wf = eveWebFilter(v, enforced: enforce)
            if v.action == .block && enforce {
                refuse(PacketDecision(verdict: .reject, response: .dnsNXDOMAIN, source: .webFilter),
                       reason: "web filter", m, webFilter: wf)
            }
            return wf
        }
    }
}
