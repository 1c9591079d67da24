/// `threshold:type limit|threshold|both,track by_src|by_dst|by_rule|by_both,count N,seconds T`
/// and `detection_filter:track ...,count N,seconds T`. Parsed and kept on the signature; the
/// alert stage applies them.
enum DetectThreshold {
    @Sendable static func threshold(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        if b.signature.threshold != nil { throw .invalid("threshold given twice") }
        b.signature.threshold = try parse(try KW.require(v, "threshold"), keyword: "threshold", needsType: true)
    }

    @Sendable static func detectionFilter(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        if b.signature.detectionFilter != nil { throw .invalid("detection_filter given twice") }
        b.signature.detectionFilter = try parse(try KW.require(v, "detection_filter"), keyword: "detection_filter", needsType: false)
    }

    static func parse(_ v: Substring, keyword: String, needsType: Bool) throws(RuleError) -> ThresholdSpec {
        var kind: ThresholdSpec.Kind? = needsType ? nil : .detectionFilter
        var track: ThresholdSpec.Track?
        var count: Int?, seconds: Int?
        for item in KW.commas(v) {
            let words = item.split(separator: " ", omittingEmptySubsequences: true)
            guard words.count == 2 else { throw .invalid("\(keyword): expected 'name value', got '\(item)'") }
            switch words[0] {
            case "type" where needsType:
                switch words[1] {
                case "limit": kind = .limit
                case "threshold": kind = .threshold
                case "both": kind = .both
                default: throw .invalid("\(keyword): unknown type '\(words[1])'")
                }
            case "track":
                switch words[1] {
                case "by_src": track = .bySource
                case "by_dst": track = .byDestination
                case "by_rule": track = .byRule
                case "by_both": track = .byBoth
                default: throw .invalid("\(keyword): unknown track '\(words[1])'")
                }
            case "count": count = try KW.int(words[1], keyword, min: 1, max: Int(UInt32.max))
            case "seconds": seconds = try KW.int(words[1], keyword, min: 1, max: Int(UInt32.max))
            default: throw .invalid("\(keyword): unknown option '\(words[0])'")
            }
        }
        guard let kind, let track, let count, let seconds else {
            throw .invalid("\(keyword): needs \(needsType ? "type, " : "")track, count and seconds")
        }
        return ThresholdSpec(kind: kind, track: track, count: count, seconds: seconds)
    }
}
