#if canImport(Glibc)
import Glibc
#endif

/// Monotonic time in nanoseconds, for measuring how long processing took (not packet time).
public enum MonotonicClock {
    @inlinable
    public static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Seconds elapsed since `start` (a value of `nanoseconds()`).
    public static func seconds(since start: UInt64) -> Double {
        Double(nanoseconds() &- start) / 1e9
    }
}

/// Wall-clock time, for timestamps of events that no packet carries (service logs).
public enum WallClock {
    public static func now() -> (seconds: Int64, micros: Int32) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return (Int64(ts.tv_sec), Int32(ts.tv_nsec / 1000))
    }
}
