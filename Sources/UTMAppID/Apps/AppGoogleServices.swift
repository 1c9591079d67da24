import UTMCore

/// Google's APIs and account/update services used by apps and Android.
enum AppGoogleServices {
    static let descriptor = AppDescriptor(
        id: .googleServices, name: "GoogleServices", kind: .service, category: "Web",
        names: ["googleapis.com", "clients1.google.com", "clients2.google.com", "clients3.google.com",
                "clients4.google.com", "clients5.google.com", "clients6.google.com", "accounts.google.com",
                "ssl.gstatic.com", "www.gstatic.com", "fonts.gstatic.com", "fonts.googleapis.com",
                "safebrowsing.googleapis.com", "update.googleapis.com", "play.googleapis.com",
                "android.googleapis.com", "firebaseio.com", "firebase.com", "firebaseapp.com",
                "crashlytics.com", "googleapis.cn", "mtalk.google.com", "connectivitycheck.gstatic.com"])
}
