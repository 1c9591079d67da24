/// Buffer selection in both syntaxes: Suricata 4 content modifiers (`content:"x"; http_uri;`
/// moves that content into the URI buffer) and sticky buffers (`http.uri; content:"x";` — every
/// following content/pcre/byte_* goes to the buffer until another sticky buffer or `pkt_data`).
enum DetectBuffers {
    /// Suricata 4 content modifiers and the buffer each moves the last content into.
    static let contentModifiers: [(String, BufferID)] = [
        ("http_uri", .httpURI), ("http_raw_uri", .httpRawURI), ("http_host", .httpHost),
        ("http_raw_host", .httpRawHost), ("http_method", .httpMethod), ("http_user_agent", .httpUserAgent),
        ("http_header", .httpHeader), ("http_raw_header", .httpRawHeader), ("http_cookie", .httpCookie),
        ("http_client_body", .httpClientBody), ("http_server_body", .httpServerBody),
        ("http_stat_code", .httpStatCode), ("http_stat_msg", .httpStatMsg),
    ]

    /// Sticky-buffer keywords: the modern dotted names and the older underscore ones.
    static let stickyBuffers: [(String, BufferID)] = [
        ("http.uri", .httpURI), ("http.uri.raw", .httpRawURI), ("http.host", .httpHost),
        ("http.host.raw", .httpRawHost), ("http.method", .httpMethod), ("http.user_agent", .httpUserAgent),
        ("http.header", .httpHeader), ("http.header.raw", .httpRawHeader), ("http.cookie", .httpCookie),
        ("http.request_body", .httpClientBody), ("http.response_body", .httpServerBody),
        ("http.stat_code", .httpStatCode), ("http.stat_msg", .httpStatMsg),
        ("http.header_names", .httpHeaderNames), ("http_header_names", .httpHeaderNames),
        ("http.accept", .httpAccept), ("http_accept", .httpAccept),
        ("http.accept_enc", .httpAcceptEnc), ("http_accept_enc", .httpAcceptEnc),
        ("http.accept_lang", .httpAcceptLang), ("http_accept_lang", .httpAcceptLang),
        ("http.connection", .httpConnection), ("http_connection", .httpConnection),
        ("http.content_len", .httpContentLen), ("http_content_len", .httpContentLen),
        ("http.content_type", .httpContentType), ("http_content_type", .httpContentType),
        ("http.referer", .httpReferer), ("http_referer", .httpReferer),
        ("http.request_line", .httpRequestLine), ("http_request_line", .httpRequestLine),
        ("http.response_line", .httpResponseLine), ("http_response_line", .httpResponseLine),
        ("http.start", .httpStart), ("http_start", .httpStart),
        ("http.protocol", .httpProtocol), ("http_protocol", .httpProtocol),
        ("file_data", .fileData), ("file.data", .fileData),
        ("tls.sni", .tlsSNI), ("tls_sni", .tlsSNI),
        ("tls.cert_subject", .tlsCertSubject), ("tls_cert_subject", .tlsCertSubject),
        ("tls.cert_issuer", .tlsCertIssuer), ("tls_cert_issuer", .tlsCertIssuer),
        ("tls.cert_serial", .tlsCertSerial), ("tls_cert_serial", .tlsCertSerial),
        ("tls.cert_fingerprint", .tlsCertFingerprint), ("tls_cert_fingerprint", .tlsCertFingerprint),
        ("ja3.hash", .ja3Hash), ("ja3_hash", .ja3Hash), ("ja3.string", .ja3String), ("ja3_string", .ja3String),
        ("ja3s.hash", .ja3sHash), ("ja3s_hash", .ja3sHash), ("ja3s.string", .ja3sString), ("ja3s_string", .ja3sString),
        ("dns.query", .dnsQuery), ("dns_query", .dnsQuery),
    ]

    static func modifier(_ buffer: BufferID, _ keyword: String) -> KeywordParser {
        { (b: inout SignatureBuilder, v: Substring?) throws(RuleError) in
            try KW.noValue(v, keyword)
            try b.moveLastContent(to: buffer, keyword: keyword)
        }
    }

    static func sticky(_ buffer: BufferID, _ keyword: String) -> KeywordParser {
        { (b: inout SignatureBuilder, v: Substring?) throws(RuleError) in
            try KW.noValue(v, keyword)
            b.sticky = buffer
        }
    }

    /// `pkt_data`: back to the packet payload.
    @Sendable static func pktData(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "pkt_data")
        b.sticky = nil
    }
}
