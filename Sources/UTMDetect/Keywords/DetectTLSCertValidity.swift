import UTMCore

/// `tls_cert_notbefore` / `tls_cert_notafter` (`[<|>]DATE` or `DATE<>DATE`) and the option-less
/// `tls_cert_expired` / `tls_cert_valid` (Suricata 4+): the server leaf certificate's validity
/// times, tested with its Certificate message (TLS phase 3). DATE is Unix seconds (all digits,
/// so "2015" is a second of 1970, as in Suricata) or `YYYY-MM[-DD[( |T)HH[:MM[:SS]]]]` in UTC.
/// `<` and `>` include the date; `expired` is packet time after notAfter, `valid` not after it
/// (Suricata tests only notAfter for both). Makes the rule a TLS rule.
enum DetectTLSCertValidity {
    static func dated(_ field: TLSCertValidity.Field, _ keyword: String) -> KeywordParser {
        { (b: inout SignatureBuilder, v: Substring?) throws(RuleError) in
            let t = try KW.require(v, keyword).trimmingSpaces
            var test: TLSCertValidity
            if let i = t.indices.first(where: { t[$0] == "<" && t.index(after: $0) < t.endIndex && t[t.index(after: $0)] == ">" }) {
                guard let a = date(t[..<i]), let c = date(t[t.index(i, offsetBy: 2)...]) else {
                    throw .invalid("\(keyword): '\(t)' is not DATE<>DATE")
                }
                guard c > a else { throw .invalid("\(keyword): the range's second date must be after the first") }
                test = TLSCertValidity(field: field, mode: .range, a: a, b: c)
            } else {
                var rest = Substring(t)
                var mode = TLSCertValidity.Mode.equal
                if rest.hasPrefix("<") { mode = .atMost; rest = rest.dropFirst() }
                else if rest.hasPrefix(">") { mode = .atLeast; rest = rest.dropFirst() }
                guard let a = date(rest) else { throw .invalid("\(keyword): '\(t)' is not a date (Unix seconds or YYYY-MM-DD[THH:MM:SS])") }
                test = TLSCertValidity(field: field, mode: mode, a: a)
            }
            try b.requireApp(.tls, keyword: keyword)
            b.signature.headerMatches.append(.tlsCertValidity(test))
        }
    }

    static func state(_ mode: TLSCertValidity.Mode, _ keyword: String) -> KeywordParser {
        { (b: inout SignatureBuilder, v: Substring?) throws(RuleError) in
            try KW.noValue(v, keyword)
            try b.requireApp(.tls, keyword: keyword)
            b.signature.headerMatches.append(.tlsCertValidity(TLSCertValidity(field: .notAfter, mode: mode)))
        }
    }

    /// Unix seconds, or an ISO 8601 date / date-time in UTC; nil otherwise.
    static func date(_ text: Substring) -> Int64? {
        let s = Array(text.trimmingSpaces.utf8)
        guard !s.isEmpty, s.count <= 19 else { return nil }
        if s.allSatisfy({ $0 >= 48 && $0 <= 57 }) { return Int64(String(decoding: s, as: UTF8.self)) }
        func num(_ from: Int, _ n: Int) -> Int? {
            guard from + n <= s.count else { return nil }
            var v = 0
            for i in from ..< from + n {
                guard s[i] >= 48 && s[i] <= 57 else { return nil }
                v = v * 10 + Int(s[i] - 48)
            }
            return v
        }
        // YYYY-MM, then -DD, then ( |T)HH, :MM, :SS: each part needs the one before.
        guard s.count >= 7, let year = num(0, 4), s[4] == 45, let month = num(5, 2) else { return nil }
        var day = 1, hour = 0, minute = 0, second = 0
        let lengths = [7, 10, 13, 16, 19]
        guard lengths.contains(s.count) else { return nil }
        if s.count >= 10 { guard s[7] == 45, let d = num(8, 2) else { return nil }; day = d }
        if s.count >= 13 { guard s[10] == 32 || s[10] == 84, let h = num(11, 2) else { return nil }; hour = h }
        if s.count >= 16 { guard s[13] == 58, let m = num(14, 2) else { return nil }; minute = m }
        if s.count >= 19 { guard s[16] == 58, let c = num(17, 2) else { return nil }; second = c }
        return CivilTime.seconds(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    }
}
