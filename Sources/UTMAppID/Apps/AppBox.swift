import UTMCore

/// Box cloud storage.
enum AppBox {
    static let descriptor = AppDescriptor(
        id: .box, name: "Box", kind: .service, category: "Cloud",
        names: ["box.com", "box.net", "boxcdn.net", "boxcloud.com", "app.box.com"])
}
