/// Rule metadata keywords: msg, sid, rev, gid, classtype, priority, metadata, reference, target.
/// None of them affects matching; they feed alerts and reports.
enum DetectMetadata {
    @Sendable static func msg(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        b.signature.msg = KW.unescape(try KW.unquote(try KW.require(v, "msg")))
    }

    @Sendable static func sid(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let n = try KW.int(try KW.require(v, "sid"), "sid", min: 1, max: Int(UInt32.max))
        b.signature.sid = UInt32(n)
        b.sawSid = true
    }

    @Sendable static func rev(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        b.signature.rev = UInt32(try KW.int(try KW.require(v, "rev"), "rev", min: 0, max: Int(UInt32.max)))
    }

    @Sendable static func gid(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        b.signature.gid = UInt32(try KW.int(try KW.require(v, "gid"), "gid", min: 0, max: Int(UInt32.max)))
    }

    @Sendable static func classtype(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let name = String(try KW.require(v, "classtype").trimmingSpaces)
        guard let c = b.classifications[name] else { throw .invalid("unknown classtype '\(name)'") }
        b.signature.classtype = c
        if !b.explicitPriority { b.signature.priority = c.priority }
    }

    @Sendable static func priority(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        b.signature.priority = try KW.int(try KW.require(v, "priority"), "priority", min: 1, max: 255)
        b.explicitPriority = true
    }

    @Sendable static func metadata(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        for item in KW.commas(try KW.require(v, "metadata")) where !item.isEmpty {
            if let sp = item.utf8.firstIndex(of: 0x20) {
                b.signature.metadata.append((String(Substring(item.utf8[..<sp])),
                                             String(Substring(item.utf8[item.utf8.index(after: sp)...]).trimmingSpaces)))
            } else {
                b.signature.metadata.append((String(item), ""))
            }
        }
    }

    @Sendable static func reference(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        b.signature.references.append(String(try KW.require(v, "reference")))
    }

    @Sendable static func target(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        switch try KW.require(v, "target").trimmingSpaces {
        case "src_ip": b.signature.target = .source
        case "dest_ip": b.signature.target = .destination
        case let other: throw .invalid("target: '\(other)' is not src_ip or dest_ip")
        }
    }

    @Sendable static func noalert(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "noalert")
        b.signature.noalert = true
    }
}
