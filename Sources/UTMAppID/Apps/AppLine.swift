import UTMCore

/// LINE messenger (very common in Japanese offices).
enum AppLine {
    static let descriptor = AppDescriptor(
        id: .line, name: "Line", kind: .service, category: "Chat",
        names: ["line.me", "line-apps.com", "line-scdn.net", "line-cdn.net", "naver.jp", "line.naver.jp",
                "linecorp.com", "lin.ee", "line-apps-beta.com", "obs.line-scdn.net", "lineblog.me",
                "linemo.jp"])
}
