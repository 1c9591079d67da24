import UTMCore

/// LinkedIn.
enum AppLinkedIn {
    static let descriptor = AppDescriptor(
        id: .linkedin, name: "LinkedIn", kind: .service, category: "SocialNetwork",
        names: ["linkedin.com", "licdn.com", "lnkd.in", "linkedin.cn"])
}
