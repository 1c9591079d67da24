import UTMCore

/// One file seen crossing the box, lent for one `writeFileinfo` call. Plain values and views,
/// so this module needs nothing from the antivirus: the engine fills it from its scan result.
public struct EVEFile {
    /// File name (Content-Disposition, or the last URL path segment); empty when unknown.
    public var filename: ByteView = .empty
    /// A short type name (`fileinfo.magic`), e.g. "PE executable".
    public var magic: StaticString = "data"
    public var size: Int64 = 0
    /// The transfer ended early, was partial (206 / Content-Range) or went past the scan limit.
    public var truncated = false
    /// Lost bytes in the transfer (TCP gap).
    public var gaps = false
    /// Raw digests (16 and 32 bytes); empty when not computed.
    public var md5: ByteView = .empty
    public var sha256: ByteView = .empty
    /// Signature name of a detection; nil for a clean file.
    public var virus: String? = nil
    /// HTTP only: the transaction's host and URL (Suricata logs them with the file).
    public var hostname: ByteView = .empty
    public var url: ByteView = .empty
    /// `app_proto` for mail flows, whose `AppProto` the engine does not parse ("smtp", "pop3").
    public var mailProto: StaticString? = nil
    /// Position of the file in its flow (Suricata's `fileinfo.file_id`).
    public var fileID: UInt64 = 0

    public init() {}
}

extension EVEWriter {
    /// Suricata's `fileinfo` event: `{"fileinfo": {"filename", "magic", "state", "stored",
    /// "md5", "sha256", "size", "gaps", "file_id"}}` plus `virus` (the signature name or null),
    /// and `http.hostname`/`http.url` for HTTP files as Suricata adds them.
    public mutating func writeFileinfo(_ f: EVEFile, time: Timestamp, _ e: EVEEndpoints) {
        guard isEnabled(.fileinfo) else { return }
        begin(.fileinfo, time: time, e)
        if let p = f.mailProto { json.key("app_proto"); json.string(p) }
        if !f.hostname.isEmpty || !f.url.isEmpty {
            json.key("http"); json.beginObject()
            field("hostname", f.hostname)
            field("url", f.url)
            json.endObject()
        }
        json.key("fileinfo"); json.beginObject()
        json.key("filename"); json.string(f.filename)
        json.key("magic"); json.string(f.magic)
        json.key("gaps"); json.bool(f.gaps)
        json.key("state"); json.string(f.truncated ? "TRUNCATED" : "CLOSED")
        if !f.md5.isEmpty { json.key("md5"); json.hex(f.md5) }
        if !f.sha256.isEmpty { json.key("sha256"); json.hex(f.sha256) }
        json.key("stored"); json.bool(false)
        json.key("size"); json.int(f.size)
        json.key("file_id"); json.uint(f.fileID)
        json.key("virus")
        if let v = f.virus { json.string(v) } else { json.null() }
        json.endObject()
        end()
    }

    /// The `alert` event of an antivirus detection, with the field names of Suricata's alert
    /// (and of the IPS's alerts): `alert.action` "blocked" (the transfer was cut) or "allowed"
    /// (found only after delivery, e.g. a body that ended with the connection), `signature` =
    /// the virus name, `category` "antivirus", Suricata `severity` 1 and `product_severity` 3
    /// (★★★, [000 3.3(1)]). gid 1, signature_id 0: AV signatures have no Suricata id. The file
    /// name and URL ride along in `fileinfo`/`http`, never file contents [000 2.1].
    public mutating func writeAntivirusAlert(virus: String, blocked: Bool, file: EVEFile, time: Timestamp,
                                             _ e: EVEEndpoints) {
        guard isEnabled(.alert) else { return }
        begin(.alert, time: time, e)
        if let p = file.mailProto { json.key("app_proto"); json.string(p) }
        json.key("alert"); json.beginObject()
        json.key("action"); json.string(blocked ? "blocked" : "allowed")
        json.key("gid"); json.uint(1)
        json.key("signature_id"); json.uint(0)
        json.key("rev"); json.uint(0)
        json.key("signature"); json.string(virus)
        json.key("category"); json.string("antivirus")
        json.key("severity"); json.int(1)
        json.key("product_severity"); json.int(3)
        json.endObject()
        if !file.hostname.isEmpty || !file.url.isEmpty {
            json.key("http"); json.beginObject()
            field("hostname", file.hostname)
            field("url", file.url)
            json.endObject()
        }
        json.key("fileinfo"); json.beginObject()
        json.key("filename"); json.string(file.filename)
        json.key("size"); json.int(file.size)
        json.endObject()
        end()
    }
}
