/// Options shared by byte_test, byte_jump and byte_extract: endianness, string/base, dce,
/// bitmask. Each keyword parses its own positional fields and hands the rest here.
struct ByteOptions {
    var encoding: NumberEncoding
    var relative = false
    var multiplier = 1
    var align = false
    var alignValue = 0
    var fromBeginning = false
    var fromEnd = false
    var postOffset = 0
    var bitmask: UInt64?
    var sawString = false

    init(bytes: Int) { encoding = NumberEncoding(bytes: bytes) }

    /// Consumes one option word; returns false when the word is not a shared one.
    mutating func take(_ word: Substring, keyword: String) throws(RuleError) -> Bool {
        let w = word.trimmingSpaces
        let parts = w.split(separator: " ", omittingEmptySubsequences: true)
        let name = parts.first ?? ""
        let arg = parts.count > 1 ? parts[1] : nil
        switch name {
        case "relative": relative = true
        case "big": encoding.littleEndian = false
        case "little": encoding.littleEndian = true
        case "string": sawString = true; if encoding.stringBase == 0 { encoding.stringBase = 10 }
        case "hex": encoding.stringBase = 16
        case "dec": encoding.stringBase = 10
        case "oct": encoding.stringBase = 8
        case "dce": encoding.dce = true
        case "align":
            align = true
            if let arg { alignValue = try KW.int(arg, keyword, min: 1, max: 8) } else { alignValue = 4 }
        case "from_beginning": fromBeginning = true
        case "from_end": fromEnd = true
        case "multiplier":
            guard let arg else { throw .invalid("\(keyword): multiplier needs a value") }
            multiplier = try KW.int(arg, keyword, min: 1, max: 65535)
        case "post_offset":
            guard let arg else { throw .invalid("\(keyword): post_offset needs a value") }
            postOffset = try KW.int(arg, keyword, min: -65535, max: 65535)
        case "bitmask":
            guard let arg else { throw .invalid("\(keyword): bitmask needs a value") }
            let a = arg.hasPrefix("0x") || arg.hasPrefix("0X") ? arg.dropFirst(2) : arg
            guard let m = UInt64(a, radix: 16) ?? UInt64(arg) else { throw .invalid("\(keyword): bad bitmask '\(arg)'") }
            bitmask = m
        default: return false
        }
        return true
    }

    /// Checks the byte count against the encoding (binary up to 8 bytes, text up to 23).
    func validate(keyword: String) throws(RuleError) {
        if sawString && encoding.stringBase == 0 { throw .invalid("\(keyword): string needs a base") }
        if !sawString && encoding.stringBase != 0 {
            // hex/dec/oct without string: Suricata treats them as implying string.
        }
        let n = encoding.bytes
        if encoding.stringBase == 0 {
            guard (1 ... 8).contains(n) else { throw .invalid("\(keyword): \(n) bytes; binary reads take 1 to 8") }
        } else {
            // Suricata loads `byte_test:0,...,string` (the read then never succeeds); so do we.
            guard (0 ... 23).contains(n) else { throw .invalid("\(keyword): \(n) bytes; string reads take 1 to 23") }
        }
        if encoding.dce && encoding.stringBase != 0 { throw .invalid("\(keyword): dce cannot be combined with string") }
    }

    /// `dce` reads in the DCE/RPC PDU's byte order, so the rule becomes a dcerpc rule
    /// (Suricata's setup sets the rule's app protocol the same way).
    func requireDCE(_ b: inout SignatureBuilder, keyword: String) throws(RuleError) {
        if encoding.dce { try b.requireApp(.dcerpc, keyword: keyword + " dce") }
    }
}
