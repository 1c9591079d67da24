import UTMCore

/// TikTok.
enum AppTikTok {
    static let descriptor = AppDescriptor(
        id: .tiktok, name: "TikTok", kind: .service, category: "SocialNetwork",
        names: ["tiktok.com", "tiktokcdn.com", "tiktokv.com", "tiktokcdn-us.com", "tiktokv.us",
                "byteoversea.com", "ibytedtos.com", "ibyteimg.com", "muscdn.com", "musical.ly",
                "tik-tokapi.com", "ttwstatic.com", "tiktokcdn-eu.com", "bytedance.map.fastly.net"])
}
