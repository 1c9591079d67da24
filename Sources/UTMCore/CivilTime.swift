/// Civil dates to Unix seconds without Foundation (H. Hinnant's days-from-civil), for rule
/// dates (UTMDetect) and X.509 certificate times (UTMAppLayer).
public enum CivilTime {
    @inlinable
    public static func seconds(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) -> Int64? {
        guard (1 ... 12).contains(month), (1 ... 31).contains(day), (0 ... 23).contains(hour),
              (0 ... 59).contains(minute), (0 ... 60).contains(second), (0 ... 9999).contains(year) else { return nil }
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }
}
