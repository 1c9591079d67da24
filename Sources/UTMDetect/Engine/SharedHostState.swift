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
    /// The bit names of the definitions, by interned index (host bits name them so).
    let bitNames: [String]

    public init(definitions: DetectDefinitions, config: DetectConfig) {
        signatureCount = definitions.count
        thresholds = ThresholdTable(entries: config.thresholdEntries)
        hostBits = definitions.usesHostBits ? HostBitTable(capacity: config.hostBitEntries) : nil
        ruleIDs = definitions.boxes.map { UInt64($0.sig.gid) << 32 | UInt64($0.sig.sid) }
        bitNames = definitions.flowbitNames.names
    }

    /// The state of a reload's new definitions, carrying over what `previous` (the running
    /// definitions' state, still in use by the workers) counted: threshold and rate-filter
    /// entries of rules still present (found by gid and sid), host bits whose name is still
    /// used. Without it every rule update (daily on the box) restarted each `limit`, every
    /// detection_filter count and forgot every host bit; Suricata's host table keeps them.
    public convenience init(definitions: DetectDefinitions, config: DetectConfig, carrying previous: SharedHostState) {
        self.init(definitions: definitions, config: config)
        guard previous !== self else { return }
        var index: [UInt64: Int32] = [:]
        index.reserveCapacity(ruleIDs.count)
        for (i, id) in ruleIDs.enumerated() where index[id] == nil { index[id] = Int32(i) }
        let oldIDs = previous.ruleIDs
        func mapped(_ sig: Int32) -> Int32? {
            guard sig >= 0, Int(sig) < oldIDs.count else { return nil }
            return index[oldIDs[Int(sig)]]
        }
        previous.lock.withLock { _ in
            for e in previous.thresholds.entries {
                guard let j = mapped(e.sig) else { continue }
                var c = e
                c.sig = j
                thresholds.place(c)
            }
            if previous.rates.entries.count > 16 && rates.entries.count < previous.rates.entries.count {
                rates = RateTable(entries: previous.rates.entries.count)
            }
            for e in previous.rates.entries {
                guard let j = mapped(e.sig) else { continue }
                var c = e
                c.sig = j
                rates.place(c)
            }
        }
        if let new = hostBits, let old = previous.hostBits {
            var names: [String: UInt16] = [:]
            for (i, n) in bitNames.enumerated() { names[n] = UInt16(truncatingIfNeeded: i) }
            let oldNames = previous.bitNames
            new.carry(from: old) { name in
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
