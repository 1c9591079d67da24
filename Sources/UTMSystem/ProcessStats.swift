#if canImport(Glibc)
import Glibc
#endif

/// Resource figures of this process, for the replay summary and the benchmarks.
public enum ProcessStats {
    /// Peak resident set size in bytes (getrusage's ru_maxrss is in KiB on Linux).
    public static func peakResidentBytes() -> Int {
        var usage = rusage()
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
        return Int(usage.ru_maxrss) * 1024
    }

    /// CPU seconds used by this process (user + system).
    public static func cpuSeconds() -> Double {
        var usage = rusage()
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
        let u = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        let s = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return u + s
    }
}
