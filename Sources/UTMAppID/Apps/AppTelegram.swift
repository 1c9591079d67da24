import UTMCore

/// Telegram.
enum AppTelegram {
    static let descriptor = AppDescriptor(
        id: .telegram, name: "Telegram", kind: .service, category: "Chat",
        names: ["telegram.org", "t.me", "telegram.me", "tdesktop.com", "telegra.ph", "telesco.pe",
                "cdn-telegram.org", "telegram-cdn.org"])
}
