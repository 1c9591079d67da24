import UTMCore
import UTMAppLayer

extension EVEWriter {
    /// Suricata's `sip` event for one SIP message, in the packet's own direction: a request
    /// gives `method`, `uri`, `version`, `request_line`; a response `version`, `code`,
    /// `reason`, `response_line` (Suricata's field names, so its dashboards read ours). The
    /// dialog headers (From, To, Call-ID, CSeq, User-Agent) are added under the same object:
    /// they are what an operator looks for when a phone misbehaves.
    public mutating func writeSIP(_ m: SIPMessage, datagram: ByteView, time: Timestamp, _ e: EVEEndpoints) {
        guard isEnabled(.sip) else { return }
        begin(.sip, time: time, e)
        json.key("sip"); json.beginObject()
        if m.isRequest {
            field("method", m.field(m.method, in: datagram))
            field("uri", m.field(m.uri, in: datagram))
            field("version", m.field(m.version, in: datagram))
            field("request_line", m.field(m.startLine, in: datagram))
        } else {
            field("version", m.field(m.version, in: datagram))
            field("code", m.field(m.code, in: datagram))
            field("reason", m.field(m.reason, in: datagram))
            field("response_line", m.field(m.startLine, in: datagram))
        }
        field("from", m.field(m.from, in: datagram))
        field("to", m.field(m.to, in: datagram))
        field("call_id", m.field(m.callID, in: datagram))
        field("cseq", m.field(m.cseq, in: datagram))
        field("user_agent", m.field(m.userAgent, in: datagram))
        field("content_type", m.field(m.contentType, in: datagram))
        json.endObject()
        end()
    }
}
