import UTMCore

/// Suricata's EVE `anomaly` event (output-json-anomaly.c): one record per decoder, stream or
/// app-layer anomaly, so an operator sees why a download broke or what a host is sending
/// without writing a rule for every event name.
///
/// `anomaly.type` is `decode`, `stream` or `applayer`; `anomaly.event` the name as Suricata
/// logs it: decoder events with their `decoder.` prefix, stream events with `stream.`,
/// app-layer events by their parser's table name (upper case for the protocols Suricata
/// parses in C — HTTP/1, TLS and protocol detection — lower case for its Rust parsers) with
/// `app_proto` and `layer` (`proto_detect` for protocol detection, `proto_parser` for a
/// parser). Which anomalies are logged, and how often, is the engine's choice
/// (EngineAnomalyLog.swift).
public enum EVEAnomalyType: Sendable {
    case decode, stream, applayer
}

extension EVEWriter {
    /// A decoder or stream anomaly of a packet. `e`: the packet's own direction (Suricata logs
    /// anomalies as LOG_DIR_PACKET), flow id 0 for a packet without a flow; `hasIP`: false
    /// when the packet's IP header never decoded (then no addresses, as Suricata omits them).
    public mutating func writePacketAnomaly(_ type: EVEAnomalyType, name: StaticString, time: Timestamp,
                                            _ e: EVEEndpoints, hasIP: Bool) {
        guard isEnabled(.anomaly) else { return }
        if hasIP { begin(.anomaly, time: time, e) } else { beginGlobal(.anomaly, time: time) }
        json.key("anomaly"); json.beginObject()
        json.key("type"); json.string(type == .stream ? "stream" : "decode" as StaticString)
        json.key("event")
        // Our table keeps Mimamori's own `decoder.link_invalid` with its prefix already.
        if type == .stream {
            json.string("stream.", name, uppercase: false)
        } else if name.hasPrefix("decoder.") {
            json.string("", name, uppercase: false)
        } else {
            json.string("decoder.", name, uppercase: false)
        }
        json.endObject()
        end()
    }

    /// An app-layer anomaly: `name` from the parser's table, `uppercase` for Suricata's C
    /// parsers' spelling; `detection`: raised by protocol detection (`layer` proto_detect, no
    /// transaction); `txID`: the transaction when the protocol has one per flow (TLS, SSH).
    public mutating func writeAppAnomaly(name: StaticString, uppercase: Bool, appProto: AppProto, detection: Bool,
                                         txID: UInt64?, time: Timestamp, _ e: EVEEndpoints) {
        guard isEnabled(.anomaly) else { return }
        begin(.anomaly, time: time, e)
        if let txID { json.key("tx_id"); json.uint(txID) }
        json.key("anomaly"); json.beginObject()
        json.key("app_proto")
        switch appProto {
        case .unknown: json.string("unknown" as StaticString)
        case .failed: json.string("failed" as StaticString)
        default: json.string(appProto.eveName)
        }
        json.key("type"); json.string("applayer" as StaticString)
        json.key("event"); json.string("", name, uppercase: uppercase)
        json.key("layer"); json.string(detection ? "proto_detect" : "proto_parser" as StaticString)
        json.endObject()
        end()
    }
}

extension StaticString {
    /// ASCII prefix test on a static table name (no `String`).
    func hasPrefix(_ p: StaticString) -> Bool {
        let n = p.utf8CodeUnitCount
        guard n <= utf8CodeUnitCount else { return false }
        return withUTF8Buffer { a in
            p.withUTF8Buffer { b in
                var i = 0
                while i < n { if a[i] != b[i] { return false }; i &+= 1 }
                return true
            }
        }
    }
}
