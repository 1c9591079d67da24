import UTMDetect
import UTMEngine
import UTMSystem

/// `utmctl replay --firewall-rules FILE --firewall-policy KEY=ACTIONS`: Suricata 8's firewall
/// mode for a replay (the daemon reads the same files through `firewall_rules`).
enum ReplayFirewall {
    static func apply(rules: [String], policies: [String], to config: inout EngineConfig,
                      warn: (String) -> Void) throws {
        guard !rules.isEmpty || !policies.isEmpty else { return }
        var set = FirewallRuleSet()
        for path in rules {
            let bytes: [UInt8]
            do {
                bytes = try readWholeFile(path)
            } catch {
                throw ReplayOptionError(description: "--firewall-rules \(path): \(error)")
            }
            set.load(text: String(decoding: bytes, as: UTF8.self), file: path)
        }
        for e in set.errors { warn("warning: firewall rule left out: \(e)") }
        for item in policies {
            guard let eq = item.firstIndex(of: "=") else {
                throw ReplayOptionError(description: "--firewall-policy '\(item)': expected KEY=ACTIONS")
            }
            do {
                try set.setPolicy(String(item[..<eq]), String(item[item.index(after: eq)...]))
            } catch {
                // A protocol without firewall hooks here changes nothing (like an unknown --set key).
                if case .unsupported = error.kind {
                    warn("warning: --firewall-policy \(item): \(error.message); ignored")
                    continue
                }
                throw ReplayOptionError(description: "--firewall-policy \(error.message)")
            }
        }
        config.firewall = set
    }
}
