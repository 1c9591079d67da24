import UTMCore

/// Apple's sites, software updates and shared CDN.
enum AppApple {
    static let descriptor = AppDescriptor(
        id: .apple, name: "Apple", kind: .service, category: "Web",
        names: ["apple.com", "apple.news", "cdn-apple.com", "apple-dns.net", "aaplimg.com",
                "applemusic.com", "apple.co", "appleid.apple.com",
                "gs.apple.com", "mesu.apple.com", "swscan.apple.com", "apple-livephotoskit.com",
                "icloud-content.com.cn"])
}
