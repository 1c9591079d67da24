import UTMCore

/// Snapchat.
enum AppSnapchat {
    static let descriptor = AppDescriptor(
        id: .snapchat, name: "Snapchat", kind: .service, category: "SocialNetwork",
        names: ["snapchat.com", "snap.com", "sc-cdn.net", "snapkit.com", "snap-dev.net", "sc-static.net",
                "snapads.com", "feelinsonice-hrd.appspot.com", "snapchat.map.fastly.net"])
}
