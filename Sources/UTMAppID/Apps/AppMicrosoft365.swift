import UTMCore

/// Microsoft 365: Office on the web, SharePoint, sign-in.
enum AppMicrosoft365 {
    static let descriptor = AppDescriptor(
        id: .microsoft365, name: "Microsoft365", kind: .service, category: "Cloud",
        names: ["office.com", "office365.com", "office.net", "microsoftonline.com", "sharepoint.com",
                "onenote.com", "officeapps.live.com", "office365.us", "cdn.office.net",
                "officecdn.microsoft.com", "protection.outlook.com", "microsoft365.com",
                "m365.cloud.microsoft", "cloud.microsoft", "sharepointonline.com", "svc.ms",
                "officeclient.microsoft.com", "config.office.com", "loki.delve.office.com"])
}
