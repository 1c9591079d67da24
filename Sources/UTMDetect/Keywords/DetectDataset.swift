/// `dataset:OP,NAME[,type T][,load FILE][,state FILE][,save FILE][,memcap SIZE][,hashsize N]`
/// (Suricata 5+): the sticky buffer it follows, after that buffer's transforms, looked up in
/// (`isset`, `isnotset`) or changed in (`set`, `unset`) the named set. Blocklists of C2 names
/// (`dns.query`), JA3/JA4 hashes, URI hashes (`http.uri; to_sha256;`) or addresses (`ip.src`).
///
/// As Suricata's `DetectDatasetSetup`: a sticky buffer is required; options after the name are
/// `KEY VALUE`; `state` is `load` + `save` of one file and is not mixed with either; the first
/// rule naming a set declares its type (and its list file), later rules may name it alone; a
/// set named with another type or list file is an error. Paths: `RuleListFile.resolve`
/// (relative to the rule file's folder). `save`/`state` paths must be relative and without
/// `..` (Suricata refuses them unless `allow-absolute-filenames`). The set is not written back
/// at shutdown (README: what `state`/`save` do here). Suricata 8's `format` (JSON lists) is
/// not supported: a rule using it fails with that reason.
enum DetectDataset {
    /// Suricata's `DATASET_NAME_MAX_LEN`.
    static let maxNameLength = 63

    @Sendable static func dataset(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let text = try KW.require(v, "dataset")
        guard b.sticky != nil else { throw .invalid("dataset needs a sticky buffer before it (e.g. 'dns.query; dataset:isset,c2,...')") }
        let fields = KW.commas(text).map { $0.trimmingSpaces }.filter { !$0.isEmpty }
        guard fields.count >= 2 else { throw .invalid("dataset: '\(text.prefix(60))' needs an operation and a name") }
        let op: DatasetOp
        switch fields[0] {
        case "isset": op = .isSet
        case "isnotset": op = .isNotSet
        case "set": op = .set
        case "unset": op = .unset
        default: throw .invalid("dataset: operation '\(fields[0].prefix(20))' is not isset, isnotset, set or unset")
        }
        let name = try DetectDataset.name(fields[1], "dataset")
        let o = try options(fields.dropFirst(2), "dataset", allowState: true)
        let set = try b.datasets.dataset(name: name, type: o.type, load: o.load, state: o.state, memcap: o.memcap,
                                         hashsize: o.hashsize, ruleFile: b.ruleFile, reader: b.fileReader,
                                         keyword: "dataset")
        if op.changesSet { try b.datasets.markMutable(set, keyword: "dataset") }
        b.append(.dataset(DatasetMatch(set: set, op: op)), to: b.currentBuffer)
    }

    static func name(_ f: Substring, _ keyword: String) throws(RuleError) -> String {
        guard !f.contains(where: { $0 == " " || $0 == "\t" }) else { throw .invalid("\(keyword): spaces are not allowed in dataset names") }
        guard f.utf8.count <= maxNameLength else { throw .invalid("\(keyword): dataset name longer than \(maxNameLength)") }
        return String(f)
    }

    struct Options {
        var type: DatasetType?
        var load: String?
        var state = false
        var memcap = 0
        var hashsize = 0
    }

    /// The `KEY VALUE` options after the name (shared with `datarep`, which has no save/state).
    static func options(_ fields: ArraySlice<Substring>, _ keyword: String, allowState: Bool) throws(RuleError) -> Options {
        var o = Options()
        var save: String?
        var sawLoad = false, sawState = false, sawSave = false
        for f in fields {
            guard let sp = f.firstIndex(where: { $0 == " " || $0 == "\t" }) else {
                throw .invalid("\(keyword): option '\(f.prefix(40))' needs a value")
            }
            let key = f[..<sp], value = f[sp...].trimmingSpaces
            guard !value.isEmpty else { throw .invalid("\(keyword): option '\(key)' needs a value") }
            switch key {
            case "type":
                guard let t = DatasetType(name: value) else { throw .invalid("\(keyword): bad type '\(value.prefix(20))'") }
                o.type = t
            case "load":
                guard !sawLoad else { throw .invalid("\(keyword): 'load' can only appear once") }
                sawLoad = true
                o.load = String(value)
            case "state", "save":
                guard allowState else { throw .invalid("\(keyword): '\(key)' is not a datarep option") }
                if key == "state" {
                    guard !sawState else { throw .invalid("\(keyword): 'state' can only appear once") }
                    sawState = true
                } else {
                    guard !sawSave else { throw .invalid("\(keyword): 'save' can only appear once") }
                    sawSave = true
                }
                // Suricata's SetupSavePath: a written file stays inside the data folder.
                guard !value.hasPrefix("/"), !value.split(separator: "/").contains("..") else {
                    throw .invalid("\(keyword): '\(key) \(value.prefix(60))': absolute paths and '..' are not allowed")
                }
                if key == "state" { o.load = String(value); o.state = true } else { save = String(value) }
            case "memcap":
                guard let n = size(value) else { throw .invalid("\(keyword): bad memcap '\(value.prefix(20))'") }
                guard n <= Dataset.maxMemcap else { throw .invalid("\(keyword): memcap \(n) is over the \(Dataset.maxMemcap >> 20) MiB a set may reserve") }
                o.memcap = n
            case "hashsize":
                guard let n = size(value), n <= Int(UInt32.max) else { throw .invalid("\(keyword): bad hashsize '\(value.prefix(20))'") }
                o.hashsize = n
            case "format":
                throw .unsupported("dataset", "'format' (Suricata 8 JSON lists) is not supported")
            default:
                throw .invalid("\(keyword): unknown option '\(key.prefix(20))'")
            }
        }
        if sawState && (sawLoad || sawSave) { throw .invalid("\(keyword): 'state' can not be mixed with 'load' and 'save'") }
        _ = save
        return o
    }

    /// Suricata's size strings: a number with an optional `kb`/`kib`, `mb`/`mib`, `gb`/`gib`
    /// (any case; 1024-based as Suricata's).
    static func size(_ s: Substring) -> Int? {
        let t = s.lowercased()
        var digits = Substring(t), mult = 1
        for (suffix, m) in [("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("kb", 1 << 10), ("mb", 1 << 20),
                            ("gb", 1 << 30), ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30)] where t.hasSuffix(suffix) {
            digits = Substring(t.dropLast(suffix.count)).trimmingSpaces
            mult = m
            break
        }
        guard let n = Int(digits), n >= 0 else { return nil }
        let (v, o) = n.multipliedReportingOverflow(by: mult)
        return o ? nil : v
    }
}
