import UTMCore

/// Google's web properties and shared infrastructure.
enum AppGoogle {
    static let descriptor = AppDescriptor(
        id: .google, name: "Google", kind: .service, category: "Web",
        names: ["google.com", "google.co.jp", "google.co.uk", "google.de", "google.fr", "google.it",
                "google.es", "google.ca", "google.com.au", "google.com.br", "google.co.in", "google.nl",
                "google.pl", "google.ru", "google.com.tw", "google.co.kr", "google.com.hk", "google.ch",
                "google.be", "google.at", "google.se", "google.com.mx", "gstatic.com",
                "googleusercontent.com", "ggpht.com", "1e100.net", "googlesyndication.com",
                "googleadservices.com", "doubleclick.net", "google-analytics.com", "googletagmanager.com",
                "withgoogle.com", "goo.gl", "googleblog.com", "blogger.com",
                "blogspot.com", "android.com", "gvt1.com", "gvt2.com", "gvt3.com", "chrome.com",
                "chromium.org", "googleoptimize.com", "gmodules.com", "recaptcha.net", "googlecode.com",
                "app-measurement.com"])
}
