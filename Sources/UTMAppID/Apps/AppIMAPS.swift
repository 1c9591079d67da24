import UTMCore

/// IMAP over implicit TLS (port 993); found by the TLS dissector.
enum AppIMAPS {
    static let descriptor = AppDescriptor(
        id: .imaps, name: "IMAPS", kind: .proto, category: "Mail",
        tcpPorts: [993])
}
