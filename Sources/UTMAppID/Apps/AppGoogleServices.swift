import UTMCore

/// Google's APIs and account/update services used by apps and Android.
enum AppGoogleServices {
    static let descriptor = AppDescriptor(
        id: .googleServices, name: "GoogleServices", kind: .service, category: "Web",
        names: ["googleapis.com", "clients1.google.com", "clients2.google.com", "clients3.google.com",
                "clients4.google.com", "clients5.google.com", "clients6.google.com",
                "fonts.googleapis.com", "safebrowsing.googleapis.com", "update.googleapis.com",
                "android.googleapis.com", "firebaseio.com", "firebase.com",
                "firebaseapp.com", "crashlytics.com", "googleapis.cn", "mtalk.google.com",
                "alt1-mtalk.google.com", "alt2-mtalk.google.com", "alt3-mtalk.google.com",
                "alt4-mtalk.google.com", "alt5-mtalk.google.com", "alt6-mtalk.google.com",
                "alt7-mtalk.google.com", "alt8-mtalk.google.com", "googletagservices.com"])
}
