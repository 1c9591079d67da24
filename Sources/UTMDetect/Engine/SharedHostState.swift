import Synchronization
import UTMCore

/// What detection remembers per host or address pair rather than per flow: the counters of
/// `threshold` / `detection_filter` and threshold.config's thresholds and rate filters, and
/// the `xbits` / `hostbits` table. Suricata keeps these in its process-wide host and ippair
/// tables; `utmd` runs one engine per NFQUEUE worker, and the kernel spreads flows over the
/// queues, so a host's flows land on different workers. Kept per worker (as before session 8)
/// `detection_filter: track by_src, count 5` saw about 5/N of a scanner's attempts on each of
/// N workers and never fired, `threshold: type limit, count 1` alerted once per worker, and a
/// hostbit set on one worker was "not set" on the others. One instance is shared by all the
/// workers' engines of one definitions set (`DetectEngine(definitions:config:sharing:)`).
///
/// Why a lock: only matches of rules that count or read such state take it (a threshold rule's
/// match, an xbits check or change), never the per-packet path of other rules; the tables are
/// fixed at start so nothing is allocated under it. Single-worker replay takes it uncontended.
public final class SharedHostState: @unchecked Sendable {
    /// The signature count of the definitions it was built for: an engine over other
    /// definitions (a reload that changed the rules) must not read counters by index.
    public let signatureCount: Int
    let lock = Mutex(())
    /// Guarded by `lock`.
    var thresholds: ThresholdTable
    /// Guarded by `lock`; sized on the first threshold.config that has rate filters.
    var rates = RateTable(entries: 0)
    /// Guarded by `lock` inside `HostBitTable`; nil when no rule uses xbits or hostbits.
    public let hostBits: HostBitTable?

    /// Per signature index, `gid << 32 | sid`: how a reload finds a counter's rule again.
    let ruleIDs: [UInt64]
    /// Per signature index, the rule's own threshold and detection_filter: a reload carries a
    /// counter only to a rule that still counts the same way (a `by_src` count must not become
    /// a `by_dst` rule's).
    let ruleCounting: [CountingSpec]
    /// The bit names of the definitions, by interned index (host bits name them so).
    let bitNames: [String]
    /// The datasets of the definitions it was built for (session 9): the sets every worker's
    /// engine uses (`adoptDatasets`) and a reload carries members from (`carry`).
    let datasets: [Dataset]

    struct CountingSpec: Equatable {
        var threshold: ThresholdSpec?
        var detectionFilter: ThresholdSpec?
    }

    public init(definitions: DetectDefinitions, config: DetectConfig) {
        signatureCount = definitions.count
        thresholds = ThresholdTable(entries: config.thresholdEntries)
        hostBits = definitions.usesHostBits ? HostBitTable(capacity: config.hostBitEntries) : nil
        ruleIDs = definitions.boxes.map { UInt64($0.sig.gid) << 32 | UInt64($0.sig.sid) }
        ruleCounting = definitions.boxes.map { CountingSpec(threshold: $0.sig.threshold, detectionFilter: $0.sig.detectionFilter) }
        bitNames = definitions.flowbitNames.names
        datasets = definitions.datasets
    }

    /// Whether an engine over `definitions` may share this state: the same rules in the same
    /// order (counters are indexed by rule) and the same bit names. utmd's workers each parse
    /// the rule files; one that read files an update replaced meanwhile must not share.
    public func fits(_ definitions: DetectDefinitions) -> Bool {
        guard definitions.count == signatureCount, (hostBits != nil) == definitions.usesHostBits,
              definitions.flowbitNames.names == bitNames else { return false }
        var i = 0
        for b in definitions.boxes {
            if ruleIDs[i] != UInt64(b.sig.gid) << 32 | UInt64(b.sig.sid)
                || ruleCounting[i] != CountingSpec(threshold: b.sig.threshold, detectionFilter: b.sig.detectionFilter) {
                return false
            }
            i += 1
        }
        return true
    }

    /// At a reload, takes over what `previous` (the running definitions' state) counted:
    /// threshold and rate-filter entries of rules still present and counting the same way
    /// (found by gid and sid: the new rules' order may differ), and live host bits whose name
    /// is still used, with their expiry. Without it every rule update (daily on the box)
    /// restarted each `limit`, every detection_filter count and forgot every host bit;
    /// Suricata's host table keeps them. Call it after every new engine is built and just
    /// before they are handed to the workers: what the workers count on `previous` after the
    /// copy (until each swaps engines) is not carried. `previous`'s lock is held only while
    /// its entries are copied into arrays reserved beforehand. `now`: the current packet time
    /// (expired host bits are left behind).
    public func carry(from previous: SharedHostState, now: Int64) {
        guard previous !== self else { return }
        var index: [UInt64: Int32] = [:]
        index.reserveCapacity(ruleIDs.count)
        for (i, id) in ruleIDs.enumerated() where index[id] == nil { index[id] = Int32(i) }
        let oldIDs = previous.ruleIDs, oldCounting = previous.ruleCounting
        func mapped(_ sig: Int32, kind: UInt8) -> Int32? {
            guard sig >= 0, Int(sig) < oldIDs.count, let j = index[oldIDs[Int(sig)]] else { return nil }
            // kind 2: a threshold.config entry, which the config (not the rule) defines.
            if kind != 2 && oldCounting[Int(sig)] != ruleCounting[Int(j)] { return nil }
            return j
        }
        // Copied out under the running state's lock into arrays sized beforehand (a worker
        // counting meanwhile waits for a copy, not for allocation or lookups).
        var oldThresholds = [ThresholdTable.Entry](repeating: .init(), count: previous.thresholds.entries.count)
        var oldRates = [RateTable.Entry](repeating: .init(), count: Swift.max(previous.rates.entries.count, 16))
        var rateCount = 0
        previous.lock.withLock { _ in
            let t = previous.thresholds.entries
            for k in 0 ..< Swift.min(t.count, oldThresholds.count) { oldThresholds[k] = t[k] }
            let r = previous.rates.entries
            rateCount = Swift.min(r.count, oldRates.count)
            for k in 0 ..< rateCount { oldRates[k] = r[k] }
        }
        lock.withLock { _ in
            for e in oldThresholds {
                guard let j = mapped(e.sig, kind: e.kind) else { continue }
                var c = e
                c.sig = j
                thresholds.place(c)
            }
            if rateCount > rates.entries.count { rates = RateTable(entries: rateCount) }
            for e in oldRates.prefix(rateCount) {
                guard let j = mapped(e.sig, kind: 2) else { continue }
                var c = e
                c.sig = j
                rates.place(c)
            }
        }
        Dataset.carry(into: datasets, from: previous.datasets)
        if let new = hostBits, let old = previous.hostBits {
            var names: [String: UInt16] = [:]
            for (i, n) in bitNames.enumerated() { names[n] = UInt16(truncatingIfNeeded: i) }
            let oldNames = previous.bitNames
            new.carry(from: old, now: now) { name in
                Int(name) < oldNames.count ? names[oldNames[Int(name)]] : nil
            }
        }
    }

    /// Counts one hit of a rule's (or threshold.config's) threshold; the count in its window.
    func hit(sig: Int, kind: UInt8, key: (IPAddress, IPAddress), seconds: Int, now: Int64,
             evictions: inout UInt64) -> Int {
        lock.withLock { _ in
            thresholds.hit(sig: sig, kind: kind, key: key, seconds: seconds, now: now, evictions: &evictions)
        }
    }

    /// Counts one match for a rate filter; true when its new action applies.
    func rateHit(sig: Int, key: (IPAddress, IPAddress), _ f: ThresholdConfig.RateFilter, now: Int64) -> Bool {
        lock.withLock { _ in rates.hit(sig: sig, key: key, f, now: now) }
    }

    /// Sizes the rate table once (every worker installs the same threshold.config).
    func reserveRates(_ entries: Int) {
        lock.withLock { _ in
            if rates.entries.count < entries { rates = RateTable(entries: entries) }
        }
    }
}
