import UTMCore

// JA3 and JA3S (Salesforce): decimal values, "-" within a list, "," between lists, GREASE
// removed, then MD5 of that string. The string is written to the field store and hashed in the
// same pass, so a string cut by the store's capacity still gets the right hash.

/// Appends to the store and feeds MD5 at once.
struct JA3Writer {
    var md5 = MD5()
    let start: Int

    init(start: Int) { self.start = start }

    mutating func byte(_ b: UInt8, _ store: inout FieldStore) {
        md5.update(b)
        _ = store.appendByte(b)
    }

    mutating func decimal(_ v: UInt16, _ store: inout FieldStore) {
        var divisor: UInt16 = 10000
        var started = false
        while divisor > 0 {
            let d = UInt8(truncatingIfNeeded: (v / divisor) % 10)
            if d != 0 || started || divisor == 1 {
                byte(0x30 &+ d, &store)
                started = true
            }
            divisor /= 10
        }
    }

    /// A list of big-endian 16-bit values (or 8-bit when `width` is 1), GREASE removed.
    mutating func list(_ v: ByteView, width: Int, _ store: inout FieldStore) {
        var i = 0
        var first = true
        while i &+ width <= v.count {
            let value = width == 2 ? (v.u16(i) ?? 0) : UInt16(v.u8(i) ?? 0)
            i &+= width
            if width == 2 && isGREASE(value) { continue }
            if !first { byte(0x2d, &store) }
            decimal(value, &store)
            first = false
        }
    }

    /// The extension types of an extension block, in order, GREASE removed.
    mutating func extensionTypes(_ exts: ByteView, _ store: inout FieldStore) {
        var off = 0
        var first = true
        while let type = exts.u16(off), let len = exts.u16(off + 2) {
            off += 4 + Int(len)
            if isGREASE(type) { continue }
            if !first { byte(0x2d, &store) }
            decimal(type, &store)
            first = false
        }
    }

    mutating func finish(_ store: inout FieldStore, hash: inout Field) -> Field {
        let s = Field(offset: Int32(start), length: Int32(store.used &- start))
        hash = appendHex(md5.finish(), count: 16, to: &store)
        return s
    }
}

extension TLSParser {
    /// JA3: SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats.
    mutating func writeJA3(_ l: ClientHelloLayout, hash: inout Field) -> Field {
        var w = JA3Writer(start: store.used)
        w.decimal(l.legacyVersion, &store)
        w.byte(0x2c, &store)
        w.list(l.ciphers, width: 2, &store)
        w.byte(0x2c, &store)
        w.extensionTypes(l.extensions, &store)
        w.byte(0x2c, &store)
        w.list(l.groups, width: 2, &store)
        w.byte(0x2c, &store)
        w.list(l.pointFormats, width: 1, &store)
        return w.finish(&store, hash: &hash)
    }

    /// JA3S: SSLVersion,Cipher,Extensions of the ServerHello.
    mutating func writeJA3S(version: UInt16, cipher: UInt16, extensions: ByteView, hash: inout Field) -> Field {
        var w = JA3Writer(start: store.used)
        w.decimal(version, &store)
        w.byte(0x2c, &store)
        w.decimal(cipher, &store)
        w.byte(0x2c, &store)
        w.extensionTypes(extensions, &store)
        return w.finish(&store, hash: &hash)
    }
}
