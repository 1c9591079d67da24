import UTMCore
import UTMAppLayer

/// Cheap probes that choose the parser for a flow from its first payload bytes, whatever the
/// port (Suricata's probing parsers, nDPI's pre-filter). A probe answers `.unknown` when it
/// cannot tell yet and `.failed` when nothing we parse can match.
enum AppLayerDetect {
    /// HTTP/1.x request methods we recognise at the start of a client stream.
    static let methods: [StaticString] = [
        "GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "CONNECT ", "PATCH ", "TRACE ",
        "PROPFIND ", "PROPPATCH ", "MKCOL ", "COPY ", "MOVE ", "LOCK ", "UNLOCK ", "SEARCH ",
        "REPORT ", "SUBSCRIBE ", "NOTIFY ", "MKACTIVITY ", "CHECKOUT ", "MERGE ",
    ]

    static func probeTCP(_ data: ByteView, direction: Direction, serverPort: UInt16,
                         clientPort: UInt16) -> AppProto {
        let dnsPort = serverPort == 53 || clientPort == 53
        guard let b0 = data.u8(0) else { return dnsPort ? .dns : .unknown }
        // SIP before HTTP: `OPTIONS sip:… SIP/2.0` is not an HTTP request.
        if SIP.probe(data) { return .sip }
        if direction == .toServer {
            // HTTP is recognised by its content even on DNS's port (Suricata does the same).
            // Indices, not `for m in methods`: the generic iterator allocates in debug builds.
            for i in methods.indices where data.starts(with: methods[i].byteView) { return .http }
            if isSMTPGreeting(data) { return .smtp }
        }
        if dnsPort { return .dns }
        if isFTP(data, direction: direction, serverPort: serverPort) { return .ftp }
        // SMTP's server greets first: a 220 on 25/587 while the client is silent (Suricata
        // probes the server side too); EHLO/HELO above decides elsewhere.
        if direction == .toClient && (serverPort == 25 || serverPort == 587) && SMTPParser.probeGreeting(data) { return .smtp }
        if looksLikeTLS(data) { return .tls }
        if direction == .toServer {
            // HTTP/2 with prior knowledge: the client's connection preface, whatever the port
            // (a shorter prefix of it waits for more bytes; anything else goes on probing).
            switch HTTP2Parser.probePreface(data) {
            case true?: return .http2
            case nil: return .unknown
            case false?: break
            }
        }
        if PgSQLParser.probe(data, toServer: direction == .toServer, serverPort: serverPort) { return .pgsql }
        if SMBParser.probe(data) { return .smb }
        // DCE/RPC by a BIND/ALTER_CONTEXT header, any port (Suricata's probing parser).
        if DCERPCParser.probe(data) { return .dcerpc }
        // SSH by its banner, either side first (RFC 4253 §4.2); a shorter prefix waits.
        switch SSHParser.probe(data) {
        case true?: return .ssh
        case nil: return .unknown
        case false?: break
        }
        if direction == .toServer {
            // A method is at most 11 bytes with its space: wait for that many before giving up.
            if data.count < 12, isUpperASCII(b0) { return .unknown }
        } else {
            if data.starts(with: ("HTTP/" as StaticString).byteView) { return .http }
            if data.count < 5, b0 == UInt8(ascii: "H") { return .unknown }
        }
        return .failed
    }

    /// A TLS record header (handshake or alert, SSL 3.0–TLS 1.3) or an SSLv2-framed hello.
    static func looksLikeTLS(_ data: ByteView) -> Bool {
        guard let b0 = data.u8(0), let b1 = data.u8(1), let b2 = data.u8(2) else { return false }
        if (b0 == 0x16 || b0 == 0x15) && b1 == 0x03 && b2 <= 0x04 { return true }
        // SSLv2 record with a CLIENT-HELLO (msg type 1) offering SSLv3 or TLS.
        if b0 & 0x80 != 0, b2 == 0x01, let b3 = data.u8(3), b3 == 0x03 || b3 == 0x02 { return true }
        return false
    }

    static func isUpperASCII(_ b: UInt8) -> Bool { b >= 0x41 && b <= 0x5a }

    /// A client opening an SMTP session: `EHLO ` or `HELO ` in any case (Suricata's SMTP
    /// patterns), whatever the port.
    static func isSMTPGreeting(_ data: ByteView) -> Bool {
        guard let b0 = data.u8(0), let b1 = data.u8(1), let b2 = data.u8(2), let b3 = data.u8(3),
              let b4 = data.u8(4), b4 == 0x20 else { return false }
        let first = b0 | 0x20, second = b1 | 0x20
        let eh = first == UInt8(ascii: "e") && second == UInt8(ascii: "h")
        let he = first == UInt8(ascii: "h") && second == UInt8(ascii: "e")
        return (eh || he) && b2 | 0x20 == UInt8(ascii: "l") && b3 | 0x20 == UInt8(ascii: "o")
    }

    /// FTP's control channel: the server's `220` greeting on port 21, or elsewhere when the
    /// greeting's first line names FTP (SMTP greets with 220 too); a client's `USER ` on 21.
    static func isFTP(_ data: ByteView, direction: Direction, serverPort: UInt16) -> Bool {
        if direction == .toServer {
            guard serverPort == 21, let a = data.u8(0), let b = data.u8(1), let c = data.u8(2), let d = data.u8(3),
                  data.u8(4) == 0x20 else { return false }
            return a | 0x20 == 0x75 && b | 0x20 == 0x73 && c | 0x20 == 0x65 && d | 0x20 == 0x72
        }
        guard FTPParser.probeGreeting(data) else { return false }
        if serverPort == 21 { return true }
        let firstLine = data.prefix(data.firstIndex(of: 0x0a) ?? Swift.min(data.count, 256))
        var k = 4
        while k &+ 3 <= firstLine.count {
            if firstLine[checked: k] | 0x20 == 0x66, firstLine[checked: k &+ 1] | 0x20 == 0x74,
               firstLine[checked: k &+ 2] | 0x20 == 0x70 { return true }
            k &+= 1
        }
        return false
    }

    /// Protocols whose client sends the first bytes (Suricata registers HTTP and TLS with a
    /// to-server first-data direction): server bytes before the client's are an anomaly there.
    /// Not HTTP/2: servers may send their SETTINGS before the client's preface arrives.
    static func clientSpeaksFirst(_ app: AppProto) -> Bool {
        switch app {
        case .http, .tls: return true
        default: return false
        }
    }

    /// DNS away from its ports (DNSCrypt certificate queries and resolvers on UDP 443, DNS
    /// tunnels): the datagram was parsed into `m` and must be exactly one well-formed standard
    /// query or response with a question and nothing after its last record, so arbitrary UDP
    /// payloads almost never pass.
    static func looksLikeDNS(_ m: DNSMessage, length: Int) -> Bool {
        guard !m.malformed, !m.incomplete, !m.questionsTruncated, m.end == length,
              m.flags.opcode == 0, m.questionTotal >= 1, m.questionTotal <= 4 else { return false }
        if m.flags.qr { return m.questionTotal == 1 }
        return m.answerTotal == 0 && m.authorityTotal == 0 && m.additionalTotal <= 1
    }

    /// DNS on its well-known ports: unicast DNS, multicast DNS and LLMNR share the format.
    static func isDNSPort(_ p: UInt16) -> Bool { p == 53 || p == 5353 || p == 5355 }
}
