import Foundation
import UTMDetect

/// Firewall mode for the daemon: `firewall_rules` files and `firewall_policy.KEY = ACTIONS`
/// entries (KEY below Suricata's `firewall.policies`, e.g. `packet.filter`,
/// `app.http1.default-policy`). Parsed per worker, like the IPS rules: a signature's PCRE
/// match block must not be shared between threads. A rule that does not parse is a warning
/// with file:line (the rest of the ruleset loads; what it would have accepted meets the
/// default policy); an unreadable file or a bad policy is an error.
enum FirewallMode {
    static func ruleSet(_ c: DaemonConfig, warn: (String) -> Void) throws -> FirewallRuleSet? {
        guard !c.firewallRules.isEmpty || !c.firewallPolicies.isEmpty else { return nil }
        var set = FirewallRuleSet()
        for path in c.firewallRules {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigError("firewall_rules: cannot read \(path)")
            }
            set.load(text: String(decoding: data, as: UTF8.self), file: path)
        }
        for e in set.errors.prefix(20) { warn("warning: firewall rule left out: \(e.description)") }
        for (key, value) in c.firewallPolicies {
            do {
                try set.setPolicy(key, value)
            } catch {
                if case .unsupported = error.kind {
                    warn("warning: firewall_policy.\(key): \(error.message); ignored")
                    continue
                }
                throw ConfigError("firewall_policy.\(key): \(error.message)")
            }
        }
        return set
    }
}
