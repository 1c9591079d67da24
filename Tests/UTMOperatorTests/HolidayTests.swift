import Testing
import UTMReport

/// Japanese public holidays, checked against the Cabinet Office's published calendars.
@Suite struct HolidayTests {
    func names(_ y: Int) -> [String: String] {
        Dictionary(uniqueKeysWithValues: JapaneseHolidays.holidays(year: y).map {
            (String(format: "%02d-%02d", $0.0.month, $0.0.day), $0.1)
        })
    }

    @Test func year2026() {
        let h = names(2026)
        #expect(h["01-01"] == "元日")
        #expect(h["01-12"] == "成人の日")
        #expect(h["02-23"] == "天皇誕生日")
        #expect(h["03-20"] == "春分の日")
        #expect(h["05-06"] == "振替休日") // 5/3 is a Sunday; 5/4 and 5/5 are holidays already
        #expect(h["07-20"] == "海の日")
        #expect(h["09-21"] == "敬老の日")
        #expect(h["09-22"] == "国民の休日") // between 敬老の日 and 秋分の日
        #expect(h["09-23"] == "秋分の日")
        #expect(h["10-12"] == "スポーツの日")
        #expect(h.count == 18)
    }

    @Test func substituteHolidaysAndExceptions() {
        #expect(names(2024)["11-04"] == "振替休日") // 文化の日 on a Sunday
        #expect(names(2024)["02-12"] == "振替休日")
        #expect(names(2025)["02-24"] == "振替休日")
        #expect(names(2020)["07-24"] == "スポーツの日")
        #expect(names(2021)["08-09"] == "振替休日") // 山の日 moved to Sunday 8/8
        #expect(names(2019)["04-30"] == "国民の休日")
        #expect(names(2019)["05-02"] == "国民の休日")
        #expect(names(2019)["12-23"] == nil)
        #expect(names(2018)["12-24"] == "振替休日")
    }

    @Test func equinoxes() {
        let vernal = [2024: 20, 2025: 20, 2026: 20, 2027: 21, 2028: 20, 2030: 20]
        let autumnal = [2024: 22, 2025: 23, 2026: 23, 2027: 23, 2028: 22, 2030: 23]
        for (y, d) in vernal { #expect(JapaneseHolidays.vernalEquinox(y) == d, "\(y)") }
        for (y, d) in autumnal { #expect(JapaneseHolidays.autumnalEquinox(y) == d, "\(y)") }
    }

    @Test func afterHoursInJapaneseTime() {
        let hours = AfterHours(years: 2024...2026)
        func us(_ y: Int, _ m: Int, _ d: Int, _ h: Int, _ min: Int) -> Int64 {
            (Int64(CivilDate.days(y, m, d)) * 86400 + Int64(h * 3600 + min * 60) - 9 * 3600) * 1_000_000
        }
        #expect(hours.reason(us(2024, 11, 15, 21, 40)) == nil) // Friday evening, office hours
        #expect(hours.reason(us(2024, 11, 15, 22, 0)) == .night)
        #expect(hours.reason(us(2024, 11, 14, 4, 59)) == .night)
        #expect(hours.reason(us(2024, 11, 14, 5, 0)) == nil)
        #expect(hours.reason(us(2024, 11, 16, 12, 0)) == .weekend)
        #expect(hours.reason(us(2024, 11, 4, 12, 0)) == .holiday)
        #expect(hours.reason(us(2026, 9, 22, 10, 0)) == .holiday)
    }
}
