import UTMCore

/// Signal.
enum AppSignal {
    static let descriptor = AppDescriptor(
        id: .signal, name: "Signal", kind: .service, category: "Chat",
        names: ["signal.org", "whispersystems.org", "signal.art", "signal.group", "signal.me",
                "chat.signal.org", "storage.signal.org", "cdn.signal.org", "cdn2.signal.org",
                "updates.signal.org", "sfu.voip.signal.org"])
}
