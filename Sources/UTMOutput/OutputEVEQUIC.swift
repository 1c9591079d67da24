import UTMCore
import UTMAppLayer

extension EVEWriter {
    /// Suricata's `quic` event: version, SNI and the ClientHello's fingerprints.
    public mutating func writeQUIC(version: UInt32, tls: TLSParser, time: Timestamp, _ e: EVEEndpoints,
                                   webFilter: EVEWebFilter? = nil) {
        guard isEnabled(.quic) else { return }
        begin(.quic, time: time, e)
        json.key("quic"); json.beginObject()
        json.key("version")
        writeQUICVersion(version)
        writeHelloFields(tls, versionFromServer: false)
        json.endObject()
        writeWebFilter(webFilter)
        end()
    }

    /// "1" for v1, the four letters for Google's versions (Q050, T051), hex otherwise.
    mutating func writeQUICVersion(_ v: UInt32) {
        if v == 1 {
            json.string("1")
        } else if v >> 24 == 0x51 || v >> 24 == 0x54 { // 'Q' or 'T'
            json.stringFourCC(v)
        } else {
            json.stringHex(UInt64(v), width: 8)
        }
    }
}
