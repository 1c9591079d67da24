import UTMCore

/// Reddit.
enum AppReddit {
    static let descriptor = AppDescriptor(
        id: .reddit, name: "Reddit", kind: .service, category: "SocialNetwork",
        names: ["reddit.com", "redd.it", "redditmedia.com", "redditstatic.com", "reddituploads.com",
                "redditspace.com"])
}
