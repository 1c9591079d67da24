import UTMCore

/// Microsoft Teams clients and services.
enum AppTeams {
    static let descriptor = AppDescriptor(
        id: .teams, name: "Teams", kind: .service, category: "VideoConference",
        names: ["teams.microsoft.com", "teams.live.com", "teams.cdn.office.net",
                "teams.events.data.microsoft.com", "teams.office.com", "teams.cloud.microsoft",
                "statics.teams.cdn.office.net", "presence.teams.microsoft.com", "api.teams.skype.com",
                "teams.skype.com", "teams.microsoft.us"])
}
