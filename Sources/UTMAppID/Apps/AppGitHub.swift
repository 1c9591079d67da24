import UTMCore

/// GitHub.
enum AppGitHub {
    static let descriptor = AppDescriptor(
        id: .github, name: "Github", kind: .service, category: "Development",
        names: ["github.com", "githubusercontent.com", "githubassets.com", "github.io", "githubapp.com",
                "github.dev", "ghcr.io"])
}
