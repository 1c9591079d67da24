import UTMCore

/// iTunes and the App Store's media.
enum AppAppleITunes {
    static let descriptor = AppDescriptor(
        id: .appleiTunes, name: "AppleiTunes", kind: .service, category: "Media",
        names: ["itunes.apple.com", "mzstatic.com", "phobos.apple.com", "itunes.com", "aspire.apple.com",
                "buy.itunes.apple.com", "music.apple.com", "amp-api.apps.apple.com", "apps.apple.com"])
}
