import UTMCore

/// Apple Push Notification service.
enum AppApplePush {
    static let descriptor = AppDescriptor(
        id: .applePush, name: "ApplePush", kind: .service, category: "Web",
        tcpPorts: [5223],
        names: ["push.apple.com", "courier.push.apple.com", "push-apple.com.akadns.net", "api.push.apple.com"])
}
