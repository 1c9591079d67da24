/// `byte_test:nbytes,[!]op,value,offset[,relative][,big|little][,string,hex|dec|oct][,dce][,bitmask M]`.
/// Operators: < > = ! & ^ <= >= (`!` alone means "not equal"; a leading `!` negates).
enum DetectByteTest {
    @Sendable static func byteTest(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let parts = KW.commas(try KW.require(v, "byte_test"))
        guard parts.count >= 4 else { throw .invalid("byte_test needs nbytes, operator, value and offset") }
        var opts = ByteOptions(bytes: try KW.int(parts[0], "byte_test", min: 0, max: 23))
        var opText = parts[1].filter { $0 != " " }[...]
        var negated = false
        if opText.count > 1, opText.first == "!" { negated = true; opText = opText.dropFirst() }
        let op: ByteTestOperator
        switch opText {
        case "<": op = .less
        case ">": op = .greater
        case "=": op = .equal
        case "!": op = .equal; negated.toggle()
        case "&": op = .and
        case "^": op = .or
        case "<=": op = .lessEqual
        case ">=": op = .greaterEqual
        default: throw .invalid("byte_test: unknown operator '\(parts[1])'")
        }
        let value = try b.valueRef(parts[2], keyword: "byte_test")
        let offset = try b.valueRef(parts[3], keyword: "byte_test")
        for p in parts.dropFirst(4) where !p.isEmpty {
            guard try opts.take(p, keyword: "byte_test") else { throw .invalid("byte_test: unknown option '\(p)'") }
        }
        if opts.align || opts.fromBeginning || opts.fromEnd || opts.postOffset != 0 || opts.multiplier != 1 {
            throw .invalid("byte_test: option only valid for byte_jump")
        }
        try opts.validate(keyword: "byte_test")
        try opts.requireDCE(&b, keyword: "byte_test")
        let m = ByteTestMatch(encoding: opts.encoding, op: op, negated: negated, value: value, offset: offset,
                              relative: opts.relative, bitmask: opts.bitmask)
        b.append(.byteTest(m), to: opts.relative ? b.bufferForRelative() : b.currentBuffer)
    }
}
