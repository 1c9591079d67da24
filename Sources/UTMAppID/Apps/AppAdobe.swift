import UTMCore

/// Adobe Creative Cloud and Document Cloud.
enum AppAdobe {
    static let descriptor = AppDescriptor(
        id: .adobe, name: "Adobe", kind: .service, category: "Software",
        names: ["adobe.com", "adobe.io", "adobelogin.com", "typekit.net", "adobecc.com", "adobedtm.com",
                "behance.net", "adobestats.io", "acrobat.com"])
}
