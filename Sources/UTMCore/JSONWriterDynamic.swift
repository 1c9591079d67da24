extension JSONWriter {
    /// A key taken from the traffic (a PostgreSQL startup parameter name, a header name),
    /// escaped like a string value. Keys we name ourselves stay `key(_: StaticString)`.
    public mutating func key(_ k: ByteView) {
        separator()
        afterKey = true      // the quoted name is not an array value: no comma before it
        string(k)
        raw(UInt8(ascii: ":"))
        afterKey = true
    }
}

extension JSONWriter {
    /// A version as one string of two numbers, `"3.0"` (PostgreSQL's protocol version).
    public mutating func string(decimal major: UInt64, dot minor: UInt64) {
        valueStart()
        raw(UInt8(ascii: "\""))
        decimal(major)
        raw(UInt8(ascii: "."))
        decimal(minor)
        raw(UInt8(ascii: "\""))
    }
}

extension JSONWriter {
    /// `"0x…"` with no leading zeros (`"0x0"`, `"0xc0000016"`): Suricata's status codes.
    public mutating func string(hexPrefixed value: UInt64) {
        valueStart()
        raw(UInt8(ascii: "\""))
        raw(UInt8(ascii: "0"))
        raw(UInt8(ascii: "x"))
        var shift = 60
        while shift > 0 && (value >> UInt64(shift)) & 0xf == 0 { shift -= 4 }
        while shift >= 0 {
            raw(hexDigit(UInt8((value >> UInt64(shift)) & 0xf)))
            shift -= 4
        }
        raw(UInt8(ascii: "\""))
    }
}
