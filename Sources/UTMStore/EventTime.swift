#if canImport(Glibc)
import Glibc
#endif

/// Times in the store are microseconds since the Unix epoch, UTC: integers sort and compare
/// in SQL without parsing. EVE writes "2026-01-01T00:00:00.001000+0000"; operators type
/// "2026-01-01", "2026-01-01 09:30" or "2026-01-01T09:30:00+09:00".
public enum EventTime {
    public static let microsecondsPerDay: Int64 = 86_400_000_000

    /// Parses an EVE or ISO 8601 time (date alone means midnight; no offset means UTC), or
    /// plain seconds since the epoch. Nil when it is neither.
    public static func parse(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        if !b.isEmpty, b.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), b.count <= 12 {
            return Int64(text).map { $0 * 1_000_000 }
        }
        var i = 0
        func number(_ digits: Int) -> Int? {
            guard i + digits <= b.count else { return nil }
            var v = 0
            for k in i..<(i + digits) {
                guard b[k] >= 0x30 && b[k] <= 0x39 else { return nil }
                v = v * 10 + Int(b[k] - 0x30)
            }
            i += digits
            return v
        }
        func skip(_ c: UInt8) -> Bool {
            if i < b.count && b[i] == c { i += 1; return true }
            return false
        }
        guard let year = number(4), skip(0x2D), let month = number(2), skip(0x2D), let day = number(2),
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        var hour = 0, minute = 0, second = 0, micros = 0
        if i < b.count && (b[i] == 0x54 || b[i] == 0x20) { // 'T' or ' '
            i += 1
            guard let h = number(2), skip(0x3A), let m = number(2), h < 24, m < 60 else { return nil }
            hour = h; minute = m
            if skip(0x3A) {
                guard let s = number(2), s < 61 else { return nil }
                second = s
                if skip(0x2E) {
                    var digits = 0
                    while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 {
                        if digits < 6 { micros = micros * 10 + Int(b[i] - 0x30) }
                        digits += 1; i += 1
                    }
                    guard digits > 0 else { return nil }
                    for _ in min(digits, 6)..<6 { micros *= 10 }
                }
            }
        }
        var offset = 0
        if i < b.count {
            if b[i] == 0x5A { i += 1 } // 'Z'
            else if b[i] == 0x2B || b[i] == 0x2D {
                let sign = b[i] == 0x2D ? -1 : 1
                i += 1
                guard let oh = number(2) else { return nil }
                _ = skip(0x3A)
                guard let om = number(2) else { return nil }
                offset = sign * (oh * 3600 + om * 60)
            } else { return nil }
        }
        guard i == b.count else { return nil }
        let days = daysFromCivil(year, month, day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offset)
        return seconds * 1_000_000 + Int64(micros)
    }

    /// EVE's own form, UTC: "2026-01-01T00:00:00.001000+0000".
    public static func format(_ us: Int64) -> String {
        let secs = us >= 0 ? us / 1_000_000 : (us - 999_999) / 1_000_000
        let micros = Int(us - secs * 1_000_000)
        let days = secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400
        let rem = Int(secs - days * 86_400)
        let (y, m, d) = civilFromDays(Int(days))
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(rem / 3600, 2)):\(pad(rem / 60 % 60, 2)):\(pad(rem % 60, 2))"
            + ".\(pad(micros, 6))+0000"
    }

    /// Now, from the wall clock.
    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    static func pad(_ v: Int, _ width: Int) -> String {
        var s = String(v)
        while s.count < width { s = "0" + s }
        return s
    }

    // Howard Hinnant's days-from-civil algorithm (public domain description), proleptic Gregorian.
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

/// Addresses are stored in one canonical text form (inet_ntop's: "2001:db8::20"), so a search
/// for an address matches however the engine or the operator spelled it.
public enum IPText {
    public static func canonical(_ text: String) -> String? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            var buf = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            return inet_ntop(AF_INET, &v4, &buf, socklen_t(buf.count)).map { String(cString: $0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            return inet_ntop(AF_INET6, &v6, &buf, socklen_t(buf.count)).map { String(cString: $0) }
        }
        return nil
    }
}

/// MAC addresses as lower-case "aa:bb:cc:dd:ee:ff" (accepts '-' separators and upper case).
public enum MACText {
    public static func canonical(_ text: String) -> String? {
        let parts = text.lowercased().split(whereSeparator: { $0 == ":" || $0 == "-" })
        guard parts.count == 6, parts.allSatisfy({ $0.count == 2 && UInt8($0, radix: 16) != nil }) else { return nil }
        return parts.joined(separator: ":")
    }
}
