import UTMCore

/// Microsoft OneDrive.
enum AppOneDrive {
    static let descriptor = AppDescriptor(
        id: .msOneDrive, name: "MS_OneDrive", kind: .service, category: "Cloud",
        names: ["onedrive.com", "onedrive.live.com", "1drv.com", "1drv.ms", "storage.live.com",
                "skydrive.live.com", "onedrive.akadns.net", "files.1drv.com", "api.onedrive.com"])
}
