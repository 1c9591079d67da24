/// Event names as EVE spells them: a static table name with a layer prefix
/// (`"decoder." + "ipv4.trunc_pkt"`) or in upper case (Suricata's C parsers name their
/// app-layer events `MISSING_HOST_HEADER`, its Rust parsers `malformed_data`). Written from
/// the static tables directly: no `String` is built per anomaly event.
extension JSONWriter {
    /// `"<prefix><name>"`, `name` upper-cased (ASCII) when `uppercase`. The names are our own
    /// ASCII tables; a byte outside printable ASCII is escaped like any string byte.
    public mutating func string(_ prefix: StaticString, _ name: StaticString, uppercase: Bool) {
        valueStart()
        raw(UInt8(ascii: "\""))
        raw(prefix)
        name.withUTF8Buffer { bytes in
            for b in bytes {
                if b < 0x20 || b >= 0x7f || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
                    escaped(b)
                } else {
                    raw(uppercase && b >= 97 && b <= 122 ? b &- 32 : b)
                }
            }
        }
        raw(UInt8(ascii: "\""))
    }
}
