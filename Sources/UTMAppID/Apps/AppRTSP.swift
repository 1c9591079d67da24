import UTMCore

/// Real Time Streaming Protocol: an HTTP-like request line naming rtsp:// or RTSP/1.0.
enum AppRTSP {
    static let descriptor = AppDescriptor(
        id: .rtsp, name: "RTSP", kind: .proto, category: "Media",
        tcpPorts: [554],
        dissector: Dissector([.tcp], probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        if p.direction == .toClient { return v.has("RTSP/1.") ? .match(.rtsp) : (v.isPrefix(of: "RTSP/1.") ? .needMore : .no) }
        guard v.count >= 16 else { return v.isText(v.count) && p.packetIndex == 0 ? .needMore : .no }
        let line = v.prefix(256)
        if line.firstIndex(of: ("rtsp://" as StaticString).byteView) != nil
            || line.firstIndex(of: ("RTSP/1.0" as StaticString).byteView) != nil { return .match(.rtsp) }
        return .no
    }
}
