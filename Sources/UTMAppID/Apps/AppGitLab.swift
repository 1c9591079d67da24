import UTMCore

/// GitLab.
enum AppGitLab {
    static let descriptor = AppDescriptor(
        id: .gitlab, name: "GitLab", kind: .service, category: "Development",
        names: ["gitlab.com", "gitlab.io", "gitlab-static.net", "gitlab.net"])
}
