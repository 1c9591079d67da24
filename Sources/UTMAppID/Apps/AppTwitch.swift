import UTMCore

/// Twitch.
enum AppTwitch {
    static let descriptor = AppDescriptor(
        id: .twitch, name: "Twitch", kind: .service, category: "Media",
        names: ["twitch.tv", "ttvnw.net", "jtvnw.net", "twitchcdn.net", "twitchsvc.net", "ext-twitch.tv",
                "twitch.a2z.com"])
}
