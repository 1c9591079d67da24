import UTMCore

/// Cisco Webex.
enum AppWebex {
    static let descriptor = AppDescriptor(
        id: .webex, name: "Webex", kind: .service, category: "VideoConference",
        udpPorts: [9000],
        names: ["webex.com", "wbx2.com", "ciscospark.com", "webexconnect.com", "webex.co.jp",
                "webexcontent.com"])
}
