extension JSONWriter {
    /// Writes `v`, already valid JSON (an object or array rendered at load time), as the value
    /// of the current key or array slot. The caller vouches for its validity.
    public mutating func rawJSONValue(_ v: ByteView) {
        valueStart()
        raw(v)
    }
}
