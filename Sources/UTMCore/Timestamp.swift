/// A packet time: seconds and microseconds since the Unix epoch (what pcap and NFQUEUE give).
@frozen
public struct Timestamp: Hashable, Comparable, Sendable {
    public var seconds: Int64
    public var micros: Int32

    @inlinable
    public init(seconds: Int64, micros: Int32) {
        self.seconds = seconds
        self.micros = micros
    }

    public static let zero = Timestamp(seconds: 0, micros: 0)

    @inlinable
    public var totalMicros: Int64 { seconds &* 1_000_000 &+ Int64(micros) }

    @inlinable
    public static func < (a: Timestamp, b: Timestamp) -> Bool {
        a.seconds != b.seconds ? a.seconds < b.seconds : a.micros < b.micros
    }

    /// Civil date (proleptic Gregorian, UTC) of the seconds, without Foundation or time zones:
    /// Howard Hinnant's days-from-civil inverse.
    @inlinable
    public var civil: (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        let s = seconds
        var days = s / 86400
        var rem = s % 86400
        if rem < 0 { rem += 86400; days -= 1 }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(m <= 2 ? y + 1 : y), Int(m), Int(d), Int(rem / 3600), Int(rem % 3600 / 60), Int(rem % 60))
    }
}
