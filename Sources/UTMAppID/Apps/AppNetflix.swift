import UTMCore

/// Netflix and its Open Connect CDN.
enum AppNetflix {
    static let descriptor = AppDescriptor(
        id: .netflix, name: "NetFlix", kind: .service, category: "Media",
        names: ["netflix.com", "netflix.net", "nflxvideo.net", "nflximg.net", "nflximg.com", "nflxext.com",
                "nflxso.net", "netflixdnstest0.com", "netflixdnstest1.com", "fast.com"])
}
