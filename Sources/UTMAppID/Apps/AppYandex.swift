import UTMCore

/// Yandex.
enum AppYandex {
    static let descriptor = AppDescriptor(
        id: .yandex, name: "Yandex", kind: .service, category: "Web",
        names: ["yandex.ru", "yandex.net", "yandex.com", "yastatic.net", "ya.ru", "yandex.by", "yandex.kz",
                "yandex.ua", "yandex.com.tr", "yandexcloud.net", "yandex-team.ru"])
}
