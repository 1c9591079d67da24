import UTMCore

/// Google Play.
enum AppPlayStore {
    static let descriptor = AppDescriptor(
        id: .playStore, name: "PlayStore", kind: .service, category: "Web",
        names: ["play.google.com", "android.clients.google.com", "play-fe.googleapis.com",
                "play-lh.googleusercontent.com", "play.googleapis.com"])
}
