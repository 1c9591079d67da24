/// `datarep:NAME,OP,VALUE[,type T][,load FILE][,memcap SIZE][,hashsize N]` (Suricata 5+): the
/// sticky buffer it follows, after its transforms, looked up in a set whose list file gives
/// each value a reputation (`value,rep`); matches when the value is there and its reputation
/// is `>`, `<` or `==` VALUE (0...65535, Suricata 7's 16-bit reputation). A value listed
/// without a reputation has 0. Same set rules, paths and errors as `dataset` (DetectDataset).
enum DetectDatarep {
    @Sendable static func datarep(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let text = try KW.require(v, "datarep")
        guard b.sticky != nil else { throw .invalid("datarep needs a sticky buffer before it (e.g. 'dns.query; datarep:c2,>,50,...')") }
        let fields = KW.commas(text).map { $0.trimmingSpaces }.filter { !$0.isEmpty }
        guard fields.count >= 3 else { throw .invalid("datarep: '\(text.prefix(60))' needs a name, an operator and a value") }
        let name = try DetectDataset.name(fields[0], "datarep")
        let op: DatasetOp
        switch fields[1] {
        case ">": op = .repGreater
        case "<": op = .repLess
        case "==": op = .repEqual
        default: throw .invalid("datarep: operator '\(fields[1].prefix(10))' is not >, < or ==")
        }
        guard let value = UInt32(fields[2]), value <= 65535 else {
            throw .invalid("datarep: '\(fields[2].prefix(20))' is not a reputation value (0-65535)")
        }
        let o = try DetectDataset.options(fields.dropFirst(3), "datarep", allowState: false)
        if o.load != nil && o.type == nil { throw .invalid("datarep '\(name)': if load is used type must be set as well") }
        let set = try b.datasets.dataset(name: name, type: o.type, load: o.load, state: false, memcap: o.memcap,
                                         hashsize: o.hashsize, ruleFile: b.ruleFile, reader: b.fileReader,
                                         keyword: "datarep")
        b.append(.dataset(DatasetMatch(set: set, op: op, value: value)), to: b.currentBuffer)
    }
}
