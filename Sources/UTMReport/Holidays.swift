/// Japanese public holidays (国民の祝日), computed rather than listed, for the after-hours
/// part of the report: an office is closed on them as on weekends.
///
/// Rules (祝日法 as amended to date): fixed-date holidays, the "Happy Monday" holidays, the
/// equinoxes by the astronomical approximation the Cabinet Office publishes from (valid
/// 1980–2099), 振替休日 (a holiday on a Sunday moves to the next day that is not a holiday),
/// 国民の休日 (a weekday squeezed between two holidays), and the one-off changes of 2019
/// (the enthronement) and 2020–2021 (the Tokyo Olympics). Years before 2000 are not needed.
public enum JapaneseHolidays {
    public struct Day: Hashable, Comparable, Sendable {
        public var year: Int, month: Int, day: Int
        public init(_ year: Int, _ month: Int, _ day: Int) { self.year = year; self.month = month; self.day = day }
        public static func < (a: Day, b: Day) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }
        /// Days since 1970-01-01.
        public var ordinal: Int { CivilDate.days(year, month, day) }
        public init(ordinal: Int) { (year, month, day) = CivilDate.civil(ordinal) }
        /// 0 = Sunday … 6 = Saturday.
        public var weekday: Int { ((ordinal % 7) + 7 + 4) % 7 }
    }

    /// The year's holidays with their Japanese names, in date order.
    public static func holidays(year y: Int) -> [(Day, String)] {
        var h: [Day: String] = [:]
        func add(_ m: Int, _ d: Int, _ name: String) { h[Day(y, m, d)] = name }
        func nthMonday(_ m: Int, _ n: Int) -> Int {
            let first = Day(y, m, 1).weekday
            return 1 + (8 - first) % 7 + (n - 1) * 7
        }
        add(1, 1, "元日")
        add(1, nthMonday(1, 2), "成人の日")
        add(2, 11, "建国記念の日")
        if y >= 2020 { add(2, 23, "天皇誕生日") } else if y <= 2018 { add(12, 23, "天皇誕生日") }
        add(3, vernalEquinox(y), "春分の日")
        add(4, 29, "昭和の日")
        add(5, 3, "憲法記念日")
        add(5, 4, "みどりの日")
        add(5, 5, "こどもの日")
        switch y {
        case 2020: add(7, 23, "海の日"); add(7, 24, "スポーツの日"); add(8, 10, "山の日")
        case 2021: add(7, 22, "海の日"); add(7, 23, "スポーツの日"); add(8, 8, "山の日")
        default:
            add(7, nthMonday(7, 3), "海の日")
            if y >= 2016 { add(8, 11, "山の日") }
            add(10, nthMonday(10, 2), y >= 2020 ? "スポーツの日" : "体育の日")
        }
        add(9, nthMonday(9, 3), "敬老の日")
        add(9, autumnalEquinox(y), "秋分の日")
        add(11, 3, "文化の日")
        add(11, 23, "勤労感謝の日")
        if y == 2019 { add(5, 1, "即位の日"); add(10, 22, "即位礼正殿の儀") }

        // 国民の休日: a day between two holidays that is itself neither a holiday nor a Sunday.
        let sorted = h.keys.sorted()
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.ordinal - a.ordinal == 2 {
            let mid = Day(ordinal: a.ordinal + 1)
            if mid.weekday != 0 && h[mid] == nil { h[mid] = "国民の休日" }
        }
        // 振替休日: a holiday on a Sunday makes the next non-holiday day a holiday.
        for d in h.keys.sorted() where d.weekday == 0 {
            var next = d.ordinal + 1
            while h[Day(ordinal: next)] != nil { next += 1 }
            let n = Day(ordinal: next)
            if n.year == y { h[n] = "振替休日" }
        }
        return h.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// 春分日 (March), 1980–2099.
    public static func vernalEquinox(_ y: Int) -> Int {
        Int(20.8431 + 0.242194 * Double(y - 1980)) - (y - 1980) / 4
    }

    /// 秋分日 (September), 1980–2099.
    public static func autumnalEquinox(_ y: Int) -> Int {
        Int(23.2488 + 0.242194 * Double(y - 1980)) - (y - 1980) / 4
    }

    /// A lookup for a range of years (the report computes each year once).
    public final class Calendar: @unchecked Sendable {
        // @unchecked: filled in init, read-only afterwards.
        private var names: [Int: String] = [:]

        public init(years: ClosedRange<Int>) {
            for y in years { for (d, n) in JapaneseHolidays.holidays(year: y) { names[d.ordinal] = n } }
        }

        public func name(ordinal: Int) -> String? { names[ordinal] }
    }
}

/// Proleptic Gregorian calendar ⇄ days since 1970-01-01 (Howard Hinnant's algorithms).
public enum CivilDate {
    public static func days(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    public static func civil(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp + (mp < 10 ? 3 : -9)
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
