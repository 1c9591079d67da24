import Foundation

/// The iptables rules that send forwarded traffic to utmd's queues, installed at start and
/// removed on exit. Everything lives in one chain, MIMAMORI, jumped to from FORWARD, written in
/// one `iptables-restore --noflush` transaction per address family: the chain is declared
/// (which empties it) and refilled atomically, so a reinstall is idempotent, never shows a
/// half-built chain, and cannot touch anyone else's rules. The box's own traffic (INPUT/OUTPUT:
/// DHCP client, DNS, NTP, the cloud on 443/8443) never passes FORWARD, so it is never queued.
///
/// The chain, in order:
/// 1. bypassed connections (connmark bit set) return: the kernel forwards them unqueued;
/// 2. a packet utmd re-injected with the bypass mark (NF_REPEAT) copies it to its connection;
/// 3. IPv6 neighbour discovery crossing the bridge returns (never worth a queue round trip);
/// 4. the zone matrix (ZonePolicy): same zone → no rule; pass → connections opened that way
///    get the connmark bit and return (so their replies return at step 1 too); deny → drop
///    the packets that would open a connection; inspect → NFQUEUE. Packets of connections
///    opened the other way keep the policy of that other pair (they reach the NFQUEUE rule).
///
/// Every NFQUEUE rule carries `--queue-bypass`: while no process is bound to the queue (utmd
/// stopped, restarting or crashed) the kernel accepts the packets, so the office stays online.
/// `--queue-balance` hashes both directions of a flow to the same queue, which is what one
/// engine per queue needs (`--queue-cpu-fanout` would not, so it is not used).
struct Firewall {
    enum Mode: String { case router, bridge }

    static let chain = "MIMAMORI"
    var mode: Mode
    var queues: ClosedRange<UInt16>
    var policy: ZonePolicy
    /// The connmark bit of connections that are not queued (bypassed flows, `pass` pairs).
    var bypassMark: UInt32
    var log: (String) -> Void

    static let bridgeSysctl = "/proc/sys/net/bridge/bridge-nf-call-iptables"

    /// Bridge mode when br_netfilter hands bridged frames to iptables and a configured
    /// interface is a bridge port; router mode otherwise (`mode = auto`).
    static func detectMode(interfaces: [String]) -> Mode {
        guard let text = try? String(contentsOfFile: bridgeSysctl, encoding: .utf8),
              text.trimmingCharacters(in: .whitespacesAndNewlines) == "1" else { return .router }
        let ports = interfaces.filter { FileManager.default.fileExists(atPath: "/sys/class/net/\($0)/brport") }
        return ports.isEmpty ? .router : .bridge
    }

    /// Bridge mode's preconditions, checked before any traffic is touched: br_netfilter is
    /// present (loaded with modprobe when it is not) and every zone interface is a bridge port.
    /// `load`: try modprobe (the daemon); false for `--check`, which changes nothing.
    static func checkBridge(interfaces: [String], load: Bool) throws {
        if !FileManager.default.fileExists(atPath: bridgeSysctl), load {
            _ = try? run("modprobe", ["br_netfilter"], wait: false)
        }
        guard FileManager.default.fileExists(atPath: bridgeSysctl) else {
            throw ConfigError("bridge mode needs the br_netfilter kernel module (modprobe br_netfilter; "
                + "systemd/modules-load.d/mimamori.conf loads it at boot), or set mode = router")
        }
        for name in interfaces where !FileManager.default.fileExists(atPath: "/sys/class/net/\(name)/brport") {
            throw ConfigError("bridge mode: interface \(name) is not a bridge port (ip link set \(name) master BRIDGE), or set mode = router")
        }
    }

    /// Bridges of the zone interfaces that have no IPv4 address: active responses (resets,
    /// block pages, ICMP) are routed by the box's own stack and leave through the bridge only
    /// when the box has an address (or a route) there. A warning, not an error: the verdicts
    /// themselves still hold, refusals just become silent drops.
    static func bridgesWithoutAddress(interfaces: [String]) -> [String] {
        var bridges: [String] = []
        for name in interfaces {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/sys/class/net/\(name)/master") else { continue }
            let bridge = (target as NSString).lastPathComponent
            if !bridges.contains(bridge) { bridges.append(bridge) }
        }
        var withAddress: Set<String> = []
        var list: UnsafeMutablePointer<ifaddrs>?
        if getifaddrs(&list) == 0 {
            var p = list
            while let a = p {
                if let sa = a.pointee.ifa_addr, sa.pointee.sa_family == sa_family_t(AF_INET) {
                    withAddress.insert(String(cString: a.pointee.ifa_name))
                }
                p = a.pointee.ifa_next
            }
            freeifaddrs(list)
        }
        return bridges.filter { !withAddress.contains($0) }
    }

    /// Turns on iptables for bridged IPv4 and IPv6 frames (per network namespace since 5.3).
    static func enableBridgeNetfilter() throws {
        for family in ["iptables", "ip6tables"] {
            let path = "/proc/sys/net/bridge/bridge-nf-call-\(family)"
            if (try? String(contentsOfFile: path, encoding: .utf8))?.hasPrefix("1") == true { continue }
            do {
                try "1\n".write(toFile: path, atomically: false, encoding: .utf8)
            } catch {
                throw ConfigError("bridge mode: cannot enable \(path): \(error.localizedDescription)")
            }
        }
    }

    var queueTarget: [String] {
        var target = ["-j", "NFQUEUE"]
        if queues.count == 1 {
            target += ["--queue-num", "\(queues.lowerBound)"]
        } else {
            target += ["--queue-balance", "\(queues.lowerBound):\(queues.upperBound)"]
        }
        return target + ["--queue-bypass"]
    }

    /// The chain's rules for one family, one argument list each (without `-A MIMAMORI`).
    func rules(ipv6: Bool) -> [[String]] {
        var out: [[String]] = []
        let m = String(format: "0x%x", bypassMark)
        out.append(["-m", "connmark", "--mark", "\(m)/\(m)", "-j", "RETURN"])
        out.append(["-m", "mark", "--mark", "\(m)/\(m)", "-j", "CONNMARK", "--or-mark", m])
        out.append(["-m", "mark", "--mark", "\(m)/\(m)", "-j", "RETURN"])
        if ipv6 && mode == .bridge {
            for type in ["router-solicitation", "router-advertisement", "neighbour-solicitation", "neighbour-advertisement"] {
                out.append(["-p", "ipv6-icmp", "-m", "icmp6", "--icmpv6-type", type, "-j", "RETURN"])
            }
        }
        if policy.zones.isEmpty {
            // No zones: everything forwarded (bridged) is inspected.
            out.append((mode == .bridge ? ["-m", "physdev", "--physdev-is-bridged"] : []) + queueTarget)
            return out
        }
        for (from, to, action) in policy.matrix {
            for i in from.interfaces {
                for o in to.interfaces {
                    let match = mode == .bridge
                        ? ["-m", "physdev", "--physdev-in", i, "--physdev-out", o]
                        : ["-i", i, "-o", o]
                    switch action {
                    case .pass:
                        // A connection opened from → to is marked and never queued, both ways;
                        // replies of a connection opened the other way keep that pair's policy.
                        let original = match + ["-m", "conntrack", "--ctdir", "ORIGINAL"]
                        out.append(original + ["-j", "CONNMARK", "--or-mark", String(format: "0x%x", bypassMark)])
                        out.append(original + ["-j", "RETURN"])
                        out.append(match + queueTarget)
                    case .deny:
                        out.append(match + ["-m", "conntrack", "--ctstate", "NEW,INVALID", "-j", "DROP"])
                        out.append(match + queueTarget)
                    case .inspect:
                        out.append(match + queueTarget)
                    }
                }
            }
        }
        return out
    }

    /// The `iptables-restore --noflush` input for one family: the chain emptied and refilled,
    /// and the jump from FORWARD when it is missing, in one transaction.
    func restoreScript(ipv6: Bool, addJump: Bool) -> String {
        var lines = ["*filter", ":\(Self.chain) - [0:0]", "-F \(Self.chain)"]
        if addJump { lines.append("-I FORWARD 1 -j \(Self.chain)") }
        for rule in rules(ipv6: ipv6) { lines.append((["-A", Self.chain] + rule).joined(separator: " ")) }
        lines.append("COMMIT")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Installs (or refreshes) the chain and the jump, for IPv4 and, when present, IPv6.
    func install() throws {
        if mode == .bridge { try Self.enableBridgeNetfilter() }
        for (tool, ipv6) in [("iptables", false), ("ip6tables", true)] {
            do {
                let hasJump = (try? Self.run(tool, ["-C", "FORWARD", "-j", Self.chain])) != nil
                try Self.run("\(tool)-restore", ["--noflush"], input: restoreScript(ipv6: ipv6, addJump: !hasJump))
            } catch where ipv6 {
                log("warning: IPv6 traffic is not queued: \(error)")
            }
        }
    }

    /// Removes the jump and the chain; traffic then flows unqueued. Never throws: exit paths call it.
    static func remove(log: (String) -> Void) {
        for tool in ["iptables", "ip6tables"] {
            var n = 0
            while n < 16, (try? run(tool, ["-D", "FORWARD", "-j", chain])) != nil { n += 1 }
            _ = try? run(tool, ["-F", chain])
            _ = try? run(tool, ["-X", chain])
        }
    }

    /// Runs an iptables tool with `-w` (wait for the xtables lock), `input` on its standard
    /// input. One-line error with its stderr.
    @discardableResult
    static func run(_ tool: String, _ args: [String], input: String? = nil, wait: Bool = true) throws -> String {
        let p = Process()
        let paths = ["/usr/sbin/\(tool)", "/sbin/\(tool)", "/usr/bin/\(tool)", "/bin/\(tool)"]
        guard let exe = paths.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ConfigError("\(tool): not installed")
        }
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = (wait ? ["-w", "5"] : []) + args
        let err = Pipe(), out = Pipe(), inPipe = Pipe()
        p.standardError = err
        p.standardOutput = out
        p.standardInput = inPipe
        try p.run()
        if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
        try? inPipe.fileHandleForWriting.close()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            let text = String(decoding: errData, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
            throw ConfigError("\(tool) \(args.joined(separator: " ")): \(text)")
        }
        return String(decoding: outData, as: UTF8.self)
    }
}
