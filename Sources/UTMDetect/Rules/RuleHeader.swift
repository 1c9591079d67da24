/// Parses the rule header: `action proto src sport dir dst dport`, with address and port lists,
/// nesting, negation and variables. Resolved sets are cached by their text: ET Open repeats a
/// handful of headers thousands of times.
public struct HeaderParser: Sendable {
    public var variables: RuleVariables
    private var addressCache: [String: AddressSet] = [:]
    private var portCache: [String: PortSet] = [:]

    public init(variables: RuleVariables) { self.variables = variables }

    public mutating func action(_ word: Substring) throws(RuleError) -> RuleAction {
        switch word {
        case "alert": return .alert
        case "drop": return .drop
        case "reject": return .reject
        case "rejectsrc": return .rejectSource
        case "rejectdst": return .rejectDestination
        case "rejectboth": return .rejectBoth
        case "pass": return .pass
        default: throw .malformed("unknown action '\(word)'")
        }
    }

    public func proto(_ word: Substring) throws(RuleError) -> RuleProtocol {
        let name = String(word).lowercased()
        switch name {
        case "ip", "ipv4", "ipv6", "pkthdr": return RuleProtocol(name: name, ipProto: nil)
        case "arp": return RuleProtocol(name: name, ipProto: nil)   // `arp` is set from the name
        case "tcp": return RuleProtocol(name: name, ipProto: 6)
        case "tcp-pkt": return RuleProtocol(name: name, ipProto: 6, packetOnly: true)
        case "tcp-stream": return RuleProtocol(name: name, ipProto: 6, streamOnly: true)
        case "udp": return RuleProtocol(name: name, ipProto: 17)
        case "icmp": return RuleProtocol(name: name, ipProto: 1, alsoUDP: false)
        case "icmpv6": return RuleProtocol(name: name, ipProto: 58)
        case "sctp": return RuleProtocol(name: name, ipProto: 132)
        case "http", "http1": return RuleProtocol(name: name, ipProto: 6, app: .http)
        case "tls", "ssl": return RuleProtocol(name: name, ipProto: 6, app: .tls)
        case "dns": return RuleProtocol(name: name, ipProto: 6, alsoUDP: true, app: .dns)
        case "quic": return RuleProtocol(name: name, ipProto: 17, app: .quic)
        case "sip": return RuleProtocol(name: name, ipProto: 6, alsoUDP: true, app: .sip)
        case "pgsql": return RuleProtocol(name: name, ipProto: 6, app: .pgsql)
        case "smb": return RuleProtocol(name: name, ipProto: 6, app: .smb)
        case "dcerpc": return RuleProtocol(name: name, ipProto: 6, app: .dcerpc)
        case "ssh": return RuleProtocol(name: name, ipProto: 6, app: .ssh)
        // Protocols the engine detects (UTMEngine's AppLayerDetect and the FTP data-channel
        // expectations): like Suricata, the rule matches only flows detected as that protocol,
        // on any port, and no packet of a flow before its detection completed.
        case "ftp": return RuleProtocol(name: name, ipProto: 6, app: .ftp)
        case "ftp-data": return RuleProtocol(name: name, ipProto: 6, app: .ftpData)
        case "smtp": return RuleProtocol(name: name, ipProto: 6, app: .smtp)
        case "http2": return RuleProtocol(name: name, ipProto: 6, app: .http2)
        case "dhcp": return RuleProtocol(name: name, ipProto: 17, app: .dhcp)
        case "imap", "pop3", "nfs", "krb5", "rdp",
             "snmp", "tftp", "ntp", "enip", "dnp3", "modbus", "ikev2", "ike", "mqtt", "rfb", "telnet":
            // Not detected by the engine: keep the rule as a plain TCP (or UDP) rule on its ports.
            let udp = ["tftp", "ntp", "snmp", "ikev2", "ike", "krb5"].contains(name)
            var p = RuleProtocol(name: name, ipProto: udp ? 17 : 6, alsoUDP: ["krb5", "dns", "nfs"].contains(name))
            p.unparsedApp = name
            return p
        default:
            throw .unsupported("protocol \(name)", "unknown protocol in the rule header")
        }
    }

    // MARK: Addresses

    public mutating func addresses(_ text: Substring) throws(RuleError) -> AddressSet {
        let key = String(text)
        if let c = addressCache[key] { return c }
        let v = try parseAddress(text, depth: 0)
        if v.isEmpty { throw .invalid("address '\(text)' matches nothing") }
        addressCache[key] = v
        return v
    }

    private func parseAddress(_ raw: Substring, depth: Int) throws(RuleError) -> AddressSet {
        guard depth < 32 else { throw .malformed("address variables nest too deep (a loop?)") }
        let text = raw.trimmingSpaces
        guard !text.isEmpty else { throw .malformed("empty address") }
        // Suricata also accepts a bare comma list without brackets (`5800,!445`).
        if text.first != "[", hasTopLevelComma(text) {
            return try parseAddress(Substring("[" + text + "]"), depth: depth + 1)
        }
        if text.first == "!" {
            return AddressSet.any.subtracting(try parseAddress(text.dropFirst(), depth: depth + 1))
        }
        if text.first == "[" {
            guard text.last == "]" else { throw .malformed("unbalanced '[' in address '\(text)'") }
            let items = try splitTopLevel(text.dropFirst().dropLast())
            var pos = AddressSet.empty, neg = AddressSet.empty, sawPositive = false
            for item in items {
                let t = item.trimmingSpaces
                if t.first == "!" {
                    neg = neg.union(try parseAddress(t.dropFirst(), depth: depth + 1))
                } else {
                    sawPositive = true
                    pos = pos.union(try parseAddress(t, depth: depth + 1))
                }
            }
            return (sawPositive ? pos : .any).subtracting(neg)
        }
        if text.lowercased() == "any" { return .any }
        if text.first == "$" {
            let name = String(text.dropFirst())
            guard let value = variables.addressGroups[name] else {
                throw .invalid("unknown address variable $\(name)")
            }
            return try parseAddress(Substring(value), depth: depth + 1)
        }
        guard let v = AddressSet.parseCIDR(text) else { throw .malformed("bad address '\(text)'") }
        return v
    }

    // MARK: Ports

    public mutating func ports(_ text: Substring) throws(RuleError) -> PortSet {
        let key = String(text)
        if let c = portCache[key] { return c }
        let v = try parsePort(text, depth: 0)
        if v.ranges.isEmpty { throw .invalid("port '\(text)' matches nothing") }
        portCache[key] = v
        return v
    }

    private func parsePort(_ raw: Substring, depth: Int) throws(RuleError) -> PortSet {
        guard depth < 32 else { throw .malformed("port variables nest too deep (a loop?)") }
        let text = raw.trimmingSpaces
        guard !text.isEmpty else { throw .malformed("empty port") }
        // Suricata also accepts a bare comma list without brackets (`5800,!445`).
        if text.first != "[", hasTopLevelComma(text) {
            return try parsePort(Substring("[" + text + "]"), depth: depth + 1)
        }
        if text.first == "!" {
            return PortSet.any.subtracting(try parsePort(text.dropFirst(), depth: depth + 1))
        }
        if text.first == "[" {
            guard text.last == "]" else { throw .malformed("unbalanced '[' in port '\(text)'") }
            var pos = PortSet(), neg = PortSet(), sawPositive = false
            for item in try splitTopLevel(text.dropFirst().dropLast()) {
                let t = item.trimmingSpaces
                if t.first == "!" {
                    neg = neg.union(try parsePort(t.dropFirst(), depth: depth + 1))
                } else {
                    sawPositive = true
                    pos = pos.union(try parsePort(t, depth: depth + 1))
                }
            }
            return (sawPositive ? pos : .any).subtracting(neg)
        }
        if text.lowercased() == "any" { return .any }
        if text.first == "$" {
            let name = String(text.dropFirst())
            guard let value = variables.portGroups[name] else { throw .invalid("unknown port variable $\(name)") }
            return try parsePort(Substring(value), depth: depth + 1)
        }
        if let colon = text.firstIndex(of: ":") {
            let a = text[..<colon].trimmingSpaces, b = text[text.index(after: colon)...].trimmingSpaces
            let lo = a.isEmpty ? 0 : UInt16(a), hi = b.isEmpty ? UInt16.max : UInt16(b)
            guard let lo, let hi, lo <= hi else { throw .malformed("bad port range '\(text)'") }
            return PortSet([lo ... hi])
        }
        guard let p = UInt16(text) else { throw .malformed("bad port '\(text)'") }
        return PortSet([p ... p])
    }

    private func hasTopLevelComma(_ s: Substring) -> Bool {
        var depth = 0
        for c in s {
            if c == "[" { depth += 1 } else if c == "]" { depth -= 1 } else if c == ",", depth == 0 { return true }
        }
        return false
    }

    /// Splits `a,[b,c],d` at the commas outside brackets.
    private func splitTopLevel(_ s: Substring) throws(RuleError) -> [Substring] {
        var out: [Substring] = []
        var depth = 0
        var start = s.startIndex
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if c == "[" { depth += 1 } else if c == "]" {
                depth -= 1
                if depth < 0 { throw .malformed("unbalanced ']' in '\(s)'") }
            } else if c == ",", depth == 0 {
                out.append(s[start ..< i])
                start = s.index(after: i)
            }
            i = s.index(after: i)
        }
        guard depth == 0 else { throw .malformed("unbalanced '[' in '\(s)'") }
        out.append(s[start...])
        if out.contains(where: { $0.trimmingSpaces.isEmpty }) { throw .malformed("empty item in list '[\(s)]'") }
        return out
    }
}

extension Substring {
    /// Without leading and trailing blanks. Works on UTF-8 bytes: rule text is ASCII where it
    /// matters, and Character iteration made this the loader's hot spot.
    var trimmingSpaces: Substring {
        let u = self.utf8
        var lo = u.startIndex, hi = u.endIndex
        @inline(__always) func blank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A }
        while lo < hi, blank(u[lo]) { lo = u.index(after: lo) }
        while lo < hi {
            let before = u.index(before: hi)
            if !blank(u[before]) { break }
            hi = before
        }
        if lo == u.startIndex && hi == u.endIndex { return self }
        return Substring(u[lo ..< hi])
    }

    /// Pieces between each ASCII `separator` byte (empty pieces kept), trimmed.
    func splitASCII(_ separator: UInt8) -> [Substring] {
        var out: [Substring] = []
        let u = self.utf8
        var start = u.startIndex
        var i = u.startIndex
        while i < u.endIndex {
            if u[i] == separator {
                out.append(Substring(u[start ..< i]).trimmingSpaces)
                start = u.index(after: i)
            }
            i = u.index(after: i)
        }
        out.append(Substring(u[start...]).trimmingSpaces)
        return out
    }
}
