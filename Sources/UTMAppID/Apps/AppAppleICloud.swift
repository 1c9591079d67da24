import UTMCore

/// iCloud: storage, mail, backups.
enum AppAppleICloud {
    static let descriptor = AppDescriptor(
        id: .appleiCloud, name: "AppleiCloud", kind: .service, category: "Cloud",
        names: ["icloud.com", "icloud-content.com", "me.com", "mac.com", "icloud.com.cn",
                "apple-cloudkit.com", "setup.icloud.com", "p01-content.icloud.com", "gateway.icloud.com"])
}
