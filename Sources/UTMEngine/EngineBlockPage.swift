import UTMCore
import UTMWebFilter

/// The page a client gets instead of a blocked HTTP site (`ActiveResponse.httpBlockPage`):
/// a complete HTTP/1.1 403 response, in Japanese and English, saying which category was blocked
/// and what to do. Written into a caller-owned buffer that is reused (no allocation once its
/// capacity suffices); host and category text are HTML-escaped.
public enum WebFilterBlockPage {
    /// Writes the response into `out` (emptied first). `category`: the product label of the
    /// list ("gambling", "security: phishing"); empty when a customer entry blocked the site.
    public static func write(into out: inout [UInt8], host: ByteView, category: ByteView) {
        out.removeAll(keepingCapacity: true)
        var body = 0
        // Headers first with a fixed-width Content-Length, patched once the body is written.
        append(&out, "HTTP/1.1 403 Forbidden\r\nContent-Type: text/html; charset=utf-8\r\n")
        append(&out, "Cache-Control: no-store\r\nConnection: close\r\nContent-Length: ")
        let lengthAt = out.count
        append(&out, "00000\r\n\r\n")
        body = out.count
        append(&out, "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">")
        append(&out, "<title>このサイトはブロックされました / Site blocked</title></head><body>\n")
        append(&out, "<h1>このサイトへのアクセスはブロックされました</h1>\n<p>サイト: <b>")
        escaped(&out, host)
        append(&out, "</b><br>カテゴリ: <b>")
        category.isEmpty ? append(&out, "管理者の設定 / administrator setting") : escaped(&out, category)
        append(&out, "</b></p>\n<p>業務に必要なサイトの場合は、社内の管理者にサイト名とカテゴリをお知らせください。")
        append(&out, "誤って分類されていると思われる場合も同様です。</p>\n<hr>\n")
        append(&out, "<h1>Access to this site has been blocked</h1>\n<p>Site: <b>")
        escaped(&out, host)
        append(&out, "</b><br>Category: <b>")
        category.isEmpty ? append(&out, "administrator setting") : escaped(&out, category)
        append(&out, "</b></p>\n<p>If you need this site for work, or think it is wrongly categorised, ")
        append(&out, "tell your administrator the site name and the category above.</p>\n</body></html>\n")
        var n = min(out.count - body, 99_999)
        for i in stride(from: lengthAt + 4, through: lengthAt, by: -1) {
            out[i] = UInt8(ascii: "0") + UInt8(n % 10)
            n /= 10
        }
    }

    static func append(_ out: inout [UInt8], _ s: StaticString) {
        s.withByteView { v in for i in 0 ..< v.count { out.append(v[checked: i]) } }
    }

    static func escaped(_ out: inout [UInt8], _ v: ByteView) {
        for i in 0 ..< min(v.count, 512) {
            let b = v[checked: i]
            switch b {
            case UInt8(ascii: "<"): append(&out, "&lt;")
            case UInt8(ascii: ">"): append(&out, "&gt;")
            case UInt8(ascii: "&"): append(&out, "&amp;")
            case UInt8(ascii: "\""): append(&out, "&quot;")
            case UInt8(ascii: "'"): append(&out, "&#39;")
            case 0 ..< 0x20, 0x7f: append(&out, "?")
            default: out.append(b)
            }
        }
    }
}

extension Engine {
    /// The block page for the last HTTP request the web filter blocked: what the live source
    /// sends when a decision says `.httpBlockPage`.
    public func writeBlockPage(into out: inout [UInt8]) {
        var label: [UInt8] = []
        if let policy = webFilter.policy, webFilter.blockedList >= 0 {
            // Slow path (once per blocked connection): the policy's names are Strings.
            let name = policy.listName(webFilter.blockedList)
            let entry = policy.taxonomy.entry(name)
            label = Array("\(entry.group.rawValue): \(entry.label) (\(name))".utf8)
        }
        webFilter.blockedHost.withByteView { host in
            label.withByteView { WebFilterBlockPage.write(into: &out, host: host, category: $0) }
        }
    }
}
