import UTMCore

/// Spotify: its domains and the SpotUdp0 LAN discovery broadcast.
enum AppSpotify {
    static let descriptor = AppDescriptor(
        id: .spotify, name: "Spotify", kind: .service, category: "Media",
        tcpPorts: [4070],
        udpPorts: [57621],
        names: ["spotify.com", "scdn.co", "spotifycdn.com", "spotifycdn.net", "spotify.net", "pscdn.co",
                "spotifycharts.com", "spoti.fi", "audio-ak-spotify-com.akamaized.net",
                "heads-ak-spotify-com.akamaized.net"],
        dissector: Dissector([.udp], portsOnly: true, probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        p.payload.has("SpotUdp0") ? .match(.spotify) : .no
    }
}
