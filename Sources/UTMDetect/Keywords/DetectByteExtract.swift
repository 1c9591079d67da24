/// `byte_extract:nbytes,offset,name[,relative][,multiplier N][,big|little][,string,hex|dec|oct]
/// [,align N][,dce]`: reads a number into a variable that later offset/depth/distance/within/
/// byte_test/byte_jump/isdataat values may name.
enum DetectByteExtract {
    @Sendable static func byteExtract(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let parts = KW.commas(try KW.require(v, "byte_extract"))
        guard parts.count >= 3 else { throw .invalid("byte_extract needs nbytes, offset and name") }
        var opts = ByteOptions(bytes: try KW.int(parts[0], "byte_extract", min: 1, max: 23))
        let offset = try KW.int(parts[1], "byte_extract", min: -65535, max: 65535)
        let name = String(parts[2])
        guard let f = name.first, f.isLetter || f == "_" else { throw .invalid("byte_extract: bad variable name '\(name)'") }
        if b.variables[name] != nil { throw .invalid("byte_extract: variable '\(name)' defined twice") }
        for p in parts.dropFirst(3) where !p.isEmpty {
            guard try opts.take(p, keyword: "byte_extract") else { throw .invalid("byte_extract: unknown option '\(p)'") }
        }
        if opts.fromBeginning || opts.fromEnd || opts.postOffset != 0 || opts.bitmask != nil {
            throw .invalid("byte_extract: option only valid for byte_jump")
        }
        try opts.validate(keyword: "byte_extract")
        try opts.requireDCE(&b, keyword: "byte_extract")
        let slot = b.variables.count
        b.variables[name] = slot
        var m = ByteExtractMatch(encoding: opts.encoding, offset: offset, relative: opts.relative, slot: slot)
        m.multiplier = opts.multiplier
        m.align = opts.align ? opts.alignValue : 0
        b.append(.byteExtract(m), to: opts.relative ? b.bufferForRelative() : b.currentBuffer)
    }
}
