import UTMCore

/// Microsoft's sites, Bing, Windows telemetry and connectivity checks.
enum AppMicrosoft {
    static let descriptor = AppDescriptor(
        id: .microsoft, name: "Microsoft", kind: .service, category: "Web",
        names: ["microsoft.com", "msn.com", "bing.com", "bing.net", "msedge.net", "msftconnecttest.com",
                "msftncsi.com", "windows.com", "windows.net", "live.net", "microsoftstore.com",
                "xboxlive.com", "msauth.net", "msftauth.net", "aka.ms", "s-microsoft.com",
                "microsoftonline-p.com", "mp.microsoft.com", "msecnd.net", "visualstudio.com",
                "data.microsoft.com", "events.data.microsoft.com", "smartscreen.microsoft.com",
                "edgesuite.net"])
}
