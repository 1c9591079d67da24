import UTMCore
import UTMDecode

/// Names of the category lists of one loaded database, as JSON-ready bytes: built once when the
/// database is loaded, so writing a `web_filter` object copies bytes and builds no `String`.
///
/// Why here and not in UTMWebFilter: the EVE layer must not depend on the filter; the engine
/// fills this table from the policy.
public final class EVECategoryNames: Sendable {
    /// List names ("gambling", "audio-video"), by list id.
    let lists: [[UInt8]]
    /// What `web_filter.category` says for a list: its product group when it has one
    /// ("security", "adult"...), else the list name itself.
    let reported: [[UInt8]]

    public init(lists: [String], reported: [String]) {
        self.lists = lists.map { Array($0.utf8) }
        self.reported = reported.map { Array($0.utf8) }
    }

    public var count: Int { lists.count }
}

/// The `web_filter` object of an http, tls, quic or dns event: what the URL or name is and what
/// the box did about it. A plain value; `categories` is a bit set of list ids (up to 128).
public struct EVEWebFilter: Sendable {
    /// "allowed", "blocked" or "recorded".
    public var action: StaticString
    /// The list that decided (its group is reported as `category`); -1: uncategorised.
    public var category: Int
    public var categoriesLo: UInt64
    public var categoriesHi: UInt64
    public var names: EVECategoryNames

    public init(action: StaticString, category: Int, categoriesLo: UInt64, categoriesHi: UInt64,
                names: EVECategoryNames) {
        self.action = action
        self.category = category
        self.categoriesLo = categoriesLo
        self.categoriesHi = categoriesHi
        self.names = names
    }
}

extension EVEWriter {
    /// `"web_filter": {"category": ..., "categories": [...], "action": ...}` inside the event
    /// being written. Uncategorised names get `category: null` and an empty list, so a reader
    /// can tell "looked up, nothing found" from "not looked up" (no object).
    public mutating func writeWebFilter(_ wf: EVEWebFilter?) {
        guard let wf else { return }
        json.key("web_filter"); json.beginObject()
        json.key("category")
        if wf.category >= 0 && wf.category < wf.names.reported.count {
            wf.names.reported[wf.category].withByteView { json.string($0) }
        } else {
            json.null()
        }
        json.key("categories"); json.beginArray()
        var lo = wf.categoriesLo, hi = wf.categoriesHi
        while lo != 0 || hi != 0 {
            let id: Int
            if lo != 0 {
                id = lo.trailingZeroBitCount
                lo &= lo &- 1
            } else {
                id = 64 + hi.trailingZeroBitCount
                hi &= hi &- 1
            }
            if id < wf.names.lists.count { wf.names.lists[id].withByteView { json.string($0) } }
        }
        json.endArray()
        json.key("action"); json.string(wf.action)
        json.endObject()
    }

    /// Suricata's `drop` event for the packet that got its flow blocked: the packet's IP and
    /// transport header fields as Suricata writes them under `drop`, in the packet's own
    /// direction, plus `reason` (which module decided: "web filter", "app policy"; Suricata
    /// says "rules" for its IPS) and, for the web filter, the `web_filter` object.
    public mutating func writeDrop(_ p: DecodedPacket, reason: StaticString, flowID: UInt64,
                                   appProto: AppProto, webFilter: EVEWebFilter? = nil) {
        guard isEnabled(.drop) else { return }
        let e = EVEEndpoints(flowID: flowID, src: p.src, srcPort: p.srcPort, dst: p.dst, dstPort: p.dstPort,
                             ipProto: p.ipProto, appProto: appProto, srcMAC: p.srcMAC, dstMAC: p.dstMAC)
        begin(.drop, time: p.timestamp, e)
        json.key("drop"); json.beginObject()
        json.key("len"); json.int(p.ipLength)
        if p.ipVersion == 4 {
            json.key("tos"); json.int(Int(p.tos))
            json.key("ttl"); json.int(Int(p.ttl))
            json.key("ipid"); json.uint(UInt64(p.ipID))
        } else {
            json.key("tc"); json.int(Int(p.tos))
            json.key("hoplimit"); json.int(Int(p.ttl))
            json.key("flowlbl"); json.uint(UInt64(p.flowLabel))
        }
        if p.ipProto == IPProto.tcp {
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
            json.key("tcpres"); json.int(0)
            json.key("tcpurgp"); json.int(0)
        } else if p.ipProto == IPProto.udp {
            json.key("udplen"); json.int(p.payload.count &+ 8)
        }
        json.key("reason"); json.string(reason)
        json.endObject()
        writeWebFilter(webFilter)
        end()
    }
}
