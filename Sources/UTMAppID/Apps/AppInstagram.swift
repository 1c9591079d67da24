import UTMCore

/// Instagram.
enum AppInstagram {
    static let descriptor = AppDescriptor(
        id: .instagram, name: "Instagram", kind: .service, category: "SocialNetwork",
        names: ["instagram.com", "cdninstagram.com", "ig.me", "instagr.am", "i.instagram.com", "threads.net"])
}
