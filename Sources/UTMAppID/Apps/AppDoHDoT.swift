import UTMCore

/// DNS over HTTPS/TLS: the public resolvers' names, TLS on 853.
enum AppDoHDoT {
    static let descriptor = AppDescriptor(
        id: .dohDoT, name: "DoH_DoT", kind: .service, category: "Network",
        tcpPorts: [853],
        udpPorts: [853],
        names: ["dns.google", "cloudflare-dns.com", "one.one.one.one", "1dot1dot1dot1.cloudflare-dns.com",
                "dns.quad9.net", "dns9.quad9.net", "dns.adguard.com", "dns.adguard-dns.com",
                "doh.opendns.com", "dns.nextdns.io", "doh.cleanbrowsing.org", "mozilla.cloudflare-dns.com",
                "chrome.cloudflare-dns.com", "dns.sb", "doh.dns.sb", "dns.alidns.com", "doh.pub",
                "dns.cloudflare.com", "security.cloudflare-dns.com", "family.cloudflare-dns.com"])
}
