import UTMCore
import UTMAppLayer

/// Suricata's names for TLS versions.
func tlsVersionName(_ v: UInt16) -> StaticString {
    switch v {
    case 0x0200: return "SSLv2"
    case 0x0300: return "SSLv3"
    case 0x0301: return "TLSv1"
    case 0x0302: return "TLS 1.1"
    case 0x0303: return "TLS 1.2"
    case 0x0304: return "TLS 1.3"
    default: return "UNDETERMINED"
    }
}

extension EVEWriter {
    /// Suricata's `tls` event: SNI, version, JA3/JA3S/JA4 and ALPNs, client → server.
    public mutating func writeTLS(_ parser: TLSParser, time: Timestamp, _ e: EVEEndpoints,
                                  webFilter: EVEWebFilter? = nil) {
        guard isEnabled(.tls) else { return }
        begin(.tls, time: time, e)
        json.key("tls"); json.beginObject()
        writeHelloFields(parser, versionFromServer: true)
        json.endObject()
        writeWebFilter(webFilter)
        end()
    }

    /// The fields a TLS ClientHello gives; shared by the tls and quic events.
    mutating func writeHelloFields(_ parser: TLSParser, versionFromServer: Bool) {
        let ch = parser.clientHello
        if let ch {
            parser.withField(ch.sni) { field("sni", $0) }
        }
        if versionFromServer {
            var version: UInt16 = 0
            if let sh = parser.serverHello { version = sh.version }
            else if let ch { version = ch.legacyVersion }
            json.key("version"); json.string(tlsVersionName(version))
        }
        if let ch {
            json.key("ja3"); json.beginObject()
            parser.withField(ch.ja3Hash) { field("hash", $0) }
            parser.withField(ch.ja3) { v in json.key("string"); json.string(v) }
            json.endObject()
            parser.withField(ch.ja4) { field("ja4", $0) }
            writeList("client_alpns", parser, ch.alpns)
        }
        if let sh = parser.serverHello, versionFromServer {
            json.key("ja3s"); json.beginObject()
            parser.withField(sh.ja3sHash) { field("hash", $0) }
            parser.withField(sh.ja3s) { v in json.key("string"); json.string(v) }
            json.endObject()
            writeList("server_alpns", parser, sh.alpn)
        }
    }

    /// Writes a comma-joined field as a JSON array of strings.
    mutating func writeList(_ key: StaticString, _ parser: TLSParser, _ f: Field) {
        parser.withField(f) { v in
            guard !v.isEmpty else { return }
            json.key(key); json.beginArray()
            var start = 0
            while start <= v.count {
                let end = v.firstIndex(of: UInt8(ascii: ","), from: start) ?? v.count
                if let item = v.slice(start, end - start) { json.string(item) }
                start = end + 1
            }
            json.endArray()
        }
    }
}
