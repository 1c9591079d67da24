import UTMCore

/// Slack.
enum AppSlack {
    static let descriptor = AppDescriptor(
        id: .slack, name: "Slack", kind: .service, category: "Chat",
        names: ["slack.com", "slack-edge.com", "slack-msgs.com", "slack-files.com", "slack-imgs.com",
                "slack-redir.net", "slackb.com", "slack-core.com"])
}
