import UTMCore

/// The state one rule's options are parsed into, in order. Keyword parsers (`Keywords/`) only
/// see this type: it knows the current sticky buffer, the last content (which content modifiers
/// apply to) and the rule's `byte_extract` variables.
public struct SignatureBuilder {
    public var signature: Signature
    /// The sticky buffer set by `http.uri;`, `file_data;`, `dns_query;`..., nil for payload.
    /// Setting it starts a new transform chain (Suricata: transforms belong to the sticky
    /// buffer they directly follow).
    public var sticky: BufferID? {
        didSet {
            if stickyOpen && !stickyTransforms.isEmpty { unconsumedTransforms = oldValue }
            stickyTransforms = []
            stickyOpen = sticky != nil
        }
    }
    /// A buffer whose transforms no match used before the next buffer was chosen (Suricata:
    /// "previous transforms not consumed"); the rule fails in `finish`.
    var unconsumedTransforms: BufferID?
    /// Transforms since the sticky buffer (`dotprefix`, `to_lowercase`...), in order.
    var stickyTransforms: [Transform] = []
    /// No match was added since the sticky buffer: a transform may still follow it.
    var stickyOpen = false
    /// Match lists being built: `0..<BufferID.count` indexed by `BufferID.rawValue`, then one
    /// per distinct (buffer, transform chain) of the rule, keyed in `transformedKeys`.
    var lists: [[MatchElement]] = Array(repeating: [], count: BufferID.count)
    var transformedKeys: [(buffer: BufferID, chain: [Transform])] = []
    /// The last content: modifiers (`nocase`, `depth`, `http_uri`...) apply to it.
    var lastContent: (list: Int, index: Int)?
    /// The last content or pcre: relative byte_* and isdataat go to its buffer.
    var lastMatch: (list: Int, index: Int)?
    /// `byte_extract` names → variable slot.
    var variables: [String: Int] = [:]
    /// The list the rule's `base64_decode` went to; `finish()` hands it the `base64_data`
    /// elements (collected under `BufferID.base64Data`).
    var base64DecodeBuffer: BufferID?
    var explicitPriority = false
    var sawSid = false
    var fastPatternSet = false
    let classifications: ClassificationTable
    /// The rule file being loaded (hash and dataset lists are resolved against its directory)
    /// and how to read a list (`RuleParser.fileReader`); the parser's hash list cache.
    var ruleFile = ""
    var fileReader: RuleFileReader?
    var hashLists: FileHashListCache?
    /// Flowbit names of the whole rule set, interned as they appear.
    var flowbitNames: FlowbitNames
    /// The rule set's datasets (`dataset`, `datarep`); a relative `load` path is resolved
    /// against `ruleFile`'s folder (`RuleListFile.resolve`).
    var datasets = DatasetRegistry()

    init(signature: Signature, classifications: ClassificationTable, flowbitNames: FlowbitNames) {
        self.signature = signature
        self.classifications = classifications
        self.flowbitNames = flowbitNames
    }

    /// Where a new non-relative element goes: the sticky buffer, else the payload.
    var currentBuffer: BufferID { sticky ?? .payload }

    /// Where a relative byte_*/isdataat goes: after the last content/pcre when there is no
    /// sticky buffer (Suricata attaches it to that match's list), else the sticky buffer.
    func bufferForRelative() -> BufferID {
        if let sticky { return sticky }
        return lastMatch.map { bufferOf(list: $0.list) } ?? .payload
    }

    /// The base buffer of list key `list`.
    func bufferOf(list: Int) -> BufferID {
        list < BufferID.count ? BufferID(rawValue: UInt8(list))! : transformedKeys[list - BufferID.count].buffer
    }

    /// The list an element for `buffer` goes to: the sticky buffer's transformed list when
    /// transforms follow it, else the buffer's own.
    mutating func listKey(for buffer: BufferID) -> Int {
        guard buffer == sticky, !stickyTransforms.isEmpty else { return Int(buffer.rawValue) }
        for (i, k) in transformedKeys.enumerated() where k.buffer == buffer && k.chain == stickyTransforms {
            return BufferID.count + i
        }
        transformedKeys.append((buffer, stickyTransforms))
        lists.append([])
        return lists.count - 1
    }

    /// A transform keyword: appends `t` to the sticky buffer's chain. Suricata rejects a
    /// transform without a sticky buffer (pkt_data included), after a match was added to the
    /// buffer, and beyond 16 in a chain.
    mutating func addTransform(_ t: Transform, keyword: String) throws(RuleError) {
        guard sticky != nil else {
            throw .invalid("'\(keyword)': transforms must follow a sticky buffer (not pkt_data or the payload)")
        }
        guard stickyOpen else { throw .invalid("'\(keyword)': transforms must directly follow stickybuffers") }
        guard stickyTransforms.count < Transform.maxChain else {
            throw .invalid("'\(keyword)': more than \(Transform.maxChain) transforms on one buffer")
        }
        stickyTransforms.append(t)
    }

    mutating func append(_ element: MatchElement, to buffer: BufferID) {
        let key = listKey(for: buffer)
        if buffer == sticky { stickyOpen = false }
        lists[key].append(element)
        let idx = lists[key].count - 1
        switch element {
        case .content:
            lastContent = (key, idx)
            lastMatch = (key, idx)
        case .pcre:
            lastMatch = (key, idx)
        default:
            break
        }
    }

    /// Applies `body` to the last content, or throws naming the modifier that had no content.
    mutating func modifyLastContent(_ keyword: String, _ body: (inout ContentMatch) throws(RuleError) -> Void) throws(RuleError) {
        guard let (list, index) = lastContent,
              case .content(var c) = lists[list][index] else {
            throw .invalid("'\(keyword)' needs a preceding content")
        }
        try body(&c)
        lists[list][index] = .content(c)
    }

    /// Moves the last content to `buffer` (Suricata 4 content modifiers: `http_uri`...).
    mutating func moveLastContent(to buffer: BufferID, keyword: String) throws(RuleError) {
        guard let (from, index) = lastContent else { throw .invalid("'\(keyword)' needs a preceding content") }
        if from == Int(buffer.rawValue) { return }
        guard from == Int(BufferID.payload.rawValue) else {
            throw .invalid("'\(keyword)': the content already inspects \(bufferOf(list: from).name)")
        }
        if sticky != nil { throw .invalid("'\(keyword)' cannot follow a sticky buffer; use one or the other") }
        let element = lists[from].remove(at: index)
        lists[Int(buffer.rawValue)].append(element)
        lastContent = (Int(buffer.rawValue), lists[Int(buffer.rawValue)].count - 1)
        lastMatch = lastContent
    }

    /// A keyword that only has meaning on one app protocol makes the rule need it (Suricata's
    /// DetectSignatureSetAppProto): an `alert tcp` rule with `ssh.proto` becomes an SSH rule;
    /// a rule already bound to another protocol cannot take it.
    mutating func requireApp(_ app: AppProto, keyword: String) throws(RuleError) {
        if let have = signature.proto.app, have != app {
            throw .invalid("'\(keyword)' needs \(app.eveName) but the rule is for \(have.eveName)")
        }
        guard signature.proto.admits(ipProto: 6) else {
            throw .invalid("'\(keyword)' needs a TCP rule, the header says \(signature.proto.name)")
        }
        signature.proto.app = app
    }

    /// A number, or the name of a `byte_extract` variable defined earlier in the rule.
    func valueRef(_ text: Substring, keyword: String) throws(RuleError) -> ValueRef {
        let t = text.trimmingSpaces
        if let v = Int(t) { return .constant(v) }
        if t.hasPrefix("0x") || t.hasPrefix("0X"), let v = Int(t.dropFirst(2), radix: 16) { return .constant(v) }
        if let slot = variables[String(t)] { return .variable(slot) }
        throw .invalid("\(keyword): '\(t)' is neither a number nor a byte_extract variable")
    }

    /// Moves the `base64_data` elements into the `base64_decode` element they inspect the
    /// output of. A fast pattern among them is refused (Suricata too): the prefilter never sees
    /// decoded bytes.
    mutating func attachBase64Data() throws(RuleError) {
        let dataIndex = Int(BufferID.base64Data.rawValue)
        let data = lists[dataIndex]
        lists[dataIndex] = []
        guard let buffer = base64DecodeBuffer else { return }
        for e in data {
            if case .content(let c) = e, c.fastPattern {
                throw .invalid("base64_data: a decoded content cannot be the fast_pattern")
            }
        }
        let list = Int(buffer.rawValue)
        for i in lists[list].indices {
            if case .base64Decode(var d) = lists[list][i] {
                d.data = data
                lists[list][i] = .base64Decode(d)
                return
            }
        }
    }

    /// Finishes the rule: checks it, builds the sorted lists and picks the fast pattern.
    mutating func finish() throws(RuleError) -> Signature {
        guard sawSid else { throw .invalid("rule has no sid") }
        try attachBase64Data()
        var sig = signature
        sig.lists = []
        for b in BufferID.allCases {
            if !lists[Int(b.rawValue)].isEmpty {
                sig.lists.append(BufferMatchList(buffer: b, elements: lists[Int(b.rawValue)]))
            }
            // Transformed lists of the same buffer right after it (in order of first use).
            for (i, k) in transformedKeys.enumerated() where k.buffer == b && !lists[BufferID.count + i].isEmpty {
                sig.lists.append(BufferMatchList(buffer: b, elements: lists[BufferID.count + i], transforms: k.chain))
            }
        }
        if let b = unconsumedTransforms ?? (stickyOpen && !stickyTransforms.isEmpty ? sticky : nil) {
            throw .invalid("the transforms on \(b.name) are not followed by a content or pcre (previous transforms not consumed)")
        }
        try TransformValidation.check(sig)
        sig.variableCount = variables.count
        if sig.variableCount > ExtractedVariables.capacity {
            throw .invalid("more than \(ExtractedVariables.capacity) byte_extract variables")
        }
        FastPatternSelection.select(&sig)
        return sig
    }
}
