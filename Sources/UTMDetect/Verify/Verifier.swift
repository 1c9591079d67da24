import UTMCore
import UTMRegex

/// The outcome of verifying one rule against one packet or transaction.
public enum VerifyResult: Equatable, Sendable {
    case noMatch
    /// The rule matched; `alert` is false for `noalert` / `flowbits:noalert` rules.
    case match(alert: Bool)
}

/// Per-rule verification with Suricata's semantics: the header, flow, dsize, header keywords
/// and flowbit conditions, then each buffer's match list in order with relative matching and
/// backtracking (a content or pcre is retried at later positions when a following relative
/// element fails), then the flowbit actions of a matching rule.
///
/// The signature fields verification reads. `Signature` has them; `SignatureBox` forwards them
/// to its signature, so the detection engine verifies a boxed signature without copying it.
protocol VerifiedSignature {
    var proto: RuleProtocol { get }
    var source: AddressSet { get }
    var sourcePorts: PortSet { get }
    var destination: AddressSet { get }
    var destinationPorts: PortSet { get }
    var bidirectional: Bool { get }
    var noalert: Bool { get }
    var flow: FlowMatch { get }
    var flowbits: [FlowbitOp] { get }
    var dsize: IntMatch? { get }
    var headerMatches: [HeaderMatch] { get }
    var lists: [BufferMatchList] { get }
}

extension Signature: VerifiedSignature {}

extension SignatureBox: VerifiedSignature {
    var proto: RuleProtocol { sig.proto }
    var source: AddressSet { sig.source }
    var sourcePorts: PortSet { sig.sourcePorts }
    var destination: AddressSet { sig.destination }
    var destinationPorts: PortSet { sig.destinationPorts }
    var bidirectional: Bool { sig.bidirectional }
    var noalert: Bool { sig.noalert }
    var flow: FlowMatch { sig.flow }
    var flowbits: [FlowbitOp] { sig.flowbits }
    var dsize: IntMatch? { sig.dsize }
    var headerMatches: [HeaderMatch] { sig.headerMatches }
    var lists: [BufferMatchList] { sig.lists }
}

/// One verifier per worker thread: it holds the byte_extract variables and the step budget.
/// Verifying never allocates.
public struct Verifier: Sendable {
    /// Bound on inspection steps per buffer (Suricata's inspection recursion limit): a rule
    /// whose backtracking exceeds it does not match.
    public var stepLimit: Int
    /// How many verifications hit `stepLimit`.
    public private(set) var limitHits = 0
    @usableFromInline var vars = ExtractedVariables()
    @usableFromInline var steps = 0
    /// The transformed buffers of the current inspection (the engine starts each inspection
    /// with `derived.begin()` and scans the derived buffers that carry prefilter patterns from
    /// the same cache).
    public let derived: DerivedBuffers
    /// Where `base64_decode` writes (Suricata's per-thread base64 buffer): sized once by
    /// `reserveBase64` from the rule set, so decoding never allocates per packet.
    var base64: ByteSlab?
    /// This worker's `xbits`/`hostbits` store (nil when no rule uses them: checks then read
    /// "not set" and changes are dropped).
    public var hostBits: HostBitTable?
    /// This worker's per-flow `flowint` values (nil when no rule uses them: tests then do not
    /// match and changes are dropped) and the flow slot being verified (-1: no flow), set by
    /// the engine at each inspection (`DetectEngine.run` / `runStream`).
    public var flowInts: FlowIntTable?
    public var flowSlot = -1
    /// The DCE/RPC side's byte order while a signature is verified (`PacketFacts`), for the
    /// `dce` option of the byte keywords.
    var dceLittleEndian = false
    /// The packet being verified has no flow (a full flow table, a held fragment, an
    /// unreadable transport header, ARP; set by `DetectEngine.run`): every `flowbits` and
    /// `flowint` test fails, as Suricata's do without `p->flow` (`isnotset` included).
    public var flowless = false
    /// False while the engine verifies on trial (the stream window: kept bytes + new bytes,
    /// then the kept bytes alone): a match's flowint and host-bit changes wait until the
    /// engine keeps it (`applyChanges`), so a repeat never applies them twice.
    public var flowIntChanges = true
    /// Stream inspection: the stream offset of the payload buffer's first byte (0: the buffer
    /// begins at the stream's first byte, or it is a packet's payload). A rule's positions are
    /// the stream's, as Suricata's `stream_start_offset` makes them: a non-relative content's
    /// `depth` (and `startswith`) ending at or before it cannot match, and its `offset` and
    /// `depth` count from the stream's first byte (Suricata adjusts `depth` only, so its
    /// `offset` counts from an arbitrary window start); an absolute `isdataat` asks whether the
    /// stream has that byte. Other absolute positions (`byte_test`, `byte_jump`,
    /// `byte_extract`, `byte_math`, `base64_decode` without `relative`) read bytes before the
    /// buffer and do not match.
    public var streamBase = 0
    /// `streamBase` for the list being run: payload lists without transforms only.
    @usableFromInline var base = 0
    /// During an HTTP body inspection (BodyAccumulators.swift): the body's length up to the
    /// end of the inspected bytes (-1: not a body inspection), and whether the body ends there.
    /// `bsize` on an untransformed body buffer reads it instead of the inspected bytes'
    /// count, which is only a window of a body larger than one inspection.
    public var bodyLength = -1
    public var bodyLengthFinal = false
    /// A body inspected per feed (no accumulator, so no list of the signatures that already
    /// matched it): its length before these bytes (-1: nothing of it was inspected before, or
    /// the accumulator's matched list stops repeats). A lower bound (`bsize:>N`) already met
    /// then was judged on an earlier feed; it is judged only on the feed that crosses it, so a
    /// 20,000-byte body in 1,400-byte segments alerts once, not on every segment past N.
    public var bodyLengthBefore = -1
    /// Set per list while it runs: the length `bsize` reads (-1: the buffer's own count).
    @usableFromInline var lengthOverride = -1
    @usableFromInline var lengthFinal = true
    @usableFromInline var lengthBefore = -1

    /// The file of a file inspection (session 9: `filesize`, `filemd5` & co. read it). A
    /// reference, filled by the engine before the inspection and cleared after it, so the
    /// verifier (copied per candidate in places) does not grow by a file's digests.
    public let file = FileFacts()
    /// Where `ip.src` / `ip.dst` are written for an inspection (16 bytes each: allocated with the
    /// verifier, never per packet).
    let addresses = ByteSlab(capacity: 32)

    public init(stepLimit: Int = 3000, derived: DerivedBuffers = DerivedBuffers()) {
        self.stepLimit = stepLimit
        self.derived = derived
    }

    /// `ip.src` / `ip.dst`: the address as 4 or 16 network-order bytes in `addresses` (ARP
    /// packets have none: Suricata's ip.src reads only IP headers).
    func addressView(_ buffer: BufferID, _ source: IPAddress, _ destination: IPAddress, _ isARP: Bool) -> ByteView? {
        if isARP { return nil }
        let a = buffer == .ipSrc ? source : destination
        let at = buffer == .ipSrc ? 0 : 16
        if a.isV6 {
            addresses.write(word: a.hi.byteSwapped, at: at)
            addresses.write(word: a.lo.byteSwapped, at: at &+ 8)
            return addresses.view(at, 16)
        }
        let v = a.v4Value
        addresses.write(UInt8(truncatingIfNeeded: v >> 24), at: at)
        addresses.write(UInt8(truncatingIfNeeded: v >> 16), at: at &+ 1)
        addresses.write(UInt8(truncatingIfNeeded: v >> 8), at: at &+ 2)
        addresses.write(UInt8(truncatingIfNeeded: v), at: at &+ 3)
        return addresses.view(at, 4)
    }

    /// Sizes the base64 output for `capacity` decoded bytes (the largest a rule asks for).
    public mutating func reserveBase64(_ capacity: Int) {
        if capacity > 0, (base64?.capacity ?? 0) < capacity { base64 = ByteSlab(capacity: capacity) }
    }

    /// Whether the rule header admits the packet (protocol, addresses, ports, direction `<>`).
    public func headerMatches(_ sig: Signature, _ p: PacketFacts) -> Bool { Verifier.headerMatches(of: sig, p) }

    /// Static: it reads no verifier state, and as a method the call from `verify` (a mutating
    /// method) copied the whole verifier first (153 bytes since session 8: a `memcpy` per
    /// candidate, ~3 M instructions on the 10 MB capture).
    @inline(__always)
    static func headerMatches<S: VerifiedSignature>(of sig: S, _ p: PacketFacts) -> Bool {
        guard p.isARP ? sig.proto.arp : sig.proto.admits(ipProto: p.ipProto) else { return false }
        // Ports first: a range lookup is cheaper than an address-set lookup, and most candidates
        // the prefilter brings that fail here fail on a port.
        if sig.sourcePorts.contains(p.sourcePort) && sig.destinationPorts.contains(p.destinationPort)
            && sig.source.contains(p.source) && sig.destination.contains(p.destination) {
            return true
        }
        return sig.bidirectional
            && sig.sourcePorts.contains(p.destinationPort) && sig.destinationPorts.contains(p.sourcePort)
            && sig.source.contains(p.destination) && sig.destination.contains(p.source)
    }

    /// Verifies `sig` against one packet/transaction. On a match, applies its flowbit actions.
    public mutating func verify(_ sig: Signature, packet p: PacketFacts, buffers: InspectionBuffers,
                                flowbits: inout FlowBits) -> VerifyResult {
        // One call is one inspection: transformed buffers are computed afresh.
        derived.begin()
        return verify(signature: sig, packet: p, buffers: buffers, flowbits: &flowbits)
    }

    /// The same, generic over where the fields are read from: `DetectEngine.run` passes the
    /// `SignatureBox` itself, so each field is read through the reference. Passing `box.sig`
    /// copied the 384-byte struct (`memcpy`) per candidate, inlined or not (~5 M instructions
    /// on the 10 MB capture).
    @inline(__always)
    mutating func verify<S: VerifiedSignature>(signature sig: S, packet p: borrowing PacketFacts, buffers: InspectionBuffers,
                                               flowbits: inout FlowBits) -> VerifyResult {
        guard Verifier.headerMatches(of: sig, p) else { return .noMatch }
        dceLittleEndian = p.dceLittleEndian
        // The packet's fields as plain values first: an `&&`/`||` operand is an autoclosure,
        // and one that captured `p` made the compiler copy the whole 153-byte PacketFacts on
        // every call (~3 M instructions on the 10 MB capture).
        let appProto = p.appProto, isStream = p.isStream, payloadSize = p.payloadSize
        // `http` rules cover HTTP/2 too (Suricata 7's http is both versions); `http1` does not.
        // `dcerpc` rules cover SMB flows too (Suricata's AppProtoEquals: DCE/RPC over SMB); their
        // call keywords and stub buffer have nothing to match there yet.
        if let app = sig.proto.app, app != appProto
            && !(app == .http && appProto == .http2 && !sig.proto.http1Only)
            && !(app == .dcerpc && appProto == .smb) { return .noMatch }
        if sig.proto.packetOnly && isStream { return .noMatch }
        if sig.proto.streamOnly && !isStream { return .noMatch }
        guard flowMatches(sig.flow, p) else { return .noMatch }
        if let d = sig.dsize {
            if isStream || !d.matches(payloadSize) { return .noMatch }
        }
        var hi = 0
        while hi < sig.headerMatches.count {
            if !headerMatch(sig.headerMatches[hi], p) { return .noMatch }
            hi &+= 1
        }
        if flowless && !sig.flowbits.isEmpty { return .noMatch }
        var fi = 0
        while fi < sig.flowbits.count {
            let op = sig.flowbits[fi]
            if op.kind == .isSet && !flowbits.satisfies(op, wantSet: true) { return .noMatch }
            if op.kind == .isNotSet && !flowbits.satisfies(op, wantSet: false) { return .noMatch }
            fi &+= 1
        }
        var li = 0
        while li < sig.lists.count {
            let list = sig.lists[li]
            var found = buffers[list.buffer]
            if found == nil && list.buffer.isAddress { found = addressView(list.buffer, p.source, p.destination, p.isARP) }
            guard var view = found else { return .noMatch }
            if !list.transforms.isEmpty {
                guard let t = derived.view(slot: Int(list.derivedSlot), base: view, chain: list.transforms) else { return .noMatch }
                view = t
            }
            if list.buffer.isMultiLine {
                if !inspectLines(list, in: view) { return .noMatch }
            } else if bodyLength >= 0 || streamBase != 0 {
                if !inspectPositioned(list, in: view) { return .noMatch }
            } else if !inspect(list, in: view) { return .noMatch }
            li &+= 1
        }
        fi = 0
        while fi < sig.flowbits.count {
            flowbits.apply(sig.flowbits[fi])
            fi &+= 1
        }
        if flowIntChanges { applyChanges(sig, p) }
        return .match(alert: !sig.noalert)
    }

    /// A match's changes to per-flow integers and host bits (flowbits are the caller's
    /// `inout`). Deferred by a trial verification (`flowIntChanges` false) and applied here
    /// once the caller keeps its match (a stream window match that is not a repeat).
    func applyChanges<S: VerifiedSignature>(_ sig: S, _ p: borrowing PacketFacts) {
        if let table = flowInts { applyFlowInts(sig.headerMatches, table) }
        if let table = hostBits {
            var hi = 0
            while hi < sig.headerMatches.count {
                if case .hostBit(let op) = sig.headerMatches[hi], !op.isCheck { table.apply(op, p) }
                hi &+= 1
            }
        }
    }

    /// The rule matched: its `flowint` changes, in rule order. Out of line: few rules have any.
    @inline(never)
    func applyFlowInts(_ matches: [HeaderMatch], _ table: FlowIntTable) {
        var i = 0
        while i < matches.count {
            if case .flowInt(let op) = matches[i], op.isChange { table.apply(op, slot: flowSlot) }
            i &+= 1
        }
    }

    /// `inspect` with the positions a stream chunk (`streamBase`) or an HTTP body inspection
    /// (`bodyLength`) give the list: kept out of `verify`'s loop, whose other lists (nearly
    /// all) need neither.
    @inline(never)
    mutating func inspectPositioned(_ list: BufferMatchList, in view: ByteView) -> Bool {
        let body = list.buffer == .fileData || list.buffer == .httpServerBody || list.buffer == .httpClientBody
        if bodyLength >= 0 && body && list.transforms.isEmpty {
            lengthOverride = bodyLength
            lengthFinal = bodyLengthFinal
            lengthBefore = bodyLengthBefore
        }
        base = list.buffer == .payload && list.transforms.isEmpty ? streamBase : 0
        let ok = inspect(list, in: view)
        base = 0
        lengthOverride = -1
        return ok
    }

    /// A multi-buffer's list on each CRLF-separated line of `view` until one matches (Suricata
    /// runs it on each buffer instance; a content never spans two headers).
    mutating func inspectLines(_ list: BufferMatchList, in view: ByteView) -> Bool {
        var start = 0
        let n = view.count
        while start <= n {
            var end = start
            while end < n {
                if view.u8(end) == 0x0D && view.u8(end &+ 1) == 0x0A { break }
                end &+= 1
            }
            if end > start, let line = view.slice(start, end &- start) {
                if inspect(list, in: line) { return true }
            }
            if end >= n { break }
            start = end &+ 2
        }
        return false
    }

    /// Runs one buffer's match list (exposed for the engine's per-buffer inspection and tests).
    public mutating func inspect(_ list: BufferMatchList, in view: ByteView) -> Bool {
        steps = 0
        let r = run(list.elements, 0, view, 0)
        if steps > stepLimit { limitHits &+= 1 }
        return r == .match
    }

    // MARK: Packet-level tests

    @inlinable
    func flowMatches(_ f: FlowMatch, _ p: PacketFacts) -> Bool {
        if f.isEmpty { return true }
        if f.contains(.toServer) && p.direction != .toServer { return false }
        if f.contains(.toClient) && p.direction != .toClient { return false }
        if f.contains(.established) && !p.established { return false }
        if f.contains(.notEstablished) && p.established { return false }
        if f.contains(.onlyStream) && !p.isStream { return false }
        if f.contains(.noStream) && p.isStream { return false }
        if f.contains(.onlyFrag) && !p.isFragment { return false }
        if f.contains(.noFrag) && p.isFragment { return false }
        return true
    }

    func headerMatch(_ h: HeaderMatch, _ p: PacketFacts) -> Bool {
        switch h {
        case .tcpFlags(let required, let mode, let ignore):
            guard p.ipProto == 6 && !p.noTransport else { return false }
            let flags = p.tcpFlags & ~ignore
            switch mode {
            case UInt8(ascii: "+"): return flags & required == required
            case UInt8(ascii: "*"): return flags & required != 0
            case UInt8(ascii: "!"): return flags & required == 0
            default: return flags == required
            }
        case .icmpType(let m): return p.hasICMPHeader && m.matches(Int(p.icmpType))
        case .icmpCode(let m): return p.hasICMPHeader && m.matches(Int(p.icmpCode))
        case .icmpID(let v): return p.hasICMPHeader && Int(p.icmpID) == v
        case .ipID(let v): return Int(p.ipID) == v
        case .ipProto(let m): return m.matches(Int(p.ipProto))
        case .ttl(let m): return m.matches(Int(p.ttl))
        case .streamSize(let side, let m):
            guard p.ipProto == 6 else { return false }
            switch side {
            case .server: return m.matches(p.serverStreamBytes)
            case .client: return m.matches(p.clientStreamBytes)
            case .both: return m.matches(p.serverStreamBytes) && m.matches(p.clientStreamBytes)
            case .either: return m.matches(p.serverStreamBytes) || m.matches(p.clientStreamBytes)
            }
        case .sslVersion(let mask, let negated):
            let bit: UInt8
            switch p.tlsVersion {
            case 0x0002: bit = 1
            case 0x0300: bit = 2
            case 0x0301: bit = 4
            case 0x0302: bit = 8
            case 0x0303: bit = 16
            case 0x0304: bit = 32
            default: return false
            }
            return (mask & bit != 0) != negated
        case .sslState(let all, let none, let any):
            let s = p.tlsStates
            return s & all == all && s & none == 0 && (any == 0 || s & any != 0)
        case .ftpBounce:
            return p.ftpBounce
        case .ftpDataCommand(let c):
            return p.ftpDataCommand == c
        case .appLayerProtocol(let m):
            return m.matches(p.appProto)
        case .hostBit(let op):
            // Changes wait for the whole rule (Suricata's post-match list).
            guard op.isCheck else { return true }
            guard let table = hostBits else { return op.kind == .isNotSet }
            return table.check(op, p)
        case .dnsRRType(let m): return p.dnsRRTypes.any(m)
        case .dnsRcode(let m): return p.dnsRcode != 0xff && m.matches(Int(p.dnsRcode))
        case .anomaly(let m):
            switch m.layer {
            case .decode: return p.anomalies.decode & m.mask == m.mask
            case .stream: return p.anomalies.stream & m.mask == m.mask
            case .app: return p.anomalies.app & m.mask == m.mask && (m.proto == .unknown || m.proto == p.appProto)
            }
        case .flowInt(let op):
            if flowless { return false }
            guard !op.isChange else { return true }
            guard let table = flowInts else { return false }
            return table.check(op, slot: flowSlot)
        case .fragBits(let bits, let modifier):
            guard p.ipVersion == 4 else { return false }
            let have = p.ipFragBits
            switch modifier {
            case UInt8(ascii: "*"): return have & bits != 0
            case UInt8(ascii: "+"): return have & bits == bits && have != bits
            case UInt8(ascii: "!"): return have & bits != bits
            default: return have == bits
            }
        case .fragOffset(let m): return p.ipVersion != 0 && m.matches(Int(p.ipFragOffset))
        case .tcpSeq(let v): return p.hasTCPHeader && p.tcpSeq == v
        case .tcpAck(let v): return p.hasTCPHeader && p.tcpAck == v
        case .tcpWindow(let m): return p.hasTCPHeader && m.matches(Int(p.tcpWindow))
        case .tos(let m): return p.ipVersion == 4 && m.matches(Int(p.tos))
        case .ipOptions(let mask): return p.ipVersion == 4 && p.ipOptions & mask != 0
        case .sameIP: return p.ipVersion != 0 && p.source == p.destination
        case .icmpSeq(let m):
            guard !p.noTransport else { return false }
            let echo = p.ipProto == 1 ? (p.icmpType == 0 || p.icmpType == 8)
                : p.ipProto == 58 && (p.icmpType == 128 || p.icmpType == 129)
            return echo && m.matches(Int(p.icmpSeq))
        case .tcpMSS(let m): return p.hasTCPHeader && p.tcpMSS != 0 && m.matches(Int(p.tcpMSS))
        case .tlsVersion(let version, let raw):
            var v = p.tlsVersion
            if !raw && v >> 8 == 0x7f { v = 0x0304 }
            return v != 0 && v == version
        case .dnsOpcode(let m): return p.dnsOpcode != 0xff && m.matches(Int(p.dnsOpcode))
        case .dcerpcOpnum(let m): return p.dceOpnum >= 0 && m.matches(UInt16(truncatingIfNeeded: p.dceOpnum))
        case .dcerpcIface(let m):
            // Accepted by the server; without any_frag, offered in a first fragment.
            guard p.dceOpnum >= 0, p.dceIfaceState & 1 != 0, m.anyFrag || p.dceIfaceState & 2 != 0,
                  p.dceIfaceHi == m.hi, p.dceIfaceLo == m.lo else { return false }
            return m.version.map { $0.matches(Int(p.dceIfaceVersion)) } ?? true
        case .tlsCertChainLen(let m): return p.tlsCertCount >= 0 && m.matches(p.tlsCertCount)
        case .tlsCertValidity(let v): return v.matches(notBefore: p.tlsCertNotBefore, notAfter: p.tlsCertNotAfter, now: p.time)
        case .fileSize(let m): return file.sizeMatches(m)
        case .fileHash(let list): return file.hashMatches(list)
        }
    }

    // MARK: Match lists

    @usableFromInline
    enum Step { case match, noMatch, discontinue }

    /// Element `i` onwards, with `prevEnd` the end of the previous match (0 at the start).
    /// `.noMatch` lets the caller retry its own element at a later position; `.discontinue`
    /// means no position of any earlier element can help.
    @usableFromInline
    mutating func run(_ elements: [MatchElement], _ i: Int, _ buf: ByteView, _ prevEnd: Int) -> Step {
        if i >= elements.count { return .match }
        steps &+= 1
        if steps > stepLimit { return .discontinue }
        let nextIsRelative = i &+ 1 < elements.count && elements[i &+ 1].isRelative
        switch elements[i] {
        case .content(let c):
            return runContent(c, elements, i, buf, prevEnd, nextIsRelative)
        case .pcre(let m):
            return runPCRE(m, elements, i, buf, prevEnd, nextIsRelative)
        case .isDataAt(let d):
            let v = d.value.resolve(vars)
            // Absolute: whether the stream has a byte at `v` (bytes before `base` were there).
            var ok = d.relative ? prevEnd &+ v <= buf.count : v < base &+ buf.count
            if d.negated { ok.toggle() }
            if !ok { return d.relative ? .noMatch : .discontinue }
            return run(elements, i &+ 1, buf, prevEnd)
        case .byteTest(let t):
            if base != 0 && !t.relative { return .discontinue }
            let at = (t.relative ? prevEnd : 0) &+ t.offset.resolve(vars)
            guard var v = readNumber(buf, at, t.encoding) else { return t.relative ? .noMatch : .discontinue }
            if let mask = t.bitmask { v = applyMask(v, mask) }
            let target = UInt64(truncatingIfNeeded: t.value.resolve(vars))
            var ok: Bool
            switch t.op {
            case .less: ok = v < target
            case .greater: ok = v > target
            case .equal: ok = v == target
            case .and: ok = v & target != 0
            case .or: ok = v ^ target != 0
            case .lessEqual: ok = v <= target
            case .greaterEqual: ok = v >= target
            }
            if t.negated { ok.toggle() }
            if !ok { return t.relative ? .noMatch : .discontinue }
            return run(elements, i &+ 1, buf, prevEnd)
        case .byteJump(let j):
            if base != 0 && !j.relative { return .discontinue }
            let at = (j.relative ? prevEnd : 0) &+ j.offset.resolve(vars)
            guard var v = readNumber(buf, at, j.encoding) else { return j.relative ? .noMatch : .discontinue }
            if let mask = j.bitmask { v = applyMask(v, mask) }
            guard v < 1 << 32 else { return j.relative ? .noMatch : .discontinue }
            var jump = Int(v) &* j.multiplier
            if j.align, jump & 3 != 0 { jump = (jump &+ 3) & ~3 }
            let base = j.fromBeginning ? 0 : j.fromEnd ? buf.count : at &+ j.encoding.bytes
            var pos = base &+ jump &+ j.postOffset
            // Suricata: a jump before the start lands at the start; at or past the end fails.
            if pos < 0 { pos = 0 }
            guard pos < buf.count else { return j.relative ? .noMatch : .discontinue }
            return run(elements, i &+ 1, buf, pos)
        case .byteExtract(let e):
            if base != 0 && !e.relative { return .discontinue }
            let at = (e.relative ? prevEnd : 0) &+ e.offset
            guard let v = readNumber(buf, at, e.encoding), v < 1 << 32 else {
                return e.relative ? .noMatch : .discontinue
            }
            var value = Int(v) &* e.multiplier
            if e.align > 1, value % e.align != 0 { value = value &+ (e.align &- value % e.align) }
            vars[e.slot] = value
            return run(elements, i &+ 1, buf, at &+ e.encoding.bytes)
        case .length(let m):
            if lengthOverride >= 0 {
                // A body whose end is not known yet: only a lower bound already met is true
                // whatever follows (Suricata also takes `<` and `=` on the length so far).
                let grows = m.mode == .greater || m.mode == .greaterEqual
                if !(lengthFinal || grows) || !m.matches(lengthOverride) { return .discontinue }
                if grows && lengthBefore >= 0 && m.matches(lengthBefore) { return .discontinue }
            } else if !m.matches(buf.count) { return .discontinue }
            return run(elements, i &+ 1, buf, prevEnd)
        case .asn1(let o):
            if !o.matches(buf, prevEnd: prevEnd) { return .discontinue }
            return run(elements, i &+ 1, buf, prevEnd)
        case .entropy(let m):
            // A window from `offset` / of `bytes` is a position: on a later stream chunk it lies
            // before these bytes (as byte_test's does).
            if base != 0 && (m.offset > 0 || m.bytes > 0) { return .discontinue }
            if !m.matches(buf) { return .discontinue }
            return run(elements, i &+ 1, buf, prevEnd)
        case .base64Decode(let d):
            return runBase64(d, buf, prevEnd)
        case .dataset(let m):
            // The whole buffer, once: no earlier position can change the answer.
            if !m.matches(buf) { return .discontinue }
            return run(elements, i &+ 1, buf, prevEnd)
        case .byteMath(let m):
            if base != 0 && !m.relative { return .discontinue }
            let at = (m.relative ? prevEnd : 0) &+ m.offset
            guard let v = readNumber(buf, at, m.encoding),
                  let value = byteMath(v, m.op, UInt64(truncatingIfNeeded: m.rvalue.resolve(vars))) else {
                return m.relative ? .noMatch : .discontinue
            }
            var result = value
            if let mask = m.bitmask { result = applyMask(value, mask) }
            vars[m.slot] = Int(truncatingIfNeeded: result)
            return run(elements, i &+ 1, buf, at &+ m.encoding.bytes)
        }
    }

    /// `base64_decode` + `base64_data`: decode, then run the data list on the decoded bytes
    /// from their start. It ends the list (Suricata: "base64 is a terminal list"): a match of
    /// the data list is the list's match; otherwise an earlier relative match may retry.
    mutating func runBase64(_ d: Base64DecodeMatch, _ buf: ByteView, _ prevEnd: Int) -> Step {
        let failure: Step = d.relative ? .noMatch : .discontinue
        if base != 0 && !d.relative { return failure }
        let start = (d.relative ? prevEnd : 0) &+ d.offset
        guard !d.data.isEmpty, start >= 0, start < buf.count,
              let input = buf.slice(start, Swift.min(buf.count &- start, d.bytes)) else { return failure }
        // Rule sets reserve this when the engine is built; a verifier used alone sizes it here once.
        if (base64?.capacity ?? 0) < d.decodedCapacity { reserveBase64(d.decodedCapacity) }
        guard let out = base64 else { return failure }
        let n = Base64Decoder.decode(input, into: out, capacity: d.decodedCapacity)
        guard n > 0, let decoded = out.view(0, n) else { return failure }
        // `bsize` in the data list reads the decoded bytes' count, not the body's length the
        // enclosing body list set (`bsize:5` after decoding "aGVsbG8=" is about "hello").
        let savedLength = lengthOverride
        lengthOverride = -1
        let result = run(d.data, 0, decoded, 0)
        lengthOverride = savedLength
        return result == .match ? .match : failure
    }

    @usableFromInline
    mutating func runContent(_ c: ContentMatch, _ elements: [MatchElement], _ i: Int, _ buf: ByteView,
                             _ prevEnd: Int, _ nextIsRelative: Bool) -> Step {
        let len = c.pattern.count
        var start: Int
        var end = buf.count
        if c.isRelative {
            let dist = c.distance?.resolve(vars) ?? 0
            start = prevEnd &+ dist
            if let w = c.within { end = Swift.min(end, prevEnd &+ dist &+ w.resolve(vars)) }
            if start < 0 { start = 0 }
        } else if base != 0 {
            // Stream positions: the buffer begins `base` bytes into the stream.
            let off = c.startsWith ? 0 : Swift.max(0, c.offset?.resolve(vars) ?? 0)
            let limit = c.startsWith ? len : c.depth.map { off &+ $0.resolve(vars) }
            if let limit {
                // Wholly before these bytes: judged when they were inspected (Suricata: no
                // match, negated or not).
                if limit <= base { return .discontinue }
                end = Swift.min(end, limit &- base)
            }
            start = Swift.max(0, off &- base)
        } else if c.startsWith {
            start = 0
            end = Swift.min(end, len)
        } else {
            start = Swift.max(0, c.offset?.resolve(vars) ?? 0)
            if let d = c.depth { end = Swift.min(end, start &+ d.resolve(vars)) }
        }
        let failure: Step = c.isRelative ? .noMatch : .discontinue
        var from = start
        while true {
            var found: Int?
            if c.endsWith {
                let at = buf.count &- len
                if at >= from, at &+ len <= end, equalAt(c, buf, at) { found = at }
            } else {
                found = find(c, buf, from: from, end: end)
            }
            if c.negated {
                if found != nil { return failure }
                return run(elements, i &+ 1, buf, prevEnd)
            }
            guard let at = found else { return failure }
            switch run(elements, i &+ 1, buf, at &+ len) {
            case .match: return .match
            case .discontinue: return .discontinue
            case .noMatch:
                if !nextIsRelative || c.endsWith { return .discontinue }
                from = at &+ 1
                steps &+= 1
                if steps > stepLimit { return .discontinue }
            }
        }
    }

    @usableFromInline
    mutating func runPCRE(_ m: PCREMatch, _ elements: [MatchElement], _ i: Int, _ buf: ByteView,
                          _ prevEnd: Int, _ nextIsRelative: Bool) -> Step {
        let base = m.relative ? Swift.min(Swift.max(prevEnd, 0), buf.count) : 0
        let subject = buf.dropFirst(base)
        let failure: Step = m.relative ? .noMatch : .discontinue
        var from = 0
        while true {
            let found = m.regex.firstMatch(in: subject, from: from)
            if m.negated {
                if found != nil { return failure }
                return run(elements, i &+ 1, buf, prevEnd)
            }
            guard let hit = found else { return failure }
            switch run(elements, i &+ 1, buf, base &+ hit.end) {
            case .match: return .match
            case .discontinue: return .discontinue
            case .noMatch:
                if !nextIsRelative { return .discontinue }
                from = hit.start &+ 1
                if from > subject.count { return .noMatch }
                steps &+= 1
                if steps > stepLimit { return .discontinue }
            }
        }
    }

    // MARK: Helpers

    /// First position `p >= from` with `pattern` at `p` and `p + len <= end`.
    @usableFromInline
    func find(_ c: ContentMatch, _ buf: ByteView, from: Int, end: Int) -> Int? {
        let len = c.pattern.count
        let last = Swift.min(end, buf.count) &- len
        if from > last || len == 0 { return nil }
        return c.folded.withUnsafeBufferPointer { pat -> Int? in
            let first = pat[0]
            var p = from
            // The first byte has one form (case-sensitive, or not a letter): jump between its
            // occurrences with ByteView's unchecked scan instead of testing every position
            // with a bounds-checked read (content search was ~7 % of the packet path).
            // A nocase first letter: jump between the occurrences of either case of it.
            let isLetter = first >= 0x61 && first <= 0x7a
            let folded = c.nocase && isLetter
            let starts = buf.prefix(last &+ 1)   // only positions a match may start at
            while p <= last {
                guard let q = folded ? starts.firstIndex(ofLetterIgnoringCase: first, from: p)
                                     : starts.firstIndex(of: first, from: p) else { return nil }
                var k = 1
                if c.nocase {
                    while k < len, asciiLowerByte(buf[checked: q &+ k]) == pat[k] { k &+= 1 }
                } else {
                    while k < len, buf[checked: q &+ k] == pat[k] { k &+= 1 }
                }
                if k == len { return q }
                p = q &+ 1
            }
            return nil
        }
    }

    @usableFromInline
    func equalAt(_ c: ContentMatch, _ buf: ByteView, _ at: Int) -> Bool {
        guard at >= 0, at &+ c.pattern.count <= buf.count else { return false }
        return find(c, buf, from: at, end: at &+ c.pattern.count) == at
    }

    /// Reads an unsigned number: `bytes` binary bytes in the given byte order, or up to `bytes`
    /// ASCII digits in `stringBase` (at least one digit).
    @usableFromInline
    func readNumber(_ buf: ByteView, _ at: Int, _ e: NumberEncoding) -> UInt64? {
        guard at >= 0, e.bytes > 0, at &+ e.bytes <= buf.count else { return nil }
        if e.stringBase == 0 {
            // `dce`: the byte order of the DCE/RPC PDU whose stub is inspected.
            let little = e.littleEndian || (e.dce && dceLittleEndian)
            var v: UInt64 = 0
            var k = 0
            while k < e.bytes {
                let b = UInt64(buf[checked: little ? at &+ e.bytes &- 1 &- k : at &+ k])
                v = v << 8 | b
                k &+= 1
            }
            return v
        }
        var v: UInt64 = 0
        var digits = 0
        var k = 0
        let base = UInt64(e.stringBase)
        while k < e.bytes {
            let c = buf[checked: at &+ k]
            var d: UInt64
            switch c {
            case 0x30 ... 0x39: d = UInt64(c &- 0x30)
            case 0x61 ... 0x66: d = UInt64(c &- 0x61 &+ 10)
            case 0x41 ... 0x46: d = UInt64(c &- 0x41 &+ 10)
            default: d = 99
            }
            if d >= base { break }
            let (m, o1) = v.multipliedReportingOverflow(by: base)
            let (s, o2) = m.addingReportingOverflow(d)
            if o1 || o2 { return nil }
            v = s
            digits &+= 1
            k &+= 1
        }
        return digits > 0 ? v : nil
    }

    /// `byte_math`'s arithmetic in 64-bit unsigned (C's wrap-around, as Suricata); a division
    /// by zero fails the match instead of trapping. Shifts of 64 or more give 0.
    @usableFromInline
    func byteMath(_ v: UInt64, _ op: ByteMathMatch.Operator, _ r: UInt64) -> UInt64? {
        switch op {
        case .add: return v &+ r
        case .subtract: return v &- r
        case .multiply: return v &* r
        case .divide: return r == 0 ? nil : v / r
        case .shiftLeft: return r >= 64 ? 0 : v << r
        case .shiftRight: return r >= 64 ? 0 : v >> r
        }
    }

    /// Suricata's bitmask: keep the masked bits, shifted down past the mask's trailing zeros.
    @usableFromInline
    func applyMask(_ v: UInt64, _ mask: UInt64) -> UInt64 {
        guard mask != 0 else { return 0 }
        return (v & mask) >> UInt64(mask.trailingZeroBitCount)
    }
}
