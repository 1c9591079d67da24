import UTMCore

/// HTTP/1.x: a request method at the start of the client stream or an HTTP/1.x status line.
enum AppHTTP {
    static let descriptor = AppDescriptor(
        id: .http, name: "HTTP", kind: .carrier, category: "Web",
        tcpPorts: [80, 8080],
        dissector: Dissector([.tcp], probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        if p.direction == .toClient {
            if v.has("HTTP/1.") { return .match(.http) }
            return v.isPrefix(of: "HTTP/1.") ? .needMore : .no
        }
        if v.hasAny(HTTPMethods.all) {
            // RTSP and SIP share OPTIONS with HTTP: decide on the whole request line.
            guard v.has("OPTIONS ") else { return .match(.http) }
            let line = v.prefix(256)
            if line.firstIndex(of: ("rtsp://" as StaticString).byteView) != nil
                || line.firstIndex(of: ("RTSP/" as StaticString).byteView) != nil
                || line.firstIndex(of: ("sip:" as StaticString).byteView) != nil { return .no }
            if line.firstIndex(of: 0x0a) == nil && v.count < 256 && p.packetIndex == 0 { return .needMore }
            return .match(.http)
        }
        if v.count < 12, let b = v.u8(0), b >= 0x41, b <= 0x5a { return .needMore }
        return .no
    }
}
