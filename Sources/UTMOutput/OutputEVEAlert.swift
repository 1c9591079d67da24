import UTMCore
import UTMDecode
import UTMFlow
import UTMAppLayer

/// What an alert event says about the rule, lent by the detection engine for one call.
public struct EVEAlertRule {
    public var gid: UInt32
    public var sid: UInt32
    public var rev: UInt32
    public var msg: ByteView
    /// The classtype description; empty when the rule has none.
    public var category: ByteView
    /// Suricata's priority (`alert.severity`).
    public var severity: Int
    /// The box's ★ scale: 3, 2 or 1.
    public var productSeverity: Int
    /// Pre-rendered `alert.metadata` object; empty when none.
    public var metadataJSON: ByteView
    /// The packet was dropped or rejected because of this rule.
    public var blocked: Bool

    public init(gid: UInt32, sid: UInt32, rev: UInt32, msg: ByteView, category: ByteView, severity: Int,
                productSeverity: Int, metadataJSON: ByteView, blocked: Bool) {
        self.gid = gid; self.sid = sid; self.rev = rev; self.msg = msg; self.category = category
        self.severity = severity; self.productSeverity = productSeverity
        self.metadataJSON = metadataJSON; self.blocked = blocked
    }
}

/// The DNS query an alert of a `dns.query` rule matched (its `dns` object).
public struct EVEAlertDNS {
    public var id: UInt16
    public var rrname: ByteView
    public var rrtype: UInt16
    public init(id: UInt16, rrname: ByteView, rrtype: UInt16) { self.id = id; self.rrname = rrname; self.rrtype = rrtype }
}

extension EVEWriter {
    /// Suricata's `alert` event, plus `alert.product_severity`, with the flow counters so far;
    /// `tls`: the flow's TLS transaction when the alert is tied to it (its `tls` object);
    /// `http`: the HTTP/1 transaction an HTTP rule matched on (its `http` object, as
    /// Suricata's default `metadata` logs it), so the report says which site and URL;
    /// `dns`: the query a DNS rule matched (Suricata 7's `dns.query` list of one);
    /// `http2`: an HTTP/2 stream an HTTP rule matched (its `http` object, without header lists).
    public mutating func writeAlert(_ rule: EVEAlertRule, time: Timestamp, _ e: EVEEndpoints, flow: Flow?,
                                    tls: TLSParser? = nil, http: (tx: HTTPTransaction, parser: HTTPParser)? = nil,
                                    dns: EVEAlertDNS? = nil, http2: (parser: HTTP2Parser, stream: Int)? = nil) {
        guard isEnabled(.alert) else { return }
        begin(.alert, time: time, e)
        json.key("alert"); json.beginObject()
        json.key("action"); json.string(rule.blocked ? "blocked" : "allowed")
        json.key("gid"); json.uint(UInt64(rule.gid))
        json.key("signature_id"); json.uint(UInt64(rule.sid))
        json.key("rev"); json.uint(UInt64(rule.rev))
        json.key("signature"); json.string(rule.msg)
        json.key("category"); json.string(rule.category)
        json.key("severity"); json.int(rule.severity)
        if !rule.metadataJSON.isEmpty { json.key("metadata"); json.rawJSONValue(rule.metadataJSON) }
        json.key("product_severity"); json.int(rule.productSeverity)
        json.endObject()
        if let flow {
            json.key("flow"); json.beginObject()
            json.key("pkts_toserver"); json.uint(flow.packets.0)
            json.key("pkts_toclient"); json.uint(flow.packets.1)
            json.key("bytes_toserver"); json.uint(flow.bytes.0)
            json.key("bytes_toclient"); json.uint(flow.bytes.1)
            json.key("start"); json.timestamp(flow.firstSeen)
            json.endObject()
        }
        if let tls {
            json.key("tls"); json.beginObject()
            writeHelloFields(tls, versionFromServer: true)
            json.endObject()
        }
        if let http {
            json.key("http"); json.beginObject()
            writeHTTPFields(http.tx, parser: http.parser)
            json.endObject()
        }
        if let http2 {
            json.key("http"); json.beginObject()
            writeHTTP2Fields(http2.parser, stream: http2.stream)
            json.endObject()
        }
        if let dns {
            json.key("dns"); json.beginObject()
            json.key("query"); json.beginArray()
            json.beginObject()
            json.key("type"); json.string("query" as StaticString)
            json.key("id"); json.int(Int(dns.id))
            json.key("rrname"); json.string(dns.rrname)
            json.key("rrtype"); rrtype(dns.rrtype)
            json.endObject()
            json.endArray()
            json.endObject()
        }
        end()
    }

    /// Suricata's `drop` event for a packet the IPS dropped or rejected.
    public mutating func writeDrop(_ p: DecodedPacket, _ e: EVEEndpoints, reason: StaticString) {
        guard isEnabled(.drop) else { return }
        begin(.drop, time: p.timestamp, e)
        json.key("drop"); json.beginObject()
        json.key("len"); json.int(p.ipLength)
        json.key("tos"); json.int(Int(p.tos))
        json.key("ttl"); json.int(Int(p.ttl))
        json.key("ipid"); json.uint(UInt64(p.ipID))
        if p.isTCP {
            json.key("tcpseq"); json.uint(UInt64(p.seq))
            json.key("tcpack"); json.uint(UInt64(p.ack))
            json.key("tcpwin"); json.int(Int(p.window))
            let f = p.tcpFlags
            json.key("syn"); json.bool(f.contains(.syn))
            json.key("ack"); json.bool(f.contains(.ack))
            json.key("psh"); json.bool(f.contains(.psh))
            json.key("rst"); json.bool(f.contains(.rst))
            json.key("urg"); json.bool(f.contains(.urg))
            json.key("fin"); json.bool(f.contains(.fin))
        }
        json.key("reason"); json.string(reason)
        json.endObject()
        end()
    }
}
