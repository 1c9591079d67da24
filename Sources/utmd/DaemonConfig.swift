import Foundation
import UTMDetect
import UTMEngine

/// utmd's configuration: a plain struct with documented defaults, read from a small
/// `key = value` file (`#` starts a comment; list keys may repeat). Example: systemd/utmd.conf.
///
///     queues = 0-1                  # NFQUEUE numbers, one worker thread and engine each (default 0)
///     mode = bridge                 # bridge (default: br_netfilter + physdev) | router | auto
///     zone.wan = eth0               # interfaces of each zone: wan, lan, ssid1, ssid2 (repeatable)
///     zone.lan = eth1
///     policy.ssid2.lan = deny       # per directed zone pair: inspect (default) | pass | deny
///     bypass = encrypted,depth      # off | encrypted, depth: connmark flows that need no more inspection
///     bypass_mark = 0x40000000      # the mark bit utmd owns for that
///     rules = /etc/mimamori/et.rules             # Suricata rules (repeatable)
///     threshold_file = /etc/mimamori/threshold.config   # Suricata threshold.config: suppress a rule for
///                                                   # a host, rate_filter, event_filter (default: none)
///     ips_drop_conf = /usr/share/mimamori/ips/drop.conf   # suricata-update filter files applied to the
///     ips_disable_conf = /etc/mimamori/disable.conf       # rules as they load: drop.conf turns alert rules
///     ips_enable_conf = /etc/mimamori/enable.conf         # into drops, disable/enable switch rules off/on,
///     ips_modify_conf = /etc/mimamori/modify.conf         # modify rewrites them (RuleFilters.swift; default none;
///                                                         # each key repeatable: vendor's and customer's files)
///     firewall_rules = /etc/mimamori/fw.rules    # Suricata 8 firewall-mode rules (repeatable; FirewallMode.swift)
///     firewall_policy.app.http1.default-policy = accept:hook   # firewall.policies entries
///     av_db = /var/lib/mimamori/main.hdb         # ClamAV signatures (repeatable)
///     categories = /var/lib/mimamori/categories.db   # `utmctl defs compile` output, or a UT1 folder
///     webfilter = /etc/mimamori/webfilter.json   # customer web filter settings (default: standard level)
///     eve = /var/log/mimamori/eve.json           # EVE JSON lines (default; "-" for standard output)
///     install_firewall = true       # utmd adds and removes its own iptables rules (default true)
///     queue_maxlen = 4096           # kernel queue length per queue before fail-open
///     copy_range = 65535            # bytes of each packet copied to user space
///     fail_open = true              # accept uninspected when a kernel queue is full
///     batch_verdicts = true         # one verdict message for a run of accepts
///     update.definitions = /var/lib/mimamori/definitions   # definition store (Updates.swift lists update.*)
///     cloud.credentials = /var/lib/mimamori/cloud   # cloud.* keys start the cloud client (ControlPlane.swift)
///     control_socket = /run/mimamori/utmd.sock   # utmctl status/flows ask here (mode 0600; "none" to disable)
///     host_os_policy.windows = 192.168.1.0/24     # TCP overlap policy of those receivers (repeatable;
///                                                 # Suricata's host-os-policy names, default: first bytes win)
///     flow_capacity = 32768         # concurrent flows (default; ~530 bytes each, allocated at start)
///     flow_table_policy = ignore    # a packet the full flow table has no room for: ignore (inspected
///                                   # alone), drop-packet, reject, pass-packet, bypass, auto
///     anomaly_log = applayer        # EVE anomaly events: none, all or decode,stream,applayer (default
///                                   # applayer, as Suricata's suricata.yaml)
///     anomaly_log_rate = 10         # anomaly records per event and second, all flows (default 10;
///                                   # 0: counters only)
///
/// Zones and the per-pair policy decide which packets are queued (ZonePolicy.swift).
struct DaemonConfig {
    enum Mode: String { case auto, router, bridge }

    var queues: ClosedRange<UInt16> = 0 ... 0
    var mode: Mode = .bridge
    /// Zones (interfaces per zone) and the zone-pair policy.
    var policy = ZonePolicy()
    /// Zone name → interface names, in file order.
    var zones: [(name: String, interfaces: [String])] { policy.zones.map { ($0.name, $0.interfaces) } }
    /// Flows the engine says need no more inspection get `bypassMark` on their connection, and
    /// the kernel stops queueing them (Bypass.swift).
    var bypass = EngineBypassPolicy()
    var bypassMark: UInt32 = 0x4000_0000
    var rules: [String] = []
    /// A Suricata threshold.config applied to the IPS rules (suppressions of false positives
    /// per host or network, thresholds, rate filters); reread with the rules on SIGHUP.
    var thresholdFile: String? = nil
    /// suricata-update's filter files (disable, enable, modify, drop), applied to rule files as
    /// they load; reread with the rules on SIGHUP (Definitions.ruleFilters).
    var ruleFilterFiles: [(kind: RuleFilters.Kind, path: String)] = []
    /// Firewall mode (FirewallMode.swift): rule files and `firewall.policies` entries.
    var firewallRules: [String] = []
    var firewallPolicies: [(key: String, value: String)] = []
    var avDB: [String] = []
    var categories: String? = nil
    var webfilter: String? = nil
    var eve: String = "/var/log/mimamori/eve.json"
    var installFirewall = true
    var queueMaxLength: UInt32 = 4096
    var copyRange: UInt32 = 0xffff
    var failOpen = true
    var batchVerdicts = true
    /// `update.*` keys, read by Updates.swift.
    var updates: [String: String] = [:]
    /// `cloud.*` keys, checked by ControlPlane (empty: no cloud client).
    var cloud: [String: String] = [:]
    var controlSocket: String? = "/run/mimamori/utmd.sock"
    /// `host_os_policy.NAME = networks` and `flow_capacity = N`, as `host-os-policy.NAME=networks`
    /// and `flow.capacity=N` settings (ReplaySettings; applied by Definitions.engineConfig).
    var engineSettings: [String] = []

    static var zoneNames: [String] { ZonePolicy.zoneNames }

    /// Reads and checks a configuration file. Errors are one line: `FILE:LINE: what is wrong`.
    static func load(path: String) throws -> DaemonConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError("\(path): cannot read the configuration file")
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path).resolvingDefinitionStore()
    }

    static func parse(_ text: String, path: String) throws -> DaemonConfig {
        var c = DaemonConfig()
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let at = "\(path):\(index + 1)"
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            line = line.trimmingCharacters(in: .whitespaces)[...]
            if line.isEmpty { continue }
            guard let eq = line.firstIndex(of: "=") else { throw ConfigError("\(at): expected key = value") }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            guard !value.isEmpty else { throw ConfigError("\(at): \(key) has no value") }
            switch key {
            case "queues": c.queues = try queueRange(value, at)
            case "mode":
                guard let m = Mode(rawValue: value) else { throw ConfigError("\(at): mode must be auto, router or bridge, not \(value)") }
                c.mode = m
            case "rules": c.rules.append(value)
            case "threshold_file": c.thresholdFile = value
            case "ips_disable_conf", "ips_enable_conf", "ips_modify_conf", "ips_drop_conf":
                // Repeatable: the vendor's file and the customer's both apply.
                let kind = RuleFilters.Kind(rawValue: String(key.dropFirst(4).dropLast(5)))!
                c.ruleFilterFiles.append((kind, value))
            case "firewall_rules": c.firewallRules.append(value)
            case _ where key.hasPrefix("firewall_policy."):
                c.firewallPolicies.append((String(key.dropFirst(16)), value))
            case "av_db": c.avDB.append(value)
            case "categories": c.categories = value
            case "webfilter": c.webfilter = value
            case "eve": c.eve = value
            case "control_socket": c.controlSocket = value == "none" ? nil : value
            case "install_firewall": c.installFirewall = try bool(value, at, key)
            case "fail_open": c.failOpen = try bool(value, at, key)
            case "batch_verdicts": c.batchVerdicts = try bool(value, at, key)
            case "queue_maxlen": c.queueMaxLength = try number(value, at, key, 1 ... 1 << 20)
            case "copy_range": c.copyRange = try number(value, at, key, 64 ... 0xffff)
            case _ where key.hasPrefix("update."): c.updates[String(key.dropFirst(7))] = value
            case _ where key.hasPrefix("cloud."): c.cloud[String(key.dropFirst(6))] = value
            case "bypass":
                c.bypass = .off
                for word in value.split(whereSeparator: { $0 == "," || $0 == " " }) {
                    switch word {
                    case "encrypted": c.bypass.encrypted = true
                    case "depth": c.bypass.streamDepth = true
                    case "off" where value == "off": break
                    default: throw ConfigError("\(at): bypass must be off or a list of encrypted, depth; not \(value)")
                    }
                }
            case "bypass_mark":
                let digits = value.hasPrefix("0x") ? String(value.dropFirst(2)) : value
                guard let m = UInt32(digits, radix: value.hasPrefix("0x") ? 16 : 10), m != 0, m & (m - 1) == 0 else {
                    throw ConfigError("\(at): bypass_mark must be one bit (e.g. 0x40000000), not \(value)")
                }
                c.bypassMark = m
            case _ where key.hasPrefix("host_os_policy."):
                let item = "host-os-policy.\(key.dropFirst("host_os_policy.".count))=\(value)"
                var scratch = EngineConfig()
                var explicit = false
                do {
                    _ = try ReplaySettings.apply(item, to: &scratch, explicitMidstreamPolicy: &explicit)
                } catch {
                    throw ConfigError("\(at): \(error.description.replacingOccurrences(of: "--set ", with: ""))")
                }
                c.engineSettings.append(item)
            case "flow_table_policy":
                // What a packet the full flow table has no room for meets (EngineFlowless.swift).
                c.engineSettings.append(try engineSetting("flow.memcap-policy", value, as: "flow_table_policy", at))
            case "flow_capacity":
                c.engineSettings.append(try engineSetting("flow.capacity", value, as: "flow_capacity", at))
            case "anomaly_log":
                do {
                    _ = try AnomalyLogTypes.parse(value)
                } catch {
                    throw ConfigError("\(at): anomaly_log: \(error.description)")
                }
                c.engineSettings.append("anomaly-log=\(value)")
            case "anomaly_log_rate":
                c.engineSettings.append(try engineSetting("anomaly-log.rate", value, as: "anomaly_log_rate", at))
            case _ where key.hasPrefix("zone."):
                do {
                    try c.policy.add(zone: String(key.dropFirst(5)), value: value)
                } catch {
                    throw ConfigError("\(at): \(error)")
                }
            case _ where key.hasPrefix("policy."):
                do {
                    try c.policy.set(pairKey: String(key.dropFirst(7)), value: value)
                } catch {
                    throw ConfigError("\(at): \(error)")
                }
            default:
                throw ConfigError("\(at): unknown key \(key)")
            }
        }
        do {
            try c.policy.checkPairs()
        } catch {
            throw ConfigError("\(path): \(error)")
        }
        return c
    }

    /// A key that is an engine setting (`--set SETKEY=VALUE`, ReplaySettings.swift) under
    /// another name in this file: checked now, so a bad value fails the configuration on its
    /// line, the message naming the key as the file spells it; returns the setting's item.
    static func engineSetting(_ setKey: String, _ value: String, as key: String, _ at: String) throws -> String {
        let item = "\(setKey)=\(value)"
        var scratch = EngineConfig()
        var explicit = false
        do {
            _ = try ReplaySettings.apply(item, to: &scratch, explicitMidstreamPolicy: &explicit)
        } catch {
            throw ConfigError("\(at): \(error.description.replacingOccurrences(of: "--set \(setKey)", with: key))")
        }
        return item
    }

    /// "3" or "0-3".
    static func queueRange(_ value: String, _ at: String) throws -> ClosedRange<UInt16> {
        let parts = value.split(separator: "-", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let lo = UInt16(parts[0]), let hi = parts.count == 2 ? UInt16(parts[1]) : lo, lo <= hi, hi - lo < 64 else {
            throw ConfigError("\(at): queues must be N or N-M (at most 64 queues), not \(value)")
        }
        return lo ... hi
    }

    static func bool(_ value: String, _ at: String, _ key: String) throws -> Bool {
        switch value {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw ConfigError("\(at): \(key) must be true or false, not \(value)")
        }
    }

    static func number(_ value: String, _ at: String, _ key: String, _ range: ClosedRange<UInt32>) throws -> UInt32 {
        guard let n = UInt32(value), range.contains(n) else {
            throw ConfigError("\(at): \(key) must be a number in \(range.lowerBound)...\(range.upperBound), not \(value)")
        }
        return n
    }

    /// Every configured interface exists (checked before any traffic is touched).
    func checkInterfaces() throws {
        for zone in zones {
            for name in zone.interfaces where if_nametoindex(name) == 0 {
                throw ConfigError("zone.\(zone.name): unknown interface \(name)")
            }
        }
    }
}

struct ConfigError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
