import UTMCore
import UTMAppLayer

/// Names Suricata gives to DNS record types.
func dnsTypeName(_ t: UInt16) -> StaticString? {
    switch t {
    case 1: return "A"
    case 2: return "NS"
    case 5: return "CNAME"
    case 6: return "SOA"
    case 10: return "NULL"
    case 12: return "PTR"
    case 13: return "HINFO"
    case 15: return "MX"
    case 16: return "TXT"
    case 28: return "AAAA"
    case 33: return "SRV"
    case 35: return "NAPTR"
    case 41: return "OPT"
    case 43: return "DS"
    case 46: return "RRSIG"
    case 47: return "NSEC"
    case 48: return "DNSKEY"
    case 50: return "NSEC3"
    case 64: return "SVCB"
    case 65: return "HTTPS"
    case 99: return "SPF"
    case 251: return "IXFR"
    case 252: return "AXFR"
    case 255: return "ANY"
    case 257: return "CAA"
    default: return nil
    }
}

func dnsRcodeName(_ r: UInt8) -> StaticString {
    switch r {
    case 0: return "NOERROR"
    case 1: return "FORMERR"
    case 2: return "SERVFAIL"
    case 3: return "NXDOMAIN"
    case 4: return "NOTIMP"
    case 5: return "REFUSED"
    case 6: return "YXDOMAIN"
    case 7: return "YXRRSET"
    case 8: return "NXRRSET"
    case 9: return "NOTAUTH"
    case 10: return "NOTZONE"
    default: return "UNKNOWN"
    }
}

extension EVEWriter {
    /// One `dns` event per message, in the packet's direction. Carries both Suricata 7's
    /// per-event `type`/`rrname`/`rrtype` (first question) and the `queries`/`answers` arrays
    /// of newer versions, so tools written for either read it.
    public mutating func writeDNS(_ parser: DNSParser, time: Timestamp, _ e: EVEEndpoints,
                                  webFilter: EVEWebFilter? = nil) {
        guard isEnabled(.dns) else { return }
        let m = parser.message
        begin(.dns, time: time, e)
        json.key("dns"); json.beginObject()
        if m.flags.qr { json.key("version"); json.int(2) }
        // StaticString, not String: the String overload measured 500 instructions a call.
        json.key("type"); json.string(m.flags.qr ? ("answer" as StaticString) : "query")
        json.key("id"); json.int(Int(m.id))
        if m.flags.qr {
            json.key("flags"); hex16(m.flags.raw)
            json.key("qr"); json.bool(true)
            if m.flags.aa { json.key("aa"); json.bool(true) }
            if m.flags.tc { json.key("tc"); json.bool(true) }
            if m.flags.rd { json.key("rd"); json.bool(true) }
            if m.flags.ra { json.key("ra"); json.bool(true) }
        }
        json.key("opcode"); json.int(Int(m.flags.opcode))
        if let q = m.question(0) {
            parser.withField(q.name) { v in json.key("rrname"); json.string(v) }
            json.key("rrtype"); rrtype(q.type)
        }
        if m.flags.qr { json.key("rcode"); json.string(dnsRcodeName(m.flags.rcode)) }
        if m.questionCount > 0 {
            json.key("queries"); json.beginArray()
            for i in 0..<m.questionCount {
                guard let q = m.question(i) else { continue }
                json.beginObject()
                parser.withField(q.name) { v in json.key("rrname"); json.string(v) }
                json.key("rrtype"); rrtype(q.type)
                json.endObject()
            }
            json.endArray()
        }
        var wroteAnswers = false
        for i in 0..<m.answerCount {
            guard let a = m.answer(i), a.section == DNSSection.answer else { continue }
            if !wroteAnswers { json.key("answers"); json.beginArray(); wroteAnswers = true }
            json.beginObject()
            parser.withField(a.name) { v in json.key("rrname"); json.string(v) }
            json.key("rrtype"); rrtype(a.type)
            json.key("ttl"); json.uint(UInt64(a.ttl))
            parser.withField(a.data) { field("rdata", $0) }
            json.endObject()
        }
        if wroteAnswers { json.endArray() }
        json.endObject()
        writeWebFilter(webFilter)
        end()
    }

    mutating func rrtype(_ t: UInt16) {
        if let name = dnsTypeName(t) { json.string(name) } else { json.string("TYPE", decimal: UInt64(t)) }
    }

    mutating func hex16(_ v: UInt16) { json.stringHex(UInt64(v), width: 4) }
}
