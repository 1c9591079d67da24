import UTMCore

/// SMTP over implicit TLS (port 465); found by the TLS dissector.
enum AppSMTPS {
    static let descriptor = AppDescriptor(
        id: .smtps, name: "SMTPS", kind: .proto, category: "Mail",
        tcpPorts: [465])
}
