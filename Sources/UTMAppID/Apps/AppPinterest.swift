import UTMCore

/// Pinterest.
enum AppPinterest {
    static let descriptor = AppDescriptor(
        id: .pinterest, name: "Pinterest", kind: .service, category: "SocialNetwork",
        names: ["pinterest.com", "pinimg.com", "pinterest.jp", "pin.it", "pinterest.co.uk"])
}
