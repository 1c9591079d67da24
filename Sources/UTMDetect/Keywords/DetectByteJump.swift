/// `byte_jump:nbytes,offset[,relative][,multiplier N][,big|little][,string,hex|dec|oct]
/// [,align][,from_beginning|from_end][,post_offset N][,dce][,bitmask M]`: reads a length and
/// moves the relative cursor past it.
enum DetectByteJump {
    @Sendable static func byteJump(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let parts = KW.commas(try KW.require(v, "byte_jump"))
        guard parts.count >= 2 else { throw .invalid("byte_jump needs nbytes and offset") }
        var opts = ByteOptions(bytes: try KW.int(parts[0], "byte_jump", min: 1, max: 23))
        let offset = try b.valueRef(parts[1], keyword: "byte_jump")
        for p in parts.dropFirst(2) where !p.isEmpty {
            guard try opts.take(p, keyword: "byte_jump") else { throw .invalid("byte_jump: unknown option '\(p)'") }
        }
        if opts.fromBeginning && opts.fromEnd { throw .invalid("byte_jump: from_beginning and from_end together") }
        try opts.validate(keyword: "byte_jump")
        try opts.requireDCE(&b, keyword: "byte_jump")
        var m = ByteJumpMatch(encoding: opts.encoding, offset: offset, relative: opts.relative)
        m.multiplier = opts.multiplier
        m.align = opts.align
        m.fromBeginning = opts.fromBeginning
        m.fromEnd = opts.fromEnd
        m.postOffset = opts.postOffset
        m.bitmask = opts.bitmask
        b.append(.byteJump(m), to: opts.relative ? b.bufferForRelative() : b.currentBuffer)
    }
}
