import UTMCore
import UTMAppLayer

extension EVEWriter {
    /// Suricata's `http` event for one transaction, client → server.
    public mutating func writeHTTP(_ tx: HTTPTransaction, parser: HTTPParser, time: Timestamp,
                                   _ e: EVEEndpoints, webFilter: EVEWebFilter? = nil) {
        guard isEnabled(.http) else { return }
        begin(.http, time: time, e)
        json.key("http"); json.beginObject()
        writeHTTPFields(tx, parser: parser)
        json.endObject()
        writeWebFilter(webFilter)
        end()
    }

    /// The fields of Suricata's `http` object (the event's, and an HTTP alert's metadata).
    mutating func writeHTTPFields(_ tx: HTTPTransaction, parser: HTTPParser) {
        parser.withField(tx.host) { field("hostname", $0) }
        if let port = tx.hostPort { json.key("http_port"); json.int(port) }
        parser.withField(tx.uri) { field("url", $0) }
        parser.withField(tx.userAgent) { field("http_user_agent", $0) }
        parser.withField(tx.responseContentType) { field("http_content_type", $0) }
        parser.withField(tx.referer) { field("http_refer", $0) }
        parser.withField(tx.method) { field("http_method", $0) }
        parser.withField(tx.protocolName) { field("protocol", $0) }
        if tx.status > 0 { json.key("status"); json.int(tx.status) }
        parser.withField(tx.location) { field("redirect", $0) }
        json.key("length"); json.int(tx.responseBodyBytes)
        if tx.requestBodyBytes > 0 { json.key("request_body_length"); json.int(tx.requestBodyBytes) }
    }
}
