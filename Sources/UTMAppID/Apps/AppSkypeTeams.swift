import UTMCore

/// Skype and the Skype-derived Teams calling infrastructure (nDPI's Skype_Teams).
enum AppSkypeTeams {
    static let descriptor = AppDescriptor(
        id: .skypeTeams, name: "Skype_Teams", kind: .service, category: "VideoConference",
        names: ["skype.com", "skype.net", "skypeassets.com", "skypeassets.net", "lync.com",
                "skypeforbusiness.com", "trouter.teams.microsoft.com", "trouter.skype.com", "sfbassets.com",
                "infra.lync.com", "skype.akadns.net"])
}
