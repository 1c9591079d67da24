import ArgumentParser
import Foundation

/// `utmctl diag`: the box's own connectivity, exactly the destinations of [000 table 6-1],
/// one pass/fail line each with what to do. The installer runs it in the first hour; the
/// support desk asks the customer to read it out on the phone.
struct Diag: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the box's own connectivity: DHCP lease, DNS, NTP, the gateway, and 80/443/8443 to the cloud.",
        discussion: """
            These are the destinations the box needs ([000] table 6-1); a firewall in front of it \
            must allow them:
              67/UDP    DHCP server  the box's own address (the DHCP client's lease)
              53/UDP    DNS server   name resolution
              123/UDP   Internet     time (NTP)
              ICMP      gateway      the router answers ping
              80/TCP    cloud        definition and firmware downloads
              443/TCP   cloud        reports and alerts (TLS)
              8443/TCP  cloud        management (TLS)
            The gateway and DNS server come from the lease unless given. Exit status 1 when any \
            check fails; each failing line says what to do.
            """)

    @Option(name: .long, help: "DHCP lease file (dhclient or systemd-networkd format; default: searched).")
    var leaseFile: String?

    @Option(name: .long, help: "DNS server to ask (default: from the lease, else /etc/resolv.conf).")
    var dns: String?

    @Option(name: .long, help: "Name to resolve in the DNS check (default: the cloud host).")
    var dnsName: String?

    @Option(name: .long, help: "NTP server.")
    var ntp: String = "ntp.nict.jp"

    @Option(name: .long, help: "Gateway to ping (default: from the lease, else the default route).")
    var gateway: String?

    @Option(name: .long, help: "The cloud host for 80, 443 and 8443/TCP.")
    var cloud: String = "cloud.mimamori.example"

    @Option(name: .long, help: "Time limit per check in milliseconds.")
    var timeout: Int = 3000

    @Flag(name: .long, help: "Print the results as one JSON object.")
    var json = false

    func validate() throws {
        guard (50...60_000).contains(timeout) else { throw ValidationError("--timeout must be 50 to 60000 milliseconds") }
    }

    /// Words wrapped at 80 columns, each line indented.
    static func wrap(_ text: String, indent: String) -> String {
        var out = "", line = indent
        for word in text.split(separator: " ") {
            if line.count > indent.count && line.count + 1 + word.count > 80 {
                out += line + "\n"
                line = indent
            }
            line += (line.count > indent.count ? " " : "") + word
        }
        return out + line + "\n"
    }

    func run() throws {
        let now = Int64(Date().timeIntervalSince1970)
        let (dhcp, lease) = DiagChecks.dhcp(leaseFile, now: now)
        let results = [
            dhcp,
            DiagChecks.dns(server: dns ?? lease?.dns.first ?? DiagChecks.resolvConfServer(), name: dnsName ?? cloud, timeout: timeout),
            DiagChecks.ntp(server: ntp, timeout: timeout),
            DiagChecks.icmp(gateway: gateway ?? lease?.routers.first ?? DiagChecks.defaultGateway(), timeout: timeout),
            DiagChecks.tcp("HTTP", host: cloud, port: 80, timeout: timeout),
            DiagChecks.tcp("HTTPS", host: cloud, port: 443, timeout: timeout),
            DiagChecks.tcp("HTTPS cloud management", host: cloud, port: 8443, timeout: timeout),
        ]
        let failed = results.filter { !$0.ok }
        if json {
            print(ControlClient.json(["ok": failed.isEmpty, "checks": results.map(\.json)] as [String: Any]))
        } else {
            var out = ""
            for r in results {
                // One line when it fits a terminal, else the detail below, wrapped at 80 columns.
                let label = "\(r.ok ? "PASS" : "FAIL")  \(r.service) (\(r.port))"
                let padded = label.padding(toLength: max(label.count, 40), withPad: " ", startingAt: 0)
                if padded.count + 1 + r.detail.count <= 80 {
                    out += "\(padded) \(r.detail)\n"
                } else {
                    out += label + "\n" + Self.wrap(r.detail, indent: "      ")
                }
                if !r.ok { out += Self.wrap("what to do: \(r.advice)", indent: "      ") }
            }
            out += failed.isEmpty ? "all \(results.count) checks passed\n"
                : "\(failed.count) of \(results.count) checks failed: \(failed.map(\.service).joined(separator: ", "))\n"
            print(out, terminator: "")
        }
        if !failed.isEmpty { throw ExitCode(1) }
    }
}
