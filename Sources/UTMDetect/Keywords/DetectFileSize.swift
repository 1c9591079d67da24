/// `filesize:N`, `<N`, `>N`, `<=N`, `>=N`, `!N`, `N<>M` / `N-M` (exclusive), with an optional
/// unit on each number (`KB`, `MB`, `GB`: 1024-based, as Suricata's `ParseSizeStringU64`).
/// Judged on the complete file (Suricata 7's DetectFilesizeMatch: a closed file compares its
/// size; a truncated one only `>`/`>=` on what was seen; a file still open never matches).
enum DetectFileSize {
    @Sendable static func filesize(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let text = try KW.require(v, "filesize")
        let plain = try expandUnits(KW.optionalQuotes(text))
        let m = try KW.intMatch(Substring(plain), "filesize")
        guard m.a >= 0, m.b >= 0 else { throw .invalid("filesize: '\(text.trimmingSpaces)' is negative") }
        b.signature.headerMatches.append(.fileSize(m))
    }

    /// Replaces `<digits><blanks?>KB|MB|GB` (any case) by the byte count; an overflow or a
    /// unit without a number is an error.
    static func expandUnits(_ s: Substring) throws(RuleError) -> String {
        let u = Array(s.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < u.count {
            guard u[i] >= 0x30 && u[i] <= 0x39 else { out.append(u[i]); i += 1; continue }
            var j = i
            var n = 0
            while j < u.count && u[j] >= 0x30 && u[j] <= 0x39 {
                let (m, o1) = n.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int(u[j] - 0x30))
                if o1 || o2 { throw .invalid("filesize: number too large") }
                n = a
                j += 1
            }
            var k = j
            while k < u.count && u[k] == 0x20 { k += 1 }
            var shift = 0
            if k + 1 < u.count && (u[k + 1] | 0x20) == 0x62 {
                switch u[k] | 0x20 {
                case 0x6B: shift = 10
                case 0x6D: shift = 20
                case 0x67: shift = 30
                default: break
                }
            }
            if shift > 0 {
                guard n <= Int.max >> shift else { throw .invalid("filesize: number too large") }
                n <<= shift
                j = k + 2
            }
            out += Array(String(n).utf8)
            i = j
        }
        return String(decoding: out, as: UTF8.self)
    }
}
