import UTMCore

/// Twitter / X.
enum AppTwitter {
    static let descriptor = AppDescriptor(
        id: .twitter, name: "Twitter", kind: .service, category: "SocialNetwork",
        names: ["twitter.com", "twimg.com", "t.co", "x.com", "twttr.com", "twitter.co", "tweetdeck.com",
                "pscp.tv", "periscope.tv", "twitpic.com"])
}
