import UTMCore

/// Discord: its domains and the voice IP-discovery datagram.
enum AppDiscord {
    static let descriptor = AppDescriptor(
        id: .discord, name: "Discord", kind: .service, category: "Chat",
        names: ["discord.com", "discord.gg", "discordapp.com", "discordapp.net", "discord.media",
                "discordcdn.com", "discord.co", "discordstatus.com", "dis.gd"],
        dissector: Dissector([.udp], probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        // Voice IP discovery: 74 bytes, type 1 (request) or 2 (response), length 70.
        guard v.count == 74, let t = v.u16(0), t == 1 || t == 2, v.u16(2) == 70 else { return .no }
        return .match(.discord)
    }
}
