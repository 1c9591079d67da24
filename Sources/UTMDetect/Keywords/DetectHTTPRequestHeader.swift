/// `http.request_header` (Suricata 6.0+): sticky multi-buffer, one instance per request header
/// as "name: value" (HTTP/1 as sent; HTTP/2 with its pseudo-headers, `:method: GET`). A rule's
/// list matches when it matches within one header; relative matches and `startswith`/`bsize`
/// are per header (the verifier splits the CRLF-joined instances, `BufferID.isMultiLine`).
enum DetectHTTPRequestHeader {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "http.request_header")
        b.sticky = .httpRequestHeader
    }
}
