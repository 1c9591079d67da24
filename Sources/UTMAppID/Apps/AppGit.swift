import UTMCore

/// The git:// protocol: a pkt-line naming git-upload-pack / git-receive-pack.
enum AppGit {
    static let descriptor = AppDescriptor(
        id: .git, name: "Git", kind: .proto, category: "Development",
        tcpPorts: [9418],
        dissector: Dissector([.tcp], portsOnly: true, probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        guard v.count >= 8, let rest = v.suffix(from: 4) else { return .needMore }
        return rest.has("git-upload-pack ") || rest.has("git-receive-pack ") || rest.has("git-upload-archive ") ? .match(.git) : .no
    }
}
