/// Event names (decoder, stream and app-layer anomalies) are static tables of Suricata's
/// names; rules name them in any case. One comparison for every layer's lookup.
public enum EventName {
    /// Whether rule text names this static event name, ASCII case-insensitively.
    public static func matches(_ known: StaticString, _ text: Substring) -> Bool {
        guard known.utf8CodeUnitCount == text.utf8.count else { return false }
        return known.withUTF8Buffer { k in
            var i = 0
            for c in text.utf8 {
                if EventName.fold(k[i]) != EventName.fold(c) { return false }
                i += 1
            }
            return true
        }
    }

    /// The bit whose name in `table` (a layer's `name(ofBit:)`) rule text names, searching
    /// `bits`; nil when no bit there has that name. One loop for the decoder's, the stream's and
    /// the app layer's tables (a rule load, not a per-packet path).
    public static func bit(named name: Substring, in table: (Int) -> StaticString?,
                           bits: Range<Int> = 0 ..< 64) -> Int? {
        for bit in bits {
            if let known = table(bit), matches(known, name) { return bit }
        }
        return nil
    }

    @inline(__always) static func fold(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c | 0x20 : c }
}
