import UTMCore

/// A threshold.config bound to one set of definitions: per signature index, which suppress,
/// threshold and rate_filter entries apply. Built once when loaded; the per-match check
/// allocates nothing (fixed tables, oldest entry overwritten when a probe window is full).
public struct EventFilters: Sendable {
    let config: ThresholdConfig
    /// Per signature: index into `config.thresholds`, -1 for none (the rule's own keyword).
    let threshold: [Int32]
    /// Per signature: index into `config.rateFilters`, -1 for none.
    let rate: [Int32]
    /// Per signature: first and one-past-last index into `suppressOrder`.
    let suppressRange: [(Int32, Int32)]
    let suppressOrder: [Int32]

    public init(_ config: ThresholdConfig, definitions defs: DetectDefinitions) {
        self.config = config
        func applies(_ gid: UInt32, _ sid: UInt32, _ s: Signature) -> Bool {
            (sid == 0 || sid == s.sid) && (gid == 0 || gid == s.gid)
        }
        var threshold = [Int32](repeating: -1, count: defs.count)
        var rate = [Int32](repeating: -1, count: defs.count)
        var ranges: [(Int32, Int32)] = []
        var order: [Int32] = []
        // Entries by sid (0 = every signature), so a big rule set meets a big config in
        // linear time.
        func index(_ sids: [UInt32]) -> [UInt32: [Int]] {
            var m: [UInt32: [Int]] = [:]
            for (k, sid) in sids.enumerated() { m[sid, default: []].append(k) }
            return m
        }
        let tBySid = index(config.thresholds.map(\.sid))
        let rBySid = index(config.rateFilters.map(\.sid))
        let sBySid = index(config.suppressions.map(\.sid))
        for (i, s) in defs.signatures.enumerated() {
            // A line naming the signature wins over a `sig_id 0` line, as in Suricata.
            let t = (tBySid[s.sid] ?? []).filter { applies(config.thresholds[$0].gid, s.sid, s) }
                + (tBySid[0] ?? []).filter { applies(config.thresholds[$0].gid, 0, s) }
            threshold[i] = Int32(t.first ?? -1)
            let r = (rBySid[s.sid] ?? []).filter { applies(config.rateFilters[$0].gid, s.sid, s) }
                + (rBySid[0] ?? []).filter { applies(config.rateFilters[$0].gid, 0, s) }
            rate[i] = Int32(r.first ?? -1)
            let start = Int32(order.count)
            let sup = (sBySid[s.sid] ?? []) + (s.sid == 0 ? [] : (sBySid[0] ?? []))
            for k in sup where applies(config.suppressions[k].gid, config.suppressions[k].sid, s) {
                order.append(Int32(k))
            }
            ranges.append((start, Int32(order.count)))
        }
        self.threshold = threshold
        self.rate = rate
        suppressRange = ranges
        suppressOrder = order
    }

    func suppressed(_ i: Int, _ p: PacketFacts) -> Bool {
        let (a, b) = suppressRange[i]
        var k = a
        while k < b {
            let s = config.suppressions[Int(suppressOrder[Int(k)])]
            switch s.track {
            case .all: return true
            case .bySource: if s.addresses.contains(p.source) { return true }
            case .byDestination: if s.addresses.contains(p.destination) { return true }
            case .byEither:
                if s.addresses.contains(p.source) || s.addresses.contains(p.destination) { return true }
            }
            k &+= 1
        }
        return false
    }
}

/// Rate filter state: per (signature, tracked key), the current window and, once the count
/// was exceeded, when the new action began.
struct RateTable {
    struct Entry {
        var sig: Int32 = -1
        var a: IPAddress = .none
        var b: IPAddress = .none
        var windowStart: Int64 = 0
        var count: Int = 0
        /// When the new action began; -1 while the signature's own action applies.
        var activeSince: Int64 = -1
    }
    var entries: [Entry]
    let mask: Int

    init(entries n: Int) {
        var size = 16
        while size < n { size <<= 1 }
        entries = Array(repeating: Entry(), count: size)
        mask = size - 1
    }

    /// Counts one match; returns true when the filter's new action applies to it
    /// (Suricata's detect-engine-threshold rate logic).
    mutating func hit(sig: Int, key: (IPAddress, IPAddress), _ f: ThresholdConfig.RateFilter, now: Int64) -> Bool {
        let h = ThresholdTable.hash(sig: sig, kind: 0, key: key)
        var slot = -1
        var oldestTime = Int64.max
        for probe in 0 ..< 8 {
            let i = Int(truncatingIfNeeded: h &+ UInt64(probe)) & mask
            let e = entries[i]
            if e.sig == Int32(sig) && e.a == key.0 && e.b == key.1 {
                return update(i, f, now)
            }
            if e.sig < 0 { slot = i; oldestTime = Int64.min; break }
            if e.windowStart < oldestTime { oldestTime = e.windowStart; slot = i }
        }
        entries[slot] = Entry(sig: Int32(sig), a: key.0, b: key.1, windowStart: now, count: 1)
        if f.count == 0 {
            entries[slot].activeSince = now
            return true
        }
        return false
    }

    /// Puts a carried entry (a reload's) in its probe window.
    mutating func place(_ e: Entry) { entries.place(e, mask: mask) }

    mutating func update(_ i: Int, _ f: ThresholdConfig.RateFilter, _ now: Int64) -> Bool {
        if entries[i].activeSince >= 0 {
            if now - entries[i].activeSince > Int64(f.timeout) {
                entries[i].activeSince = -1
                entries[i].count = 1
                entries[i].windowStart = now
                return false
            }
            return true
        }
        if now - entries[i].windowStart < Int64(f.seconds) {
            entries[i].count &+= 1
            if entries[i].count > f.count {
                entries[i].activeSince = now
                return true
            }
            return false
        }
        entries[i].windowStart = now
        entries[i].count = 1
        return false
    }
}

extension DetectEngine {
    /// Installs (or removes, with nil) a threshold.config for these definitions.
    public func setEventFilters(_ config: ThresholdConfig?) {
        guard let config, !config.isEmpty else {
            eventFilters = nil
            return
        }
        eventFilters = EventFilters(config, definitions: defs)
        if !config.rateFilters.isEmpty { hostState.reserveRates(self.config.thresholdEntries) }
    }

    /// After a signature matched: threshold.config suppressions, thresholds and rate filters,
    /// then the rule's own threshold / detection_filter. Returns the action to take, or nil
    /// when the match is held back. Sets `actionOverride` for the engine's match callback, and
    /// `thresholdSilent` when the action applies without an alert: Suricata applies a drop or
    /// reject rule's action to every match of `limit` (past its count) and of `both` (once the
    /// count is reached), only the alert is limited ("Thresholding Keywords": a bot's second
    /// C2 connection within a `limit` rule's hour is blocked too, silently).
    @inline(__always)
    func filteredAction(_ i: Int, _ sig: Signature, _ p: PacketFacts, _ time: Int64) -> RuleAction? {
        thresholdSilent = false
        let a = filteredActionNoted(i, sig, p, time)
        if let a, a != .alert && a != .pass { dropSerial = packetSerial }
        return a
    }

    @inline(__always)
    func filteredActionNoted(_ i: Int, _ sig: Signature, _ p: PacketFacts, _ time: Int64) -> RuleAction? {
        actionOverride = nil
        var verdict = ThresholdVerdict.alert
        guard let ef = eventFilters else {
            if sig.threshold != nil || sig.detectionFilter != nil {
                verdict = thresholdVerdict(i, sig, p, time)
            }
            return applying(verdict, sig.action)
        }
        if ef.suppressed(i, p) { return nil }
        let t = Int(ef.threshold[i])
        if t >= 0 {
            if sig.detectionFilter != nil {
                verdict = thresholdVerdict(i, Signature.withoutThreshold(sig), p, time)
                if verdict == .none { return nil }
            }
            verdict = verdict.and(configThresholdVerdict(i, ef.config.thresholds[t].spec, p, time))
        } else if sig.threshold != nil || sig.detectionFilter != nil {
            verdict = thresholdVerdict(i, sig, p, time)
        }
        if verdict == .none { return nil }
        var action = sig.action
        let r = Int(ef.rate[i])
        if r >= 0 {
            let f = ef.config.rateFilters[r]
            if hostState.rateHit(sig: i, key: rateKey(f.track, p), f, now: time) {
                action = f.newAction
                actionOverride = action
            }
        }
        return applying(verdict, action)
    }

    /// The action a threshold verdict lets through: a silent verdict applies a blocking action
    /// without its alert and holds any other match back.
    @inline(__always)
    func applying(_ verdict: ThresholdVerdict, _ action: RuleAction) -> RuleAction? {
        switch verdict {
        case .alert: return action
        case .none: return nil
        case .silent:
            guard action != .alert && action != .pass else { return nil }
            thresholdSilent = true
            return action
        }
    }

    func configThresholdVerdict(_ i: Int, _ t: ThresholdSpec, _ p: PacketFacts, _ time: Int64) -> ThresholdVerdict {
        let c = hostState.hit(sig: i, kind: 2, key: trackKey(t.track, p), seconds: t.seconds, now: time,
                              evictions: &stats.thresholdEvictions)
        return ThresholdVerdict(t, count: c)
    }

    /// Rate filters key `by_both` on the unordered address pair: both directions of a
    /// conversation count together (what Suricata's ip-pair tracking does).
    func rateKey(_ t: ThresholdSpec.Track, _ p: PacketFacts) -> (IPAddress, IPAddress) {
        guard t == .byBoth else { return trackKey(t, p) }
        let a = p.source, b = p.destination
        let aFirst = a.hi < b.hi || (a.hi == b.hi && a.lo <= b.lo)
        return aFirst ? (a, b) : (b, a)
    }
}

extension Signature {
    /// The signature with its `threshold` keyword removed (a threshold.config line replaces it;
    /// its detection_filter still applies).
    static func withoutThreshold(_ s: Signature) -> Signature {
        var c = s
        c.threshold = nil
        return c
    }
}

/// What a threshold lets a match do (Suricata's "Thresholding Keywords" notes): alert (and
/// act), act without an alert (a drop/reject rule past a `limit`, or past a `both` count), or
/// nothing (before a `threshold`/`both`/`detection_filter` count, between `threshold` counts).
enum ThresholdVerdict: Equatable {
    case alert, silent, none

    /// The verdict for the `count`th match of a window.
    init(_ t: ThresholdSpec, count c: Int) {
        switch t.kind {
        case .limit: self = c <= t.count ? .alert : .silent
        case .threshold: self = t.count > 0 && c % t.count == 0 ? .alert : .none
        case .both: self = c == t.count ? .alert : c > t.count ? .silent : .none
        case .detectionFilter: self = c > t.count ? .alert : .none
        }
    }

    /// Two thresholds on one match (a detection_filter and a threshold): the stricter.
    func and(_ other: ThresholdVerdict) -> ThresholdVerdict {
        if self == .none || other == .none { return .none }
        return self == .silent || other == .silent ? .silent : .alert
    }
}
