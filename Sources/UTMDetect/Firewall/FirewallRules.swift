import UTMCore

/// Scope of a firewall action (Suricata 8's action scopes).
public enum FirewallScope: UInt8, Sendable {
    /// This packet only.
    case packet
    /// The rest of the flow.
    case flow
    /// The current hook: evaluation goes on with the next table.
    case hook
    /// The current transaction (every later hook of it, both directions): app hooks only.
    case tx
}

/// What a firewall rule or default policy does: a primary `accept` or `drop` with its scope,
/// plus the secondary actions (`alert`, `pass`), which act only when the primary accepted.
public struct FirewallActions: Sendable, Equatable {
    public var accept: Bool
    public var scope: FirewallScope
    /// Write an alert event.
    public var alert = false
    /// `pass:packet` / `pass:flow`: threat detection skips this packet / the rest of the flow.
    public var pass: FirewallScope?

    public init(accept: Bool, scope: FirewallScope, alert: Bool = false, pass: FirewallScope? = nil) {
        self.accept = accept; self.scope = scope; self.alert = alert; self.pass = pass
    }

    /// `drop:packet`, the built-in policy of `packet:filter` (fail closed per packet).
    public static let dropPacket = FirewallActions(accept: false, scope: .packet)
    /// `drop:flow`, the built-in policy of every app hook.
    public static let dropFlow = FirewallActions(accept: false, scope: .flow)
    /// `accept:hook`, the built-in policy of `packet:pre_flow` and `packet:pre_stream`.
    public static let acceptHook = FirewallActions(accept: true, scope: .hook)

    /// Parses `accept:hook`, `accept:hook,alert`, `drop:flow`, `accept:flow,pass:flow,alert`.
    /// `app` says whether the hook is an app-layer one (only those take `accept:tx`).
    public static func parse(_ items: [Substring], app: Bool) throws(RuleError) -> FirewallActions {
        guard let first = items.first else { throw .malformed("no firewall action") }
        var out = try primary(first, app: app)
        for item in items.dropFirst() {
            let parts = item.splitASCII(UInt8(ascii: ":"))
            switch parts[0] {
            case "alert" where parts.count == 1:
                out.alert = true
            case "pass":
                let scope = parts.count == 2 ? parts[1] : "flow"
                switch scope {
                case "packet": out.pass = .packet
                case "flow": out.pass = .flow
                default: throw .invalid("'\(item)': pass takes packet or flow")
                }
            default:
                throw .invalid("'\(item)': a secondary firewall action is alert or pass")
            }
        }
        return out
    }

    static func primary(_ item: Substring, app: Bool) throws(RuleError) -> FirewallActions {
        let parts = item.splitASCII(UInt8(ascii: ":"))
        guard parts.count == 2 else {
            throw .malformed("'\(item)': a firewall action needs an explicit scope (accept:hook, drop:packet...)")
        }
        switch (parts[0], parts[1]) {
        case ("accept", "packet"): return FirewallActions(accept: true, scope: .packet)
        case ("accept", "flow"): return FirewallActions(accept: true, scope: .flow)
        case ("accept", "hook"): return FirewallActions(accept: true, scope: .hook)
        case ("accept", "tx"):
            guard app else { throw .invalid("'accept:tx' is for app-layer hooks only") }
            return FirewallActions(accept: true, scope: .tx)
        case ("drop", "packet"): return FirewallActions(accept: false, scope: .packet)
        case ("drop", "flow"): return FirewallActions(accept: false, scope: .flow)
        default:
            throw .invalid("'\(item)': the primary firewall action is accept (packet, flow, hook, tx) or drop (packet, flow)")
        }
    }
}

/// One loaded firewall rule: where it hooks in, what it does, and the signature its header and
/// options compile to (verified with the same `Verifier` as threat-detection rules).
public struct FirewallRule: Sendable {
    public var signature: Signature
    public var actions: FirewallActions
    /// Table index (`FirewallHooks`).
    public var table: Int
    /// `flow_start`: only the first packet of each flow direction.
    public var flowStart = false
    public var text: AlertText
}

/// A firewall ruleset with its default policies: Suricata 8's firewall mode, evaluated before
/// the threat-detection rules. Rules are kept per table in file order (the first match decides);
/// a table no rule decided falls back to its policy.
public struct FirewallRuleSet: Sendable {
    public private(set) var rules: [FirewallRule] = []
    /// Rule indices per table, in file order.
    public private(set) var byTable: [[Int]]
    /// The resolved default policy per table.
    public private(set) var policies: [FirewallActions]
    /// `firewall.policies` settings as given (dotted key → actions), resolved by `resolve`.
    var settings: [String: FirewallActions] = [:]
    /// Rule problems (file:line), as warnings: a bad firewall rule is left out, never fatal.
    public private(set) var errors: [RuleError] = []
    var parser: RuleParser

    /// The alert events of default policies with `alert`: Suricata's reserved signature ids.
    public static let packetPolicySID: UInt32 = 2_201_000
    public static let appPolicySID: UInt32 = 2_201_001
    public let packetPolicyText = AlertText(msg: Array("Firewall default packet policy".utf8), category: [], metadataJSON: [])
    public let appPolicyText = AlertText(msg: Array("Firewall default app policy".utf8), category: [], metadataJSON: [])

    public init(variables: RuleVariables = .suricataDefaults) {
        parser = RuleParser(variables: variables)
        byTable = Array(repeating: [], count: FirewallHooks.tableCount)
        policies = []
        resolve()
    }

    /// Loads every rule of a firewall rule file (one per line, `\` continues, `#` comments).
    public mutating func load(text: String, file: String) {
        var lineNumber = 0, pendingLine = 0
        var pending = ""
        text.withUTF8Lines { raw in
            lineNumber += 1
            var line = Substring(raw)
            if line.utf8.last == 0x0D { line = Substring(line.utf8.dropLast()) }
            if pending.isEmpty {
                let t = line.trimmingSpaces
                if t.isEmpty || t.utf8.first == 0x23 { return }
                pendingLine = lineNumber
            }
            if line.utf8.last == 0x5C { pending += Substring(line.utf8.dropLast()); return }
            pending += line
            let rule = pending
            pending = ""
            loadOne(Substring(rule), file: file, line: pendingLine)
        }
        if !pending.isEmpty { loadOne(Substring(pending), file: file, line: pendingLine) }
    }

    mutating func loadOne(_ text: Substring, file: String, line: Int) {
        do {
            try add(text, file: file, line: line)
        } catch {
            var e = error
            e.file = file; e.line = line
            errors.append(e)
        }
    }

    /// Parses one firewall rule: `ACTIONS PROTO:HOOK rest-of-a-rule`. The header and options
    /// after the hook are an ordinary rule's, so they compile with the threat-detection parser.
    public mutating func add(_ raw: Substring, file: String = "", line: Int = 0) throws(RuleError) {
        let text = raw.trimmingSpaces
        let words = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard words.count == 3 else { throw .malformed("a firewall rule is 'action:scope proto:hook header (options)'") }
        let hookParts = words[1].splitASCII(UInt8(ascii: ":"))
        guard hookParts.count == 2 || hookParts.count == 3 else {
            throw .malformed("'\(words[1])': a firewall rule names its hook (tcp:all, http1:request_line, http2:stream:request_headers...)")
        }
        // `http2:stream:request_headers`: the protocol and its sub-state name one hook table.
        let proto = hookParts.dropLast().joined(separator: ":").lowercased()
        var hook = String(hookParts[hookParts.count - 1]).lowercased()
        let acceptPrior = hook.hasPrefix("<")
        if acceptPrior { hook.removeFirst() }
        var table: Int
        var flowStart = false
        var tdProto = proto
        var appIndex: Int?
        if let ai = FirewallHooks.appIndex(named: proto) {
            let app = FirewallHooks.apps[ai]
            guard let h = app.hooks.firstIndex(of: hook) else {
                throw .invalid("'\(hook)' is not a hook of \(app.name) (\(app.hooks.joined(separator: ", ")))")
            }
            table = FirewallHooks.appBase[ai] + h
            tdProto = app.ruleProto
            appIndex = ai
        } else if hookParts.count == 3 || FirewallHooks.hasSubStates(proto) {
            throw .unsupported("protocol \(proto)", "no firewall hooks for this protocol or sub-state")
        } else {
            switch hook {
            case "all": table = FirewallHooks.filter
            case "flow_start": table = FirewallHooks.filter; flowStart = true
            case "pre_flow": table = FirewallHooks.preFlow
            case "pre_stream": table = FirewallHooks.preStream
            default:
                // `smtp:request_started` and the like: an app protocol without hooks here.
                if hook.hasPrefix("request_") || hook.hasPrefix("response_") || hook.hasPrefix("client_")
                    || hook.hasPrefix("server_") {
                    throw .unsupported("protocol \(proto)", "no firewall hooks for this protocol")
                }
                throw .invalid("'\(hook)': packet hooks are all, flow_start, pre_flow, pre_stream")
            }
            if acceptPrior { throw .invalid("'<' (accept prior hooks) is for app-layer hooks") }
        }
        let actions = try FirewallActions.parse(words[0].splitASCII(UInt8(ascii: ",")), app: appIndex != nil)
        if acceptPrior && !actions.accept { throw .invalid("'<' (accept prior hooks) needs an accept action") }
        let sig = try parser.parseRule(Substring("alert \(tdProto) \(words[2])"), file: file, line: line)
        if let ai = appIndex, acceptPrior {
            // Every earlier hook of the same side accepts what this rule's header admits.
            let app = FirewallHooks.apps[ai]
            let h = table - FirewallHooks.appBase[ai]
            let first = h < app.requestHooks ? 0 : app.requestHooks
            var prior = sig
            prior.lists = []
            prior.flowbits = []
            prior.prefilter = nil
            prior.prefilterSource = nil
            var k = first
            while k < h {
                append(FirewallRule(signature: prior, actions: .acceptHook, table: FirewallHooks.appBase[ai] + k,
                                    text: DetectDefinitions.render(prior)))
                k += 1
            }
        }
        append(FirewallRule(signature: sig, actions: actions, table: table, flowStart: flowStart,
                            text: DetectDefinitions.render(sig)))
    }

    mutating func append(_ r: FirewallRule) {
        byTable[r.table].append(rules.count)
        rules.append(r)
    }

    // MARK: Policies

    /// Sets one `firewall.policies` entry: `key` is the dotted path below `policies`
    /// (`packet.filter`, `app.http1.request-line`, `app.default-policy`, `default-policy`),
    /// `value` the actions, comma-separated (`accept:hook,alert`).
    public mutating func setPolicy(_ key: String, _ value: String) throws(RuleError) {
        let k = key.lowercased().replacingHyphens
        let parts = Substring(k).splitASCII(UInt8(ascii: "."))
        let isApp: Bool
        switch parts.first {
        case "default_policy" where parts.count == 1:
            isApp = false
        case "packet":
            guard parts.count == 2, parts[1] == "default_policy"
                    || FirewallHooks.packetTables.contains(String(parts[1])) else {
                throw .invalid("firewall policy '\(key)': packet hooks are filter, pre-flow, pre-stream, default-policy")
            }
            isApp = false
        case "app":
            isApp = true
            if parts.count == 2 && parts[1] == "default_policy" { break }
            guard parts.count == 3 || parts.count == 4 else {
                throw .invalid("firewall policy '\(key)': app policies are app.PROTO[.SUBSTATE].HOOK or app.PROTO[.SUBSTATE].default-policy")
            }
            let proto = String(parts[1])
            if parts.count == 3 && parts[2] == "default_policy" && FirewallHooks.hasSubStates(proto) { break }
            let name = parts.count == 4 ? proto + ":" + parts[2] : proto
            guard let ai = FirewallHooks.appIndex(named: name) else {
                throw .unsupported("protocol \(name)", "no firewall hooks for this protocol or sub-state")
            }
            let app = FirewallHooks.apps[ai]
            let hook = parts[parts.count - 1]
            guard hook == "default_policy" || app.hooks.contains(String(hook)) else {
                throw .invalid("firewall policy '\(key)': '\(hook)' is not a hook of \(app.name)")
            }
        default:
            throw .invalid("firewall policy '\(key)': keys start with packet., app. or are default-policy")
        }
        // The global default applies to both kinds: accept:tx there is checked per table below.
        let actions = try FirewallActions.parse(Substring(value).splitASCII(UInt8(ascii: ",")), app: isApp || k == "default_policy")
        var normalized = parts.joined(separator: ".")
        if parts.count == 3 && parts[0] == "app" && parts[1] == "http" { normalized = "app.http1." + parts[2] }
        settings[normalized] = actions
        resolve()
        if k == "default_policy" && actions.scope == .tx {
            settings[normalized] = nil
            resolve()
            throw .invalid("firewall policy 'default-policy': packet hooks do not take accept:tx")
        }
    }

    /// Most specific setting wins: `packet.HOOK` > `packet.default-policy` > `default-policy`
    /// > built-in; `app.PROTO.HOOK` > `app.PROTO.default-policy` > `app.default-policy` >
    /// `default-policy` > built-in `drop:flow`.
    mutating func resolve() {
        var out: [FirewallActions] = []
        for (t, name) in FirewallHooks.packetTables.enumerated() {
            let builtin: FirewallActions = t == FirewallHooks.filter ? .dropPacket : .acceptHook
            out.append(settings["packet." + name] ?? settings["packet.default_policy"] ?? settings["default_policy"] ?? builtin)
        }
        for app in FirewallHooks.apps {
            // `http2:stream` → app.http2.stream.HOOK > app.http2.stream.default_policy >
            // app.http2.default_policy > ...
            let path = app.name.split(separator: ":").joined(separator: ".")
            let proto = app.name.split(separator: ":")[0]
            let protoDefault = path == proto ? nil : settings["app.\(proto).default_policy"]
            for h in app.hooks {
                out.append(settings["app.\(path).\(h)"] ?? settings["app.\(path).default_policy"] ?? protoDefault
                           ?? settings["app.default_policy"] ?? settings["default_policy"] ?? .dropFlow)
            }
        }
        policies = out
    }

    /// Whether any rule sits in an app-layer table (the engine then tracks hook progress).
    public var hasRules: Bool { !rules.isEmpty }
}

extension String {
    /// `request-line` → `request_line`: policies use hyphens, rules underscores.
    var replacingHyphens: String {
        String(decoding: utf8.map { $0 == UInt8(ascii: "-") ? UInt8(ascii: "_") : $0 }, as: UTF8.self)
    }
}
