import Foundation
import UTMSystem

/// One line of `utmctl diag`: which service of [000 table 6-1], where, and what happened.
struct DiagResult {
    var service: String
    var port: String
    var target: String
    var ok: Bool
    var detail: String
    /// What the installer does about a failure.
    var advice: String

    var json: [String: Any] {
        var j: [String: Any] = ["service": service, "port": port, "target": target, "ok": ok, "detail": detail]
        if !ok { j["advice"] = advice }
        return j
    }
}

/// What the box's DHCP client got: its address, router and DNS servers, and until when.
struct DHCPLease: Equatable {
    var address: String?
    var routers: [String] = []
    var dns: [String] = []
    /// Seconds since the epoch (UTC); nil when the file does not say.
    var expires: Int64?
    var file: String

    /// Lease files the usual DHCP clients write, newest first.
    static let searchPaths = ["/run/systemd/netif/leases", "/var/lib/dhcp", "/var/lib/dhclient", "/var/lib/NetworkManager"]

    static func find() -> String? {
        var candidates: [(String, Date)] = []
        for dir in searchPaths {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
            for n in names where dir.hasSuffix("leases") || n.hasSuffix(".leases") || n.hasSuffix(".lease") {
                let p = dir + "/" + n
                let m = (try? FileManager.default.attributesOfItem(atPath: p)[.modificationDate] as? Date) ?? .distantPast
                candidates.append((p, m))
            }
        }
        return candidates.max { $0.1 < $1.1 }?.0
    }

    /// Reads dhclient's `lease { … }` blocks (the last one wins) or systemd-networkd's KEY=VALUE file.
    static func parse(_ text: String, file: String) -> DHCPLease {
        var lease = DHCPLease(file: file)
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: ";"))
            func list(_ s: Substring) -> [String] {
                s.split(whereSeparator: { $0 == "," || $0 == " " }).map { String($0) }.filter { !$0.isEmpty }
            }
            if line.hasPrefix("lease {") || line == "lease {" { lease = DHCPLease(file: file) }
            if line.hasPrefix("fixed-address ") { lease.address = String(line.dropFirst(14)) }
            else if line.hasPrefix("option routers ") { lease.routers = list(line.dropFirst(15)[...]) }
            else if line.hasPrefix("option domain-name-servers ") { lease.dns = list(line.dropFirst(27)[...]) }
            else if line.hasPrefix("expire ") {
                // "expire 4 2026/12/10 10:00:00" (UTC) or "expire never"
                let parts = line.split(separator: " ")
                if parts.count >= 4 {
                    let date = parts[2].replacingOccurrences(of: "/", with: "-")
                    lease.expires = EventTimeText.parseUTC("\(date)T\(parts[3])")
                }
            }
            else if line.hasPrefix("ADDRESS=") { lease.address = String(line.dropFirst(8)) }
            else if line.hasPrefix("ROUTER=") { lease.routers = list(line.dropFirst(7)[...]) }
            else if line.hasPrefix("DNS=") { lease.dns = list(line.dropFirst(4)[...]) }
            else if line.hasPrefix("LIFETIME=") || line.hasPrefix("EXPIRES=") {
                // Written by the tests and by scripts: absolute UTC expiry in seconds.
                if let v = Int64(line.split(separator: "=").last ?? "") { lease.expires = v }
            }
        }
        return lease
    }
}

/// "2026-12-10T10:00:00" as UTC seconds.
enum EventTimeText {
    static func parseUTC(_ s: String) -> Int64? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withDashSeparatorInDate]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.date(from: s).map { Int64($0.timeIntervalSince1970) }
    }
}

/// The checks themselves. Pure Swift over UTMSystem's NetProbe.
enum DiagChecks {
    static func dhcp(_ leaseFile: String?, now: Int64) -> (DiagResult, DHCPLease?) {
        var r = DiagResult(service: "DHCP", port: "67/UDP", target: leaseFile ?? "lease file", ok: false, detail: "",
                           advice: "the box has no address from the office router: check the cable to the router's LAN port and that the router's DHCP server is on")
        guard let path = leaseFile ?? DHCPLease.find() else {
            r.detail = "no DHCP lease file found (looked in \(DHCPLease.searchPaths.joined(separator: ", ")))"
            return (r, nil)
        }
        r.target = path
        guard let data = FileManager.default.contents(atPath: path) else {
            r.detail = "cannot read the lease file \(path)"
            return (r, nil)
        }
        let lease = DHCPLease.parse(String(decoding: data, as: UTF8.self), file: path)
        guard let address = lease.address else {
            r.detail = "the lease file holds no address"
            return (r, lease)
        }
        if let e = lease.expires, e <= now {
            r.detail = "lease of \(address) expired \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(e))))"
            return (r, lease)
        }
        guard NetProbe.localIPv4Addresses().contains(address) else {
            r.detail = "leased \(address), but no interface has that address"
            return (r, lease)
        }
        r.ok = true
        r.detail = "address \(address)" + (lease.routers.first.map { ", gateway \($0)" } ?? "")
            + (lease.expires.map { ", until \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double($0))))" } ?? "")
        return (r, lease)
    }

    /// A standard query for `name` (type A, recursion desired) with a fixed id.
    static func dnsQuery(_ name: String, id: UInt16) -> [UInt8] {
        var q: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in name.split(separator: ".") where !label.isEmpty {
            let bytes = Array(label.utf8.prefix(63))
            q.append(UInt8(bytes.count))
            q += bytes
        }
        q += [0, 0, 1, 0, 1]
        return q
    }

    static func dns(server: String?, name: String, timeout: Int) -> DiagResult {
        var r = DiagResult(service: "DNS", port: "53/UDP", target: server ?? "-", ok: false, detail: "",
                           advice: "allow 53/UDP from the box to the DNS server in the router's firewall, or check the DNS server the router hands out")
        guard let server else {
            r.detail = "no DNS server known (not in the lease, not in /etc/resolv.conf)"
            return r
        }
        let id = UInt16(truncatingIfNeeded: getpid() &* 7919)
        let outcome = NetProbe.udpExchange(host: server, port: 53, request: dnsQuery(name, id: id), timeoutMilliseconds: timeout) {
            $0.count >= 12 && $0[0] == UInt8(id >> 8) && $0[1] == UInt8(id & 0xff) && $0[2] & 0x80 != 0
        }
        switch outcome {
        case .ok(let ms, let answer):
            let rcode = answer[3] & 0x0f
            let names = [0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"]
            let text = names[Int(rcode)] ?? "rcode \(rcode)"
            r.ok = rcode == 0 || rcode == 3
            r.detail = "\(server) answered \(name) with \(text) in \(String(format: "%.1f", ms)) ms"
            if !r.ok { r.advice = "the DNS server refuses the box's queries: check its access settings" }
        case .failed(let why):
            r.detail = "\(server): \(why)"
        }
        return r
    }

    static func ntp(server: String, timeout: Int) -> DiagResult {
        var r = DiagResult(service: "NTP", port: "123/UDP", target: server, ok: false, detail: "",
                           advice: "allow 123/UDP from the box to the Internet: without time, certificates and log times go wrong")
        var request = [UInt8](repeating: 0, count: 48)
        request[0] = 0x23 // LI 0, version 4, mode 3 (client)
        let cookie: [UInt8] = [0x6d, 0x69, 0x6d, 0x61, 0x6d, 0x6f, 0x72, 0x69] // "mimamori" as transmit time
        request.replaceSubrange(40..<48, with: cookie)
        let outcome = NetProbe.udpExchange(host: server, port: 123, request: request, timeoutMilliseconds: timeout) {
            $0.count >= 48 && $0[0] & 0x07 == 4 && Array($0[24..<32]) == cookie
        }
        switch outcome {
        case .ok(let ms, let answer):
            let stratum = answer[1]
            let seconds = UInt32(answer[40]) << 24 | UInt32(answer[41]) << 16 | UInt32(answer[42]) << 8 | UInt32(answer[43])
            let unix = Int64(seconds) - 2_208_988_800
            let offset = unix - Int64(Date().timeIntervalSince1970)
            r.ok = stratum != 0
            r.detail = stratum == 0 ? "\(server) answered kiss-of-death (stratum 0)"
                : "\(server) stratum \(stratum), clock offset \(offset) s, \(String(format: "%.1f", ms)) ms"
        case .failed(let why):
            r.detail = "\(server): \(why)"
        }
        return r
    }

    static func icmp(gateway: String?, timeout: Int) -> DiagResult {
        var r = DiagResult(service: "ICMP to the gateway", port: "ICMP", target: gateway ?? "-", ok: false, detail: "",
                           advice: "check the cable and the router; allow ICMP echo from the box to the gateway")
        guard let gateway else {
            r.detail = "no gateway known (not in the lease, no default route)"
            return r
        }
        switch NetProbe.ping(gateway, timeoutMilliseconds: timeout) {
        case .ok(let ms, _):
            r.ok = true
            r.detail = "\(gateway) answered echo in \(String(format: "%.1f", ms)) ms"
        case .failed(let why):
            r.detail = "\(gateway): \(why)"
        }
        return r
    }

    static func tcp(_ service: String, host: String, port: UInt16, timeout: Int) -> DiagResult {
        let uses = [80: "definition and firmware downloads", 443: "cloud reports and alerts over TLS", 8443: "cloud management over TLS"]
        var r = DiagResult(service: service, port: "\(port)/TCP", target: "\(host):\(port)", ok: false, detail: "",
                           advice: "allow \(port)/TCP from the box to the Internet in the router's firewall; it carries \(uses[Int(port)] ?? "cloud traffic")")
        switch NetProbe.tcpConnect(host: host, port: port, timeoutMilliseconds: timeout) {
        case .ok(let ms, _):
            r.ok = true
            r.detail = "connected to \(host):\(port) in \(String(format: "%.1f", ms)) ms"
        case .failed(let why):
            r.detail = "\(host):\(port): \(why)"
        }
        return r
    }

    /// The first nameserver of /etc/resolv.conf.
    static func resolvConfServer() -> String? {
        guard let data = FileManager.default.contents(atPath: "/etc/resolv.conf") else { return nil }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2 && parts[0] == "nameserver" { return String(parts[1]) }
        }
        return nil
    }

    /// The IPv4 default route's gateway from /proc/net/route.
    static func defaultGateway() -> String? {
        guard let data = FileManager.default.contents(atPath: "/proc/net/route") else { return nil }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n").dropFirst() {
            let f = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard f.count >= 3, f[1] == "00000000", let g = UInt32(f[2], radix: 16), g != 0 else { continue }
            return "\(g & 0xff).\(g >> 8 & 0xff).\(g >> 16 & 0xff).\(g >> 24)"
        }
        return nil
    }
}
