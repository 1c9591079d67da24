import UTMStore

/// Which period a report covers, in local time.
public enum ReportPeriod: Sendable, Equatable {
    case month(year: Int, month: Int)
    /// Seven days from this local date (a Monday for [002]'s weekly mail, but any day works).
    case week(year: Int, month: Int, day: Int)

    /// [from, to) in UTC microseconds for a local UTC offset.
    public func range(utcOffsetSeconds: Int) -> (from: Int64, to: Int64) {
        let (start, end): (Int, Int)
        switch self {
        case .month(let y, let m):
            start = CivilDate.days(y, m, 1)
            end = m == 12 ? CivilDate.days(y + 1, 1, 1) : CivilDate.days(y, m + 1, 1)
        case .week(let y, let m, let d):
            start = CivilDate.days(y, m, d)
            end = start + 7
        }
        func us(_ day: Int) -> Int64 { (Int64(day) * 86400 - Int64(utcOffsetSeconds)) * 1_000_000 }
        return (us(start), us(end))
    }

    var years: ClosedRange<Int> {
        switch self {
        case .month(let y, _): return y ... y
        case .week(let y, _, _): return y ... y + 1
        }
    }
}

/// Report settings with the defaults the box uses.
public struct ReportOptions: Sendable {
    public var period: ReportPeriod
    /// "ja" (default, [001]'s customers) or "en".
    public var language: String = "ja"
    /// Shown in the header: which office's box this is.
    public var boxName: String = "Mimamori UTM"
    public var utcOffsetSeconds: Int = 9 * 3600
    /// Sites per ranking.
    public var top: Int = 30

    public init(period: ReportPeriod) { self.period = period }
}

/// After-hours activity of one device, summed over the period.
public struct DeviceAfterHours: Sendable, Equatable {
    public var device: String
    public var mac: String?
    public var night = 0
    public var weekend = 0
    public var holiday = 0
    public var total: Int { night + weekend + holiday }
}

/// The numbers a report shows, computed from the store's aggregates. Tests compare these with
/// the truth of a synthetic capture; the HTML is drawn from them only.
public struct ReportSummary: Sendable {
    public var data: ReportData
    public var threatsBySeverity: [Int: Int] = [:]
    public var threatsByKind: [String: Int] = [:]
    public var threatsBlocked = 0
    public var afterHours: [DeviceAfterHours] = []
    /// Holidays inside the period (local dates and names).
    public var holidays: [(JapaneseHolidays.Day, String)] = []

    public init(data: ReportData, options: ReportOptions) {
        self.data = data
        for t in data.threats where t.blocked {
            threatsBlocked += 1
            threatsBySeverity[t.severity, default: 0] += 1
            threatsByKind[t.kind, default: 0] += 1
        }
        let hours = AfterHours(utcOffsetSeconds: options.utcOffsetSeconds, years: options.period.years)
        var byDevice: [String: DeviceAfterHours] = [:]
        for a in data.activity {
            guard let reason = hours.reason(a.hour) else { continue }
            var d = byDevice[a.device] ?? DeviceAfterHours(device: a.device, mac: a.mac)
            if d.mac == nil { d.mac = a.mac }
            switch reason {
            case .night: d.night += a.records
            case .weekend: d.weekend += a.records
            case .holiday: d.holiday += a.records
            }
            byDevice[a.device] = d
        }
        afterHours = byDevice.values.sorted { ($0.total, $1.device) > ($1.total, $0.device) }
        for y in options.period.years {
            for (day, name) in JapaneseHolidays.holidays(year: y) {
                let us = (Int64(day.ordinal) * 86400 - Int64(options.utcOffsetSeconds)) * 1_000_000
                if us >= data.from && us < data.to { holidays.append((day, name)) }
            }
        }
    }
}

/// Builds reports from the event store.
public enum Report {
    /// Reads the period's aggregates from `store` and summarises them.
    public static func summary(store: EventStore, options: ReportOptions) throws -> ReportSummary {
        let r = options.period.range(utcOffsetSeconds: options.utcOffsetSeconds)
        let data = try store.reportData(from: r.from, to: r.to, top: options.top)
        return ReportSummary(data: data, options: options)
    }

    /// The self-contained HTML report.
    public static func html(_ s: ReportSummary, options: ReportOptions, generatedAt: Int64) -> String {
        HTMLReport(summary: s, options: options, text: ReportText(language: options.language), generatedAt: generatedAt).render()
    }
}
