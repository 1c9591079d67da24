import UTMFlow

/// `utmctl replay --set KEY=VALUE`: the few Suricata configuration keys whose meaning the
/// engine has, applied to an `EngineConfig`. Keys are Suricata's (`stream.midstream`,
/// `stream.reassembly.depth`, ...) so a suricata-verify test's own arguments can be passed
/// through unchanged.
///
/// A key the engine has no equivalent for is reported back as a warning, never an error: a
/// test that tunes a Suricata internal (`mpm-algo`) still runs.
public enum ReplaySettings {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Keys accepted and applied, with what they mean here.
    public static let keys: [(key: String, meaning: String)] = [
        ("stream.midstream", "pick up TCP sessions without their handshake (true/false)"),
        ("stream.async-oneside", "only one side of TCP sessions is seen: such a session counts as established"),
        ("stream.midstream-policy", "midstream pickup off: ignore, bypass, pass-flow, drop-flow, reject"),
        ("exception-policy", "master switch for the midstream and flow table policies (auto: drop inline, ignore in IDS mode)"),
        ("flow.memcap-policy", "a packet the full flow table has no room for: ignore (inspected alone), pass-packet, bypass, "
            + "drop-packet, reject"),
        ("stream.reassembly.depth", "bytes per direction reassembled (0 = unlimited; kb/mb suffixes)"),
        ("flow-timeouts.PROTO.STATE", "idle timeout in seconds; PROTO tcp (new, established, closed), udp or "
            + "default (new, established)"),
        ("detect.guess-applayer-tx", "alerts of packet rules carry the flow's one transaction (true/false)"),
        ("detect.stream-tx-log-limit", "how many alerts per flow carry it (default 4)"),
        ("anomaly-log", "EVE anomaly event types logged: none, all or a list of decode, stream, applayer (default applayer)"),
        ("anomaly-log.rate", "EVE anomaly records per event and second (0...1000000, default 10; 0: counters only)"),
        ("host-os-policy.POLICY", "TCP overlap policy of receivers in these networks (a,b/24,...); POLICY is "
            + OverlapPolicy.allCases.map(\.name).joined(separator: ", ")),
    ]

    /// Applies `KEY=VALUE`. Returns a warning when the key has no effect here; throws on a
    /// malformed item or a bad value for a known key.
    public static func apply(_ item: String, to config: inout EngineConfig,
                             explicitMidstreamPolicy: inout Bool) throws(Failure) -> String? {
        var explicitFlowTablePolicy = false
        return try apply(item, to: &config, explicitMidstreamPolicy: &explicitMidstreamPolicy,
                         explicitFlowTablePolicy: &explicitFlowTablePolicy)
    }

    /// The same, tracking whether `flow.memcap-policy` was given: the `exception-policy`
    /// master switch sets only the policies not given on their own, whatever the order.
    public static func apply(_ item: String, to config: inout EngineConfig, explicitMidstreamPolicy: inout Bool,
                             explicitFlowTablePolicy: inout Bool) throws(Failure) -> String? {
        guard let eq = item.firstIndex(of: "=") else {
            throw Failure(description: "--set '\(item)': expected KEY=VALUE")
        }
        let key = item[..<eq].trimmingSpaces, value = item[item.index(after: eq)...].trimmingSpaces.lowercased()
        switch key {
        case "stream.midstream":
            config.modes.midstream = try bool(key, value)
        case "stream.async-oneside":
            config.modes.asyncOneSide = try bool(key, value)
        case "stream.midstream-policy":
            config.modes.midstreamPolicy = try policy(key, value, ids: config.modes.ids)
            explicitMidstreamPolicy = true
        case "exception-policy":
            if !explicitMidstreamPolicy {
                config.modes.midstreamPolicy = try policy(key, value, ids: config.modes.ids)
            }
            if !explicitFlowTablePolicy {
                config.modes.flowTablePolicy = try flowTablePolicy(key, value, ids: config.modes.ids, master: true)
            }
        case "flow.memcap-policy":
            config.modes.flowTablePolicy = try flowTablePolicy(key, value, ids: config.modes.ids, master: false)
            explicitFlowTablePolicy = true
        case "stream.reassembly.depth":
            guard let n = size(value) else {
                throw Failure(description: "--set \(key): '\(value)' is not a size")
            }
            config.flow.streamDepth = n == 0 ? Int.max / 2 : n
        case "detect.guess-applayer-tx":
            config.modes.guessAppLayerTx = try bool(key, value)
        case "detect.stream-tx-log-limit":
            guard let n = Int(value), n >= 0, n <= 0xffff else {
                throw Failure(description: "--set \(key): '\(value)' is not a count (0...65535)")
            }
            config.modes.streamTxLogLimit = n
        case "flow.capacity":
            // Concurrent flows (FlowConfig.capacity): every flow slot costs about 530 bytes of
            // pre-sized per-flow state across the engine, resident from the start.
            guard let n = Int(value), n >= 1024, n <= 1 << 22 else {
                throw Failure(description: "--set \(key): '\(value)' is not a flow count (1024...4194304)")
            }
            config.flow.capacity = n
        case "anomaly-log":
            // utmd.conf's `anomaly_log` comes this way too (an engine setting: changing it
            // builds new engines on reload, DaemonConfig.swift).
            do {
                config.anomalyLog.types = try AnomalyLogTypes.parse(value)
            } catch {
                throw Failure(description: "--set \(key): \(error.description)")
            }
        case "anomaly-log.rate":
            // utmd.conf's `anomaly_log_rate` comes this way too. Why a ceiling: the budget
            // bounds what a flood writes to a small box's flash; a million a second is already
            // every record a box can write, larger numbers are a typo.
            guard let n = Int(value), n >= 0, n <= 1_000_000 else {
                throw Failure(description: "--set \(key): '\(value)' is not a count of records per second (0...1000000)")
            }
            config.anomalyLog.perEventPerSecond = n
        case _ where key.hasPrefix("flow-timeouts."):
            return try flowTimeout(key, value, &config.flow.timeouts)
        case _ where key.hasPrefix("host-os-policy."):
            try hostOSPolicy(key, value, &config.flow)
        default:
            return "--set \(key): no equivalent in this engine; ignored"
        }
        return nil
    }

    /// `flow-timeouts.tcp.closed=10` (seconds; Suricata's flow-timeouts section).
    static func flowTimeout(_ key: Substring, _ value: String, _ t: inout FlowTimeouts) throws(Failure) -> String? {
        guard let n = Int64(value), n >= 0, n < 1 << 32 else {
            throw Failure(description: "--set \(key): '\(value)' is not a number of seconds")
        }
        let us = n * FlowTimeouts.second
        switch key.dropFirst("flow-timeouts.".count) {
        case "tcp.new": t.tcpNew = us
        case "tcp.established": t.tcpEstablished = us
        case "tcp.closed": t.tcpClosed = us
        case "udp.new": t.udpNew = us
        case "udp.established": t.udpEstablished = us
        case "default.new", "icmp.new": t.otherNew = us
        case "default.established", "icmp.established": t.otherEstablished = us
        default:
            return "--set \(key): no equivalent in this engine (tcp.new/established/closed, udp.new/established, default.new/established); ignored"
        }
        return nil
    }

    /// `host-os-policy.old-linux=[2.2.2.2, 10.0.0.0/8]` (suricata.yaml's list, brackets optional).
    static func hostOSPolicy(_ key: Substring, _ value: String, _ flow: inout FlowConfig) throws(Failure) {
        let name = String(key.dropFirst("host-os-policy.".count))
        guard let policy = OverlapPolicy(name: name) else {
            let names = OverlapPolicy.allCases.map(\.name).joined(separator: ", ")
            throw Failure(description: "--set \(key): '\(name)' is not one of \(names)")
        }
        let list = value.filter { $0 != "[" && $0 != "]" && $0 != " " && $0 != "\"" && $0 != "'" }
        for item in list.split(separator: ",") where !item.isEmpty {
            guard flow.hostOSPolicies.add(String(item), policy) else {
                throw Failure(description: "--set \(key): '\(item)' is not an address or network")
            }
        }
    }

    static func bool(_ key: Substring, _ v: String) throws(Failure) -> Bool {
        switch v {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw Failure(description: "--set \(key): '\(v)' is not true or false")
        }
    }

    static func policy(_ key: Substring, _ v: String, ids: Bool) throws(Failure) -> MidstreamPolicy {
        if v == "auto" { return ids ? .ignore : .dropFlow }
        guard let p = MidstreamPolicy(rawValue: v) else {
            let names = MidstreamPolicy.allCases.map(\.rawValue).joined(separator: ", ")
            throw Failure(description: "--set \(key): '\(v)' is not one of auto, \(names)")
        }
        return p
    }

    /// `flow.memcap-policy` (Suricata's values for that exception), or the master switch's
    /// value mapped to it.
    static func flowTablePolicy(_ key: Substring, _ v: String, ids: Bool, master: Bool) throws(Failure) -> FlowTablePolicy {
        if master, let p = FlowTablePolicy.fromMaster(v, ids: ids) { return p }
        if v == "auto" { return ids ? .ignore : .dropPacket }
        guard let p = FlowTablePolicy(rawValue: v) else {
            let names = FlowTablePolicy.allCases.map(\.rawValue).joined(separator: ", ")
            throw Failure(description: "--set \(key): '\(v)' is not one of auto, \(names)")
        }
        return p
    }

    /// "4096", "64kb", "1mb", "1 gb" (Suricata's size syntax).
    static func size(_ v: String) -> Int? {
        let digits = v.prefix { $0.isNumber }
        guard !digits.isEmpty, let n = Int(digits) else { return nil }
        let unit = v.dropFirst(digits.count).filter { $0 != " " }
        let scale: Int
        switch unit {
        case "", "b": scale = 1
        case "kb", "k", "kib": scale = 1 << 10
        case "mb", "m", "mib": scale = 1 << 20
        case "gb", "g", "gib": scale = 1 << 30
        default: return nil
        }
        let (r, overflow) = n.multipliedReportingOverflow(by: scale)
        return overflow ? nil : r
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
