/// `byte_math:bytes N, offset O, oper OP, rvalue V, result NAME[, relative][, endian big|little|dce]
/// [, string hex|dec|oct][, dce][, bitmask M]` (Suricata 6/7; fields in any order).
///
/// Reads N bytes (1-10; binary reads take at most 8, shifts at most 4) at O, applies OP
/// (`+ - * / << >>`) with V (a 32-bit constant or an earlier byte_extract/byte_math variable),
/// then the bitmask, and stores the result in NAME: a rule variable that later `byte_test`,
/// `byte_jump`, `isdataat`, content `offset/depth/distance/within` and `byte_math rvalue`
/// name like a byte_extract variable (the same slots). A NAME used before is written again
/// (its later readers see the new value). Like byte_extract, it moves the relative position to
/// the end of the bytes it read.
enum DetectByteMath {
    @Sendable static func byteMath(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let fields = KW.commas(try KW.require(v, "byte_math"))
        guard fields.count >= 5 && fields.count <= 10 else {
            throw .invalid("byte_math needs bytes, offset, oper, rvalue and result (5 to 10 fields, got \(fields.count))")
        }
        var bytes: Int?, offset: Int?, op: ByteMathMatch.Operator?, rvalue: ValueRef?, result: String?
        var relative = false, endianSet = false, littleEndian = false, dce = false
        var base = 0, bitmask: UInt64?
        for field in fields {
            let words = field.trimmingSpaces.split(separator: " ", omittingEmptySubsequences: true)
            guard let name = words.first else { throw .invalid("byte_math: empty field") }
            guard words.count <= 2 else { throw .invalid("byte_math: bad field '\(field.trimmingSpaces)'") }
            let arg = words.count == 2 ? words[1] : nil
            func value() throws(RuleError) -> Substring {
                guard let arg else { throw .invalid("byte_math: '\(name)' needs a value") }
                return arg
            }
            switch name {
            case "bytes":
                guard bytes == nil else { throw .invalid("byte_math: bytes given twice") }
                let a = try value()
                guard let n = Int(a) else { throw .invalid("byte_math: bytes '\(a)' is not a number (variables are not supported)") }
                guard (1 ... 10).contains(n) else { throw .invalid("byte_math: bytes \(n) is out of range 1...10") }
                bytes = n
            case "offset":
                guard offset == nil else { throw .invalid("byte_math: offset given twice") }
                offset = try KW.int(try value(), "byte_math offset", min: -65535, max: 65535)
            case "oper":
                guard op == nil else { throw .invalid("byte_math: oper given twice") }
                switch try value() {
                case "+": op = .add
                case "-": op = .subtract
                case "*": op = .multiply
                case "/": op = .divide
                case "<<": op = .shiftLeft
                case ">>": op = .shiftRight
                case let o: throw .invalid("byte_math: unknown oper '\(o)' (expected + - * / << >>)")
                }
            case "rvalue":
                guard rvalue == nil else { throw .invalid("byte_math: rvalue given twice") }
                let a = try value()
                if let n = UInt64(a) {
                    guard n <= UInt64(UInt32.max) else { throw .invalid("byte_math: rvalue \(n) is out of range 0...\(UInt32.max)") }
                    rvalue = .constant(Int(n))
                } else if let slot = b.variables[String(a)] {
                    rvalue = .variable(slot)
                } else {
                    throw .invalid("byte_math: rvalue '\(a)' is neither a number nor a byte_extract/byte_math variable")
                }
            case "result":
                guard result == nil else { throw .invalid("byte_math: result given twice") }
                let a = String(try value())
                guard let f = a.first, f.isLetter || f == "_" else { throw .invalid("byte_math: bad result name '\(a)'") }
                result = a
            case "relative":
                guard arg == nil, !relative else { throw .invalid("byte_math: bad or repeated 'relative'") }
                relative = true
            case "endian", "dce":
                guard !endianSet else { throw .invalid("byte_math: endianness given twice") }
                endianSet = true
                let e = name == "dce" ? "dce" : try value()
                switch e {
                case "big": littleEndian = false
                case "little": littleEndian = true
                case "dce": dce = true
                default: throw .invalid("byte_math: endian '\(e)' (expected big, little or dce)")
                }
            case "string":
                guard base == 0 else { throw .invalid("byte_math: string given twice") }
                switch try value() {
                case "hex": base = 16
                case "dec": base = 10
                case "oct": base = 8
                case let s: throw .invalid("byte_math: string '\(s)' (expected hex, dec or oct)")
                }
            case "bitmask":
                guard bitmask == nil else { throw .invalid("byte_math: bitmask given twice") }
                let a = try value()
                let digits = a.hasPrefix("0x") || a.hasPrefix("0X") ? a.dropFirst(2) : a
                guard let m = UInt32(digits, radix: 16) else { throw .invalid("byte_math: bad bitmask '\(a)' (32-bit hex)") }
                bitmask = UInt64(m)
            default:
                throw .invalid("byte_math: unknown field '\(name)'")
            }
        }
        guard let bytes, let offset, let op, let rvalue, let result else {
            throw .invalid("byte_math: bytes, offset, oper, rvalue and result are all required")
        }
        if (op == .shiftLeft || op == .shiftRight) && bytes > 4 {
            throw .invalid("byte_math: bytes must be 1 to 4 with << or >> (got \(bytes))")
        }
        if dce {
            if base != 0 { throw .invalid("byte_math: dce cannot be combined with string") }
            try b.requireApp(.dcerpc, keyword: "byte_math dce")
        }
        if base == 0 && bytes > 8 { throw .invalid("byte_math: \(bytes) bytes; binary reads take 1 to 8") }
        let slot: Int
        if let known = b.variables[result] {
            slot = known
        } else {
            slot = b.variables.count
            b.variables[result] = slot
        }
        let encoding = NumberEncoding(bytes: bytes, littleEndian: littleEndian, stringBase: base, dce: dce)
        let m = ByteMathMatch(encoding: encoding, offset: offset, relative: relative, op: op, rvalue: rvalue,
                              slot: slot, bitmask: bitmask)
        b.append(.byteMath(m), to: relative ? b.bufferForRelative() : b.currentBuffer)
    }
}
