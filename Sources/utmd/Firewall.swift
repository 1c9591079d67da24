import Foundation

/// The iptables rules that send forwarded traffic to utmd's queues, installed at start and
/// removed on exit. Everything lives in one chain, MIMAMORI, jumped to from FORWARD, so install
/// is idempotent (flush and refill the chain; add the jump only when missing) and removal
/// cannot touch anyone else's rules. The box's own traffic (INPUT/OUTPUT: DHCP, DNS, NTP, the
/// cloud) never passes FORWARD, so it is never queued.
///
/// Every rule carries `--queue-bypass`: while no process is bound to the queue (utmd stopped,
/// restarting or crashed) the kernel accepts the packets, so the office stays online.
/// `--queue-balance` hashes both directions of a flow to the same queue, which is what one
/// engine per queue needs (`--queue-cpu-fanout` would not, so it is not used).
struct Firewall {
    enum Mode: String { case router, bridge }

    static let chain = "MIMAMORI"
    var mode: Mode
    var queues: ClosedRange<UInt16>
    /// Zone name → interfaces. Empty: everything forwarded is queued.
    var zones: [(name: String, interfaces: [String])]
    var log: (String) -> Void

    /// Bridge mode when br_netfilter hands bridged frames to iptables and a configured
    /// interface is a bridge port; router mode otherwise.
    static func detectMode(interfaces: [String]) -> Mode {
        guard let text = try? String(contentsOfFile: "/proc/sys/net/bridge/bridge-nf-call-iptables", encoding: .utf8),
              text.trimmingCharacters(in: .whitespacesAndNewlines) == "1" else { return .router }
        let ports = interfaces.filter { FileManager.default.fileExists(atPath: "/sys/class/net/\($0)/brport") }
        return ports.isEmpty ? .router : .bridge
    }

    /// The rule specifications of the chain, one argument list each.
    func rules() -> [[String]] {
        var target = ["-j", "NFQUEUE"]
        if queues.count == 1 {
            target += ["--queue-num", "\(queues.lowerBound)"]
        } else {
            target += ["--queue-balance", "\(queues.lowerBound):\(queues.upperBound)"]
        }
        target += ["--queue-bypass"]
        var pairs: [(String, String)] = []
        for a in zones {
            for b in zones where a.name != b.name {
                for i in a.interfaces { for o in b.interfaces { pairs.append((i, o)) } }
            }
        }
        switch mode {
        case .router:
            if pairs.isEmpty { return [target] }
            return pairs.map { ["-i", $0.0, "-o", $0.1] + target }
        case .bridge:
            let bridged = ["-m", "physdev", "--physdev-is-bridged"]
            if pairs.isEmpty { return [bridged + target] }
            return pairs.map { ["-m", "physdev", "--physdev-in", $0.0, "--physdev-out", $0.1] + target }
        }
    }

    /// Installs (or refreshes) the chain and the jump, for IPv4 and, when present, IPv6.
    func install() throws {
        for tool in ["iptables", "ip6tables"] {
            do {
                _ = try? Self.run(tool, ["-N", Self.chain])
                try Self.run(tool, ["-F", Self.chain])
                for rule in rules() { try Self.run(tool, ["-A", Self.chain] + rule) }
                if (try? Self.run(tool, ["-C", "FORWARD", "-j", Self.chain])) == nil {
                    try Self.run(tool, ["-I", "FORWARD", "1", "-j", Self.chain])
                }
            } catch where tool == "ip6tables" {
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

    /// Runs iptables with `-w` (wait for the xtables lock). One-line error with its stderr.
    @discardableResult
    static func run(_ tool: String, _ args: [String]) throws -> String {
        let p = Process()
        let paths = ["/usr/sbin/\(tool)", "/sbin/\(tool)", "/usr/bin/\(tool)"]
        guard let exe = paths.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ConfigError("\(tool): not installed")
        }
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["-w", "5"] + args
        let err = Pipe(), out = Pipe()
        p.standardError = err
        p.standardOutput = out
        try p.run()
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
