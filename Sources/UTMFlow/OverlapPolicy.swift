import UTMCore

/// Which bytes a receiving TCP stack keeps when two segments carry different data for the same
/// sequence numbers (Suricata's `host-os-policy` names).
///
/// Why it matters: overlapping segments with different bytes are the classic IDS evasion — the
/// sensor reassembles one version, the target host another. Suricata reassembles the way the
/// target's operating system would; these are its rules (stream-tcp-list.c, the overlap of a
/// new segment with one already held). `first` is this engine's own default: the first bytes
/// seen win, which is what an inline box that forwarded them makes true for the receiver.
public enum OverlapPolicy: UInt8, Sendable, CaseIterable {
    case first = 0, last, bsd, bsdRight, oldLinux, linux, oldSolaris, solaris, hpux10, hpux11,
         irix, macos, windows, vista, windows2k3

    /// The name in suricata.yaml's `host-os-policy` (plus `first` and `last`).
    public var name: String {
        switch self {
        case .first: return "first"
        case .last: return "last"
        case .bsd: return "bsd"
        case .bsdRight: return "bsd-right"
        case .oldLinux: return "old-linux"
        case .linux: return "linux"
        case .oldSolaris: return "old-solaris"
        case .solaris: return "solaris"
        case .hpux10: return "hpux10"
        case .hpux11: return "hpux11"
        case .irix: return "irix"
        case .macos: return "macos"
        case .windows: return "windows"
        case .vista: return "vista"
        case .windows2k3: return "windows2k3"
        }
    }

    public init?(name: String) {
        guard let p = OverlapPolicy.allCases.first(where: { $0.name == name }) else { return nil }
        self = p
    }

    /// Whether the receiver takes the new segment's bytes over those of a segment it already
    /// holds, where they overlap. `new…`/`old…` are the segments' stream offsets (end exclusive).
    @inline(__always)
    public func newDataWins(newStart: Int64, newEnd: Int64, oldStart: Int64, oldEnd: Int64) -> Bool {
        switch self {
        case .last: return true
        case .first, .bsdRight, .oldSolaris, .vista: return false
        default: break
        }
        let covers = newEnd >= oldEnd
        if newStart == oldStart {
            if self == .linux { return newEnd > oldEnd }
            return covers && (self == .oldLinux || self == .solaris || self == .hpux11)
        }
        if newStart < oldStart {
            if self == .solaris || self == .hpux11 { return covers }
            return true  // bsd, hpux10, irix, windows, windows2k3, old-linux, linux, macos
        }
        return newEnd > oldEnd && (self == .solaris || self == .hpux11)
    }
}

/// The overlap policy per receiving host: Suricata's `host-os-policy` table, most specific
/// network first. Built from configuration, read once per TCP stream when it starts.
public struct HostOSPolicies: Sendable {
    struct Entry: Sendable {
        var hi: UInt64, lo: UInt64, isV6: Bool, prefix: Int, policy: OverlapPolicy
    }
    var entries: [Entry] = []

    public init() {}

    public var isEmpty: Bool { entries.isEmpty }

    /// Adds `network` ("10.0.0.0/8", "2.2.2.2", "fd00::/64") for `policy`; false on bad text.
    public mutating func add(_ network: String, _ policy: OverlapPolicy) -> Bool {
        let parts = network.split(separator: "/", maxSplits: 1)
        guard let first = parts.first, let ip = IPAddress(String(first)) else { return false }
        let width = ip.isV6 ? 128 : 32
        var prefix = width
        if parts.count == 2 {
            guard let n = Int(parts[1]), n >= 0, n <= width else { return false }
            prefix = n
        }
        entries.append(Entry(hi: ip.hi, lo: ip.lo, isV6: ip.isV6, prefix: prefix, policy: policy))
        // Longest prefix first, so the first match is the most specific (Suricata's radix tree).
        entries.sort { $0.prefix > $1.prefix }
        return true
    }

    /// The policy of the host at `ip`, or nil when no network holds it. No allocation.
    public func policy(for ip: IPAddress) -> OverlapPolicy? {
        for e in entries where e.isV6 == ip.isV6 {
            if HostOSPolicies.matches(e, ip) { return e.policy }
        }
        return nil
    }

    @inline(__always)
    static func matches(_ e: Entry, _ ip: IPAddress) -> Bool {
        if !e.isV6 {
            guard e.prefix > 0 else { return true }
            let shift = UInt64(32 - e.prefix)
            return (ip.lo & 0xffff_ffff) >> shift == (e.lo & 0xffff_ffff) >> shift
        }
        let hiBits = Swift.min(64, e.prefix), loBits = e.prefix - hiBits
        if hiBits > 0 && ip.hi >> UInt64(64 - hiBits) != e.hi >> UInt64(64 - hiBits) { return false }
        if loBits > 0 && ip.lo >> UInt64(64 - loBits) != e.lo >> UInt64(64 - loBits) { return false }
        return true
    }
}
