import UTMCore

/// Outlook and Hotmail mail.
enum AppOutlook {
    static let descriptor = AppDescriptor(
        id: .outlook, name: "Outlook", kind: .service, category: "Mail",
        names: ["outlook.com", "outlook.office.com", "outlook.office365.com", "outlook.live.com",
                "hotmail.com", "live.com", "olk.live.com", "attachments.office.net"])
}
