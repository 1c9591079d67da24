import UTMCore

/// Looking up one header in an HTTP/1 header block ("Name: value\r\n" lines, as the parser
/// keeps them), for buffers the parser does not extract itself (`http.server`).
extension Engine {
    /// The value of the first header called `name` (any case; `name` lower case) in `block`,
    /// without leading blanks or the CRLF; nil when absent.
    static func headerValue(_ block: ByteView, _ name: StaticString) -> ByteView? {
        let want = name.byteView
        let n = block.count
        var start = 0
        while start < n {
            var end = start
            while end < n && block.u8(end) != 0x0A { end &+= 1 }
            // "name:" at the start of this line?
            if end &- start > want.count, block.u8(start &+ want.count) == UInt8(ascii: ":") {
                var same = true
                var k = 0
                while k < want.count {
                    guard let a = block.u8(start &+ k), let b = want.u8(k), a | 0x20 == b else { same = false; break }
                    k &+= 1
                }
                if same {
                    var v = start &+ want.count &+ 1
                    while v < end, let c = block.u8(v), c == 0x20 || c == 0x09 { v &+= 1 }
                    var e = end
                    if e > v && block.u8(e &- 1) == 0x0D { e &-= 1 }
                    return block.slice(v, e &- v)
                }
            }
            start = end &+ 1
        }
        return nil
    }
}
