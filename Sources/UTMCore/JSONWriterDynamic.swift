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
        writeDecimal(major) { raw($0) }
        raw(UInt8(ascii: "."))
        writeDecimal(minor) { raw($0) }
        raw(UInt8(ascii: "\""))
    }
}
