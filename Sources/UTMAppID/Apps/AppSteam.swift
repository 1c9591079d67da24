import UTMCore

/// Steam.
enum AppSteam {
    static let descriptor = AppDescriptor(
        id: .steam, name: "Steam", kind: .service, category: "Game",
        tcpPorts: [27015, 27030],
        names: ["steampowered.com", "steamcommunity.com", "steamstatic.com", "steamcontent.com",
                "steamusercontent.com", "steamgames.com", "steam-chat.com", "steamserver.net",
                "valvesoftware.com"])
}
