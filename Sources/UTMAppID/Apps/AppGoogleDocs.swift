import UTMCore

/// Google Docs, Sheets, Slides and Forms.
enum AppGoogleDocs {
    static let descriptor = AppDescriptor(
        id: .googleDocs, name: "GoogleDocs", kind: .service, category: "Cloud",
        names: ["docs.google.com", "sheets.google.com", "slides.google.com", "docs.googleusercontent.com",
                "forms.google.com"])
}
