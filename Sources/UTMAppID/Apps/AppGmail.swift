import UTMCore

/// Gmail's web and app endpoints.
enum AppGmail {
    static let descriptor = AppDescriptor(
        id: .gmail, name: "GMail", kind: .service, category: "Mail",
        names: ["gmail.com", "mail.google.com", "inbox.google.com", "googlemail.com", "mail-ads.google.com"])
}
