import UTMCore

/// Viber.
enum AppViber {
    static let descriptor = AppDescriptor(
        id: .viber, name: "Viber", kind: .service, category: "Chat",
        tcpPorts: [5242, 4244],
        udpPorts: [5243, 7985, 7987],
        names: ["viber.com", "viber.io", "vb.me"])
}
