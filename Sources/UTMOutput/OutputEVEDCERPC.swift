import UTMCore
import UTMAppLayer

extension EVEWriter {
    /// Suricata's `dcerpc` event for one transaction (client → server endpoints), field names
    /// as its rust/src/dcerpc/log.rs writes them: `request` / `response` (PDU type names,
    /// `REQUEST_LOST` / `UNREPLIED` when a side was not seen), `req` (`opnum`, `frag_cnt`,
    /// `stub_data_size`) with the `interfaces` bound to the request's context, a bind's
    /// offered `interfaces` (`uuid`, `version`, `ack_result` once answered), `res`
    /// (`frag_cnt`, `stub_data_size`), `call_id`, `rpc_version`.
    public mutating func writeDCERPC(_ p: borrowing DCERPCParser, _ tx: DCERPCTransaction, time: Timestamp, _ e: EVEEndpoints) {
        guard isEnabled(.dcerpc) else { return }
        begin(.dcerpc, time: time, e)
        json.key("dcerpc"); json.beginObject()
        if tx.hasRequest {
            json.key("request"); json.string(DCERPCType.name(tx.requestType))
            if tx.requestType == DCERPCType.request {
                json.key("req"); json.beginObject()
                json.key("opnum"); json.uint(UInt64(tx.opnum))
                json.key("frag_cnt"); json.uint(UInt64(tx.requestFrags))
                json.key("stub_data_size"); json.uint(UInt64(tx.requestStubSize))
                json.endObject()
                dcerpcInterfaces(p, byCall: false, tx)
            } else if tx.requestType == DCERPCType.bind || tx.requestType == DCERPCType.alterContext {
                dcerpcInterfaces(p, byCall: true, tx)
            }
        } else {
            json.key("request"); json.string("REQUEST_LOST")
        }
        if tx.hasResponse {
            json.key("response"); json.string(DCERPCType.name(tx.responseType))
            if tx.responseType == DCERPCType.response {
                json.key("res"); json.beginObject()
                json.key("frag_cnt"); json.uint(UInt64(tx.responseFrags))
                json.key("stub_data_size"); json.uint(UInt64(tx.responseStubSize))
                json.endObject()
            }
        } else {
            json.key("response"); json.string("UNREPLIED")
        }
        json.key("call_id"); json.uint(UInt64(tx.callID))
        json.key("rpc_version"); json.string(decimal: 5, dot: UInt64(tx.minorVersion))
        json.endObject()
        end()
    }

    /// The interfaces of a bind (same call id) or of a request's context (same context id);
    /// no key when there are none.
    mutating func dcerpcInterfaces(_ p: borrowing DCERPCParser, byCall: Bool, _ tx: DCERPCTransaction) {
        var open = false
        var i = 0
        while i < p.interfaces.count {
            let f = p.interfaces[i]
            i += 1
            guard byCall ? f.callID == tx.callID : f.contextID == tx.contextID else { continue }
            if !open { json.key("interfaces"); json.beginArray(); open = true }
            json.beginObject()
            json.key("uuid"); f.uuid.withText { json.string($0) }
            json.key("version"); json.string(decimal: UInt64(f.versionMajor), dot: UInt64(f.versionMinor))
            if f.acked { json.key("ack_result"); json.uint(UInt64(f.result)) }
            json.endObject()
        }
        if open { json.endArray() }
    }
}
