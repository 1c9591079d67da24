import UTMCore

/// Yahoo and Yahoo! JAPAN.
enum AppYahoo {
    static let descriptor = AppDescriptor(
        id: .yahoo, name: "Yahoo", kind: .service, category: "Web",
        names: ["yahoo.com", "yahoo.co.jp", "yimg.com", "yahooapis.com", "yahoo.net", "yahoodns.net",
                "yahoo.jp", "yahooapis.jp", "yimg.jp", "ymail.com", "flickr.com", "staticflickr.com"])
}
