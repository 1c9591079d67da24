import UTMCore

/// Facebook and Messenger.
enum AppFacebook {
    static let descriptor = AppDescriptor(
        id: .facebook, name: "Facebook", kind: .service, category: "SocialNetwork",
        names: ["facebook.com", "fbcdn.net", "fb.com", "facebook.net", "fbsbx.com", "fb.me", "messenger.com",
                "fbpigeon.com", "fb.gg", "facebook-hardware.com", "meta.com", "accountscenter.meta.com",
                "m.me", "tfbnw.net"])
}
