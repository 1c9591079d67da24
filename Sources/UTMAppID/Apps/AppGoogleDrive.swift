import UTMCore

/// Google Drive.
enum AppGoogleDrive {
    static let descriptor = AppDescriptor(
        id: .googleDrive, name: "GoogleDrive", kind: .service, category: "Cloud",
        names: ["drive.google.com", "drive.googleapis.com", "drive.usercontent.google.com", "googledrive.com"])
}
