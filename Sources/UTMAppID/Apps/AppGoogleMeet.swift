import UTMCore

/// Google Meet (and Hangouts).
enum AppGoogleMeet {
    static let descriptor = AppDescriptor(
        id: .googleMeet, name: "GoogleMeet", kind: .service, category: "VideoConference",
        names: ["meet.google.com", "meetings.googleapis.com", "meet.googleapis.com", "hangouts.google.com",
                "hangouts.googleapis.com"])
}
