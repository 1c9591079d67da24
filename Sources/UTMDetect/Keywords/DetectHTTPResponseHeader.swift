/// `http.response_header` (Suricata 6.0+): sticky multi-buffer, one instance per response
/// header as "name: value" (HTTP/2 with `:status: 200`); matched per header like
/// `http.request_header`, inspected with the response.
enum DetectHTTPResponseHeader {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "http.response_header")
        b.sticky = .httpResponseHeader
    }
}
