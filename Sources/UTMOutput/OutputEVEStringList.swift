import UTMCore

extension JSONWriter {
    /// The NUL-separated strings of `v` as JSON array elements, empty ones skipped (the caller
    /// opens and closes the array). Why here: parsers keep such lists as one field of their
    /// store (PostgreSQL's SASL mechanisms, SMB1's dialect names), and both events wrote the same
    /// loop.
    mutating func nulSeparatedStrings(_ v: ByteView) {
        var start = 0
        while start < v.count {
            let end = v.firstIndex(of: 0, from: start) ?? v.count
            if end > start, let s = v.slice(start, end - start) { string(s) }
            start = end + 1
        }
    }
}
