import UTMCore

/// The state one rule's options are parsed into, in order. Keyword parsers (`Keywords/`) only
/// see this type: it knows the current sticky buffer, the last content (which content modifiers
/// apply to) and the rule's `byte_extract` variables.
public struct SignatureBuilder {
    public var signature: Signature
    /// The sticky buffer set by `http.uri;`, `file_data;`, `dns_query;`..., nil for payload.
    public var sticky: BufferID?
    /// Match lists being built, indexed by `BufferID.rawValue`.
    var lists: [[MatchElement]] = Array(repeating: [], count: BufferID.count)
    /// The last content: modifiers (`nocase`, `depth`, `http_uri`...) apply to it.
    var lastContent: (buffer: BufferID, index: Int)?
    /// The last content or pcre: relative byte_* and isdataat go to its buffer.
    var lastMatch: (buffer: BufferID, index: Int)?
    /// `byte_extract` names → variable slot.
    var variables: [String: Int] = [:]
    /// The list the rule's `base64_decode` went to; `finish()` hands it the `base64_data`
    /// elements (collected under `BufferID.base64Data`).
    var base64DecodeBuffer: BufferID?
    var explicitPriority = false
    var sawSid = false
    var fastPatternSet = false
    let classifications: ClassificationTable
    /// Flowbit names of the whole rule set, interned as they appear.
    var flowbitNames: FlowbitNames

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
        return lastMatch?.buffer ?? .payload
    }

    mutating func append(_ element: MatchElement, to buffer: BufferID) {
        lists[Int(buffer.rawValue)].append(element)
        let idx = lists[Int(buffer.rawValue)].count - 1
        switch element {
        case .content:
            lastContent = (buffer, idx)
            lastMatch = (buffer, idx)
        case .pcre:
            lastMatch = (buffer, idx)
        default:
            break
        }
    }

    /// Applies `body` to the last content, or throws naming the modifier that had no content.
    mutating func modifyLastContent(_ keyword: String, _ body: (inout ContentMatch) throws(RuleError) -> Void) throws(RuleError) {
        guard let (buffer, index) = lastContent,
              case .content(var c) = lists[Int(buffer.rawValue)][index] else {
            throw .invalid("'\(keyword)' needs a preceding content")
        }
        try body(&c)
        lists[Int(buffer.rawValue)][index] = .content(c)
    }

    /// Moves the last content to `buffer` (Suricata 4 content modifiers: `http_uri`...).
    mutating func moveLastContent(to buffer: BufferID, keyword: String) throws(RuleError) {
        guard let (from, index) = lastContent else { throw .invalid("'\(keyword)' needs a preceding content") }
        if from == buffer { return }
        guard from == .payload else {
            throw .invalid("'\(keyword)': the content already inspects \(from.name)")
        }
        if sticky != nil { throw .invalid("'\(keyword)' cannot follow a sticky buffer; use one or the other") }
        let element = lists[Int(from.rawValue)].remove(at: index)
        lists[Int(buffer.rawValue)].append(element)
        lastContent = (buffer, lists[Int(buffer.rawValue)].count - 1)
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
        for b in BufferID.allCases where !lists[Int(b.rawValue)].isEmpty {
            sig.lists.append(BufferMatchList(buffer: b, elements: lists[Int(b.rawValue)]))
        }
        sig.variableCount = variables.count
        if sig.variableCount > ExtractedVariables.capacity {
            throw .invalid("more than \(ExtractedVariables.capacity) byte_extract variables")
        }
        FastPatternSelection.select(&sig)
        return sig
    }
}
