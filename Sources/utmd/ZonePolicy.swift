/// The zone matrix of [000 6.3(2)]: every packet's zone comes from the physical port it entered
/// and the port it leaves by (WAN, LAN, primary SSID, secondary SSID). Traffic inside one zone is
/// never queued; traffic between two zones is inspected unless the pair's policy says otherwise:
///
///     policy.ssid2.lan = deny     # the guest SSID may not open connections to the LAN
///     policy.lan.ssid1 = pass     # office LAN to the staff SSID: trusted, not inspected
///
/// A pair is directed (from → to): a connection follows the policy of the pair it was opened
/// in. `deny` drops the packets that would open a connection (conntrack NEW or INVALID);
/// `pass` marks the connection (the bypass connmark bit) so neither direction is ever queued;
/// `inspect` queues it. Replies of a connection opened the other way keep that other pair's
/// policy: a LAN PC may open a connection to a guest device even when the guest may not open
/// one to the LAN, and that connection is inspected both ways.
///
/// A value: parsed from the configuration, turned into iptables rules by `Firewall`.
struct ZonePolicy: Equatable {
    enum Action: String, Equatable { case inspect, pass, deny }

    struct Zone: Equatable {
        var name: String
        var interfaces: [String]
    }

    static let zoneNames = ["wan", "lan", "ssid1", "ssid2"]

    /// Zones in configuration order; an interface is in at most one zone.
    var zones: [Zone] = []
    /// (from, to) → action for the pairs the configuration names; other pairs are inspected.
    var pairs: [Pair: Action] = [:]

    struct Pair: Hashable {
        var from: String
        var to: String
    }

    /// What happens to packets from zone `from` to zone `to`.
    func action(from: String, to: String) -> Action {
        if from == to { return .pass }
        return pairs[Pair(from: from, to: to)] ?? .inspect
    }

    /// The zone of an interface, nil when it is in none (its traffic is not queued).
    func zone(of interface: String) -> String? {
        zones.first { $0.interfaces.contains(interface) }?.name
    }

    var allInterfaces: [String] { zones.flatMap(\.interfaces) }

    /// Adds `value`'s interfaces to `zone` (config key `zone.NAME`). Fails on an unknown zone or
    /// an interface that is in another zone already (zones may not overlap).
    mutating func add(zone: String, value: String) throws(ConfigError) {
        guard Self.zoneNames.contains(zone) else {
            throw ConfigError("unknown zone \(zone) (zones: \(Self.zoneNames.joined(separator: ", ")))")
        }
        for name in value.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init) {
            guard Self.validInterfaceName(name) else {
                throw ConfigError("\(name) is not an interface name")
            }
            if let other = self.zone(of: name) {
                throw ConfigError("interface \(name) is in zone \(other) already (zones may not overlap)")
            }
            if let i = zones.firstIndex(where: { $0.name == zone }) {
                zones[i].interfaces.append(name)
            } else {
                zones.append(Zone(name: zone, interfaces: [name]))
            }
        }
    }

    /// Sets a pair's action (config key `policy.FROM.TO = inspect|pass|deny`).
    mutating func set(pairKey: String, value: String) throws(ConfigError) {
        let parts = pairKey.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, Self.zoneNames.contains(parts[0]), Self.zoneNames.contains(parts[1]) else {
            throw ConfigError("policy.\(pairKey): expected policy.FROM.TO with zones \(Self.zoneNames.joined(separator: ", "))")
        }
        guard parts[0] != parts[1] else {
            throw ConfigError("policy.\(pairKey): traffic inside one zone is never inspected; a policy needs two zones")
        }
        guard let action = Action(rawValue: value) else {
            throw ConfigError("policy.\(pairKey) must be inspect, pass or deny, not \(value)")
        }
        pairs[Pair(from: parts[0], to: parts[1])] = action
    }

    /// A policy naming a zone that has no interfaces is a mistake (a typo, a forgotten line).
    func checkPairs() throws(ConfigError) {
        for pair in pairs.keys.sorted(by: { ($0.from, $0.to) < ($1.from, $1.to) }) {
            for z in [pair.from, pair.to] where !zones.contains(where: { $0.name == z }) {
                throw ConfigError("policy.\(pair.from).\(pair.to): zone \(z) has no interfaces (add zone.\(z) = IFACE)")
            }
        }
    }

    /// Linux interface names: 1–15 bytes, no '/', whitespace, ':' or quotes (they would reach
    /// iptables' command line).
    static func validInterfaceName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1 ... 15).contains(bytes.count) else { return false }
        return bytes.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)
                || b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: ".") || b == UInt8(ascii: "@")
        }
    }

    /// Every ordered pair of distinct zones with its action, in configuration order.
    var matrix: [(from: Zone, to: Zone, action: Action)] {
        var out: [(Zone, Zone, Action)] = []
        for a in zones {
            for b in zones where a.name != b.name {
                out.append((a, b, action(from: a.name, to: b.name)))
            }
        }
        return out
    }
}
