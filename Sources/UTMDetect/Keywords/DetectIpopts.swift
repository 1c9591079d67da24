import UTMCore

/// `ipopts:<name>` — an IPv4 option is present: rr, eol, nop, ts, sec, esec, lsrr, ssrr, satid,
/// or any. `optionFlags` reads the options of a header for `PacketFacts.ipOptions`.
enum DetectIpopts {
    static let names: [(String, UInt16)] = [
        ("rr", IPOptionFlags.rr), ("eol", IPOptionFlags.eol), ("nop", IPOptionFlags.nop),
        ("ts", IPOptionFlags.ts), ("sec", IPOptionFlags.sec), ("esec", IPOptionFlags.esec),
        ("lsrr", IPOptionFlags.lsrr), ("ssrr", IPOptionFlags.ssrr), ("satid", IPOptionFlags.satid),
        ("any", IPOptionFlags.any),
    ]

    @Sendable static func ipopts(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let name = try KW.require(v, "ipopts").trimmingSpaces
        guard let flag = names.first(where: { $0.0 == name })?.1 else {
            throw .invalid("ipopts: unknown option '\(name)' (rr eol nop ts sec esec lsrr ssrr satid any)")
        }
        b.signature.headerMatches.append(.ipOptions(flag))
    }
}

extension IPOptionFlags {
    /// The options present in an IPv4 header of `headerLength` bytes (`ip` starts at the
    /// header): one bounded walk, stopping at EOL or at a length that does not fit (the
    /// options read up to there count). No allocation: called per packet with options.
    public static func present(in ip: ByteView, headerLength: Int) -> UInt16 {
        var flags: UInt16 = 0
        var i = 20
        let end = Swift.min(headerLength, ip.count)
        while i < end {
            guard let kind = ip.u8(i) else { break }
            switch kind {
            case 0: flags |= eol; return flags
            case 1: flags |= nop; i &+= 1; continue
            case 7: flags |= rr
            case 68: flags |= ts
            case 130: flags |= sec
            case 133: flags |= esec
            case 131: flags |= lsrr
            case 137: flags |= ssrr
            case 136: flags |= satid
            default: flags |= other
            }
            guard let length = ip.u8(i &+ 1), length >= 2 else { break }
            i &+= Int(length)
        }
        return flags
    }
}
