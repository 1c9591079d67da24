import UTMCore

/// Windows Update and its delivery network.
enum AppWindowsUpdate {
    static let descriptor = AppDescriptor(
        id: .windowsUpdate, name: "WindowsUpdate", kind: .service, category: "Software",
        names: ["windowsupdate.com", "update.microsoft.com", "download.windowsupdate.com",
                "delivery.mp.microsoft.com", "dl.delivery.mp.microsoft.com",
                "tlu.dl.delivery.mp.microsoft.com", "windowsupdate.microsoft.com", "wustat.windows.com",
                "sls.update.microsoft.com"])
}
