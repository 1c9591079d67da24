/// Suricata's threshold.config: per-signature alert filters kept outside the rules.
///
///     threshold gen_id 1, sig_id 10, type limit, track by_src, count 1, seconds 60
///     event_filter gen_id 1, sig_id 10, type both, track by_dst, count 5, seconds 60
///     suppress gen_id 1, sig_id 11[, track by_src|by_dst|by_either, ip 10.0.0.0/8]
///     rate_filter gen_id 1, sig_id 12, track by_rule, count 10, seconds 1, new_action drop, timeout 30
///
/// `sig_id 0` (with `gen_id 0`) means every signature. A threshold line replaces the rule's own
/// `threshold` keyword, as in Suricata. A bad line is an error naming the file and line.
public struct ThresholdConfig: Sendable {
    public enum SuppressTrack: UInt8, Sendable { case all, bySource, byDestination, byEither }

    public struct Suppress: Sendable {
        public var gid: UInt32
        public var sid: UInt32
        public var track: SuppressTrack
        public var addresses: AddressSet
    }

    public struct RateFilter: Sendable {
        public var gid: UInt32
        public var sid: UInt32
        public var track: ThresholdSpec.Track
        public var count: Int
        public var seconds: Int
        public var newAction: RuleAction
        public var timeout: Int
    }

    public struct Threshold: Sendable {
        public var gid: UInt32
        public var sid: UInt32
        public var spec: ThresholdSpec
    }

    public var thresholds: [Threshold] = []
    public var suppressions: [Suppress] = []
    public var rateFilters: [RateFilter] = []

    public init() {}

    public var isEmpty: Bool { thresholds.isEmpty && suppressions.isEmpty && rateFilters.isEmpty }

    /// Parses the text of a threshold.config; `name` is used in error messages.
    public static func parse(_ text: String, name: String) throws(RuleError) -> ThresholdConfig {
        var c = ThresholdConfig()
        var lineNumber = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = raw
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            line = line.drop { $0 == " " || $0 == "\t" || $0 == "\r" }
            while let l = line.last, l == " " || l == "\t" || l == "\r" { line = line.dropLast() }
            if line.isEmpty { continue }
            do throws(RuleError) {
                try c.add(line)
            } catch {
                var e = error
                e.file = name
                e.line = lineNumber
                throw e
            }
        }
        return c
    }

    mutating func add(_ line: Substring) throws(RuleError) {
        guard let space = line.firstIndex(where: { $0 == " " || $0 == "\t" }) else {
            throw .invalid("expected 'threshold', 'event_filter', 'suppress' or 'rate_filter' with options")
        }
        let kind = line[..<space]
        var options: [Substring: Substring] = [:]
        for item in line[space...].split(separator: ",") {
            let words = item.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count == 2 else { throw .invalid("expected 'name value', got '\(item.trimmed)'") }
            if options[words[0]] != nil { throw .invalid("'\(words[0])' given twice") }
            options[words[0]] = words[1]
        }
        func number(_ key: Substring, required: Bool = true) throws(RuleError) -> Int? {
            guard let v = options.removeValue(forKey: key) else {
                if required { throw .invalid("\(kind) needs \(key)") }
                return nil
            }
            guard let n = Int(v), n >= 0, n <= Int(UInt32.max) else { throw .invalid("\(key): '\(v)' is not a number") }
            return n
        }
        let gid = UInt32(try number("gen_id")!)
        let sid = UInt32(try number("sig_id")!)
        switch kind {
        case "threshold", "event_filter":
            let type: ThresholdSpec.Kind
            switch options.removeValue(forKey: "type") {
            case "limit": type = .limit
            case "threshold": type = .threshold
            case "both": type = .both
            case let v: throw .invalid("type: '\(v ?? "")' is not limit, threshold or both")
            }
            let track = try Self.track(options.removeValue(forKey: "track"))
            let count = try number("count")!, seconds = try number("seconds")!
            thresholds.append(Threshold(gid: gid, sid: sid, spec: ThresholdSpec(kind: type, track: track, count: count, seconds: seconds)))
        case "suppress":
            var track = SuppressTrack.all
            var addresses = AddressSet.any
            switch options.removeValue(forKey: "track") {
            case nil: break
            case "by_src": track = .bySource
            case "by_dst": track = .byDestination
            case "by_either": track = .byEither
            case let v?: throw .invalid("track: '\(v)' is not by_src, by_dst or by_either")
            }
            if let ip = options.removeValue(forKey: "ip") {
                guard let set = AddressSet.parseList(ip) else { throw .invalid("ip: '\(ip)' is not an address or CIDR") }
                addresses = set
            } else if track != .all {
                throw .invalid("suppress with a track needs ip")
            }
            suppressions.append(Suppress(gid: gid, sid: sid, track: track, addresses: addresses))
        case "rate_filter":
            let track = try Self.track(options.removeValue(forKey: "track"))
            let count = try number("count")!, seconds = try number("seconds")!
            let action: RuleAction
            switch options.removeValue(forKey: "new_action") {
            case "alert": action = .alert
            case "drop": action = .drop
            case "pass": action = .pass
            case "reject": action = .reject
            case let v: throw .invalid("new_action: '\(v ?? "")' is not alert, drop, pass or reject")
            }
            let timeout = try number("timeout")!
            rateFilters.append(RateFilter(gid: gid, sid: sid, track: track, count: count, seconds: seconds,
                                          newAction: action, timeout: timeout))
        default:
            throw .invalid("'\(kind)' is not threshold, event_filter, suppress or rate_filter")
        }
        if let extra = options.keys.first { throw .invalid("unknown option '\(extra)' for \(kind)") }
    }

    static func track(_ v: Substring?) throws(RuleError) -> ThresholdSpec.Track {
        switch v {
        case "by_src": return .bySource
        case "by_dst": return .byDestination
        case "by_rule": return .byRule
        case "by_both": return .byBoth
        default: throw .invalid("track: '\(v ?? "")' is not by_src, by_dst, by_rule or by_both")
        }
    }
}

extension Substring {
    fileprivate var trimmed: Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}

extension AddressSet {
    /// One address or CIDR, or a bracketed comma list of them (`[10.0.0.1,192.168.0.0/16]`).
    static func parseList(_ text: Substring) -> AddressSet? {
        var t = text
        if t.first == "[" && t.last == "]" { t = t.dropFirst().dropLast() }
        var set = AddressSet.empty
        for part in t.split(separator: ",") {
            guard let one = AddressSet.parseCIDR(part) else { return nil }
            set = set.union(one)
        }
        return set.isEmpty ? nil : set
    }
}
