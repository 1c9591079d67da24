import UTMCore

/// Google Maps tiles and APIs.
enum AppGoogleMaps {
    static let descriptor = AppDescriptor(
        id: .googleMaps, name: "GoogleMaps", kind: .service, category: "Web",
        names: ["maps.google.com", "maps.googleapis.com", "maps.gstatic.com", "mt0.google.com",
                "mt1.google.com", "mt2.google.com", "mt3.google.com", "khms0.google.com", "khms1.google.com",
                "maps.app.goo.gl"])
}
