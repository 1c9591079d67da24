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

    public init(definitions: DetectDefinitions, config: DetectConfig) {
        signatureCount = definitions.count
        thresholds = ThresholdTable(entries: config.thresholdEntries)
        hostBits = definitions.usesHostBits ? HostBitTable(capacity: config.hostBitEntries) : nil
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
