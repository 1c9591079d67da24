/// Whether a moment falls outside office hours [001 3.4.4]: 22:00–05:00 local time, Saturdays,
/// Sundays and Japanese public holidays. Local time is UTC plus a fixed offset (Japan has no
/// daylight saving time; +9 hours by default).
public struct AfterHours: Sendable {
    public enum Reason: String, Sendable, CaseIterable {
        case night, weekend, holiday
    }

    public let utcOffsetSeconds: Int
    public let nightStartHour: Int
    public let nightEndHour: Int
    let calendar: JapaneseHolidays.Calendar

    public init(utcOffsetSeconds: Int = 9 * 3600, nightStartHour: Int = 22, nightEndHour: Int = 5, years: ClosedRange<Int>) {
        self.utcOffsetSeconds = utcOffsetSeconds
        self.nightStartHour = nightStartHour
        self.nightEndHour = nightEndHour
        calendar = JapaneseHolidays.Calendar(years: years.lowerBound - 1 ... years.upperBound + 1)
    }

    /// Local (day ordinal, hour) of a UTC time in microseconds.
    public func local(_ us: Int64) -> (day: Int, hour: Int) {
        let s = Int(us / 1_000_000) + utcOffsetSeconds - (us < 0 && us % 1_000_000 != 0 ? 1 : 0)
        let day = s >= 0 ? s / 86400 : (s - 86399) / 86400
        return (day, (s - day * 86400) / 3600)
    }

    /// Why `us` is after hours, or nil during office hours. Holidays and weekends win over night.
    public func reason(_ us: Int64) -> Reason? {
        let (day, hour) = local(us)
        if calendar.name(ordinal: day) != nil { return .holiday }
        let weekday = ((day % 7) + 7 + 4) % 7
        if weekday == 0 || weekday == 6 { return .weekend }
        if hour >= nightStartHour || hour < nightEndHour { return .night }
        return nil
    }

    public func holidayName(_ us: Int64) -> String? { calendar.name(ordinal: local(us).day) }
}
