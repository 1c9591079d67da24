import UTMCore
import UTMRegex

/// What a matching rule does (the header's first word).
public enum RuleAction: UInt8, Sendable {
    case alert, drop, reject, pass
    /// Suricata's rejectsrc/rejectdst/rejectboth are rejects with a side.
    case rejectSource, rejectDestination, rejectBoth
}

/// The transport a rule applies to, and the app-layer protocol it requires, from the header's
/// protocol word (`tcp`, `http`, `dns`...).
public struct RuleProtocol: Sendable, Equatable {
    /// IP protocol number, or nil for `ip` (any).
    public var ipProto: UInt8?
    /// Whether the rule applies to both TCP and UDP (`dns` rules do).
    public var alsoUDP: Bool
    /// Required app-layer protocol (`http`, `tls`...), nil when any.
    public var app: AppProto?
    /// tcp-pkt / tcp-stream restrict which payload a rule sees.
    public var packetOnly: Bool
    public var streamOnly: Bool
    /// The word as written, for messages.
    public var name: String
    /// For protocols the engine has no parser for yet (`smtp`, `ftp`, `ssh`, `smb`...): the
    /// rule is kept as a TCP rule on its ports and this records what Suricata would require.
    public var unparsedApp: String?
    /// `arp` (Suricata 9): the rule matches ARP packets and no IP packet; `ip` rules do not
    /// match ARP. Derived from the protocol word, so the compiled bundle needs no new field.
    public var arp: Bool
    /// `http1` (Suricata 7): HTTP/1 only, where `http` also matches HTTP/2 flows. Derived from
    /// the protocol word like `arp`, so bundles need no new field.
    public var http1Only: Bool

    public init(name: String, ipProto: UInt8?, alsoUDP: Bool = false, app: AppProto? = nil,
                packetOnly: Bool = false, streamOnly: Bool = false) {
        self.name = name; self.ipProto = ipProto; self.alsoUDP = alsoUDP; self.app = app
        self.packetOnly = packetOnly; self.streamOnly = streamOnly
        self.arp = name == "arp"
        self.http1Only = name == "http1"
    }

    /// Whether a packet of IP protocol `proto` can match.
    @inlinable
    public func admits(ipProto proto: UInt8) -> Bool {
        if arp { return false }
        guard let ipProto else { return true }
        return proto == ipProto || (alsoUDP && proto == 17)
    }
}

/// An integer that is a constant or a `byte_extract` variable of the same rule.
@frozen
public enum ValueRef: Sendable, Equatable {
    case constant(Int)
    case variable(Int)

    @inlinable
    public func resolve(_ vars: borrowing ExtractedVariables) -> Int {
        switch self {
        case .constant(let v): return v
        case .variable(let i): return vars[i]
        }
    }
}

/// One `content` with every modifier resolved.
public struct ContentMatch: Sendable {
    /// The bytes to find, as written (hex and escapes decoded).
    public var pattern: [UInt8]
    /// Lower-cased pattern when `nocase` (compared against lower-cased subject bytes).
    public var folded: [UInt8]
    public var nocase = false
    public var negated = false
    public var offset: ValueRef?
    public var depth: ValueRef?
    public var distance: ValueRef?
    public var within: ValueRef?
    public var startsWith = false
    public var endsWith = false
    public var rawbytes = false
    public var fastPattern = false
    public var fastPatternOnly = false
    /// `fast_pattern:offset,length`: only this slice goes to the prefilter.
    public var fastPatternChop: (offset: Int, length: Int)?

    public init(pattern: [UInt8]) {
        self.pattern = pattern
        self.folded = pattern
    }

    /// Relative to the previous match in the same buffer.
    public var isRelative: Bool { distance != nil || within != nil }
}

/// One `pcre` option.
public struct PCREMatch: Sendable {
    public var regex: Regex
    public var negated: Bool
    public var relative: Bool
    /// The text between the slashes, for messages and rule dumps.
    public var source: String
}

/// `isdataat`.
public struct IsDataAtMatch: Sendable {
    public var value: ValueRef
    public var relative: Bool
    public var negated: Bool
}

/// How a byte_* keyword reads its number: `nbytes` binary bytes (big or little endian) or as
/// ASCII text in a base.
public struct NumberEncoding: Sendable, Equatable {
    public var bytes: Int
    public var littleEndian = false
    /// 0 for binary; 8, 10 or 16 for `string,oct|dec|hex`.
    public var stringBase = 0
    public var dce = false
}

public enum ByteTestOperator: UInt8, Sendable {
    case less, greater, equal, and, or, lessEqual, greaterEqual
}

/// `byte_test`.
public struct ByteTestMatch: Sendable {
    public var encoding: NumberEncoding
    public var op: ByteTestOperator
    public var negated: Bool
    public var value: ValueRef
    public var offset: ValueRef
    public var relative: Bool
    public var bitmask: UInt64?
}

/// `byte_jump`.
public struct ByteJumpMatch: Sendable {
    public var encoding: NumberEncoding
    public var offset: ValueRef
    public var relative: Bool
    public var multiplier: Int = 1
    public var align = false
    public var fromBeginning = false
    public var fromEnd = false
    public var postOffset = 0
    public var bitmask: UInt64?
}

/// `byte_extract`: reads a number into a rule variable later options refer to by name.
public struct ByteExtractMatch: Sendable {
    public var encoding: NumberEncoding
    public var offset: Int
    public var relative: Bool
    public var multiplier: Int = 1
    public var align = 0
    public var slot: Int
    public var bitmask: UInt64?
}

/// `byte_math`: reads a number, applies `op` with `rvalue`, then the bitmask, and stores the
/// result in a rule variable (shared with byte_extract's) that later options may name.
public struct ByteMathMatch: Sendable {
    public enum Operator: UInt8, Sendable { case add, subtract, multiply, divide, shiftLeft, shiftRight }
    public var encoding: NumberEncoding
    public var offset: Int
    public var relative: Bool
    public var op: Operator
    public var rvalue: ValueRef
    public var slot: Int
    public var bitmask: UInt64?
}

/// An integer comparison (`dsize`, `urilen`, `itype`...): `N`, `<N`, `>N`, `<=N`, `>=N`, `!N`,
/// `N<>M` (exclusive range, as Suricata), `!N-M` (outside that range: Suricata 8's negated range).
public struct IntMatch: Sendable, Equatable {
    public enum Mode: UInt8, Sendable { case equal, notEqual, less, greater, lessEqual, greaterEqual, range, notRange }
    public var mode: Mode
    public var a: Int
    public var b: Int = 0

    @inlinable
    public func matches(_ v: Int) -> Bool {
        switch mode {
        case .equal: return v == a
        case .notEqual: return v != a
        case .less: return v < a
        case .greater: return v > a
        case .lessEqual: return v <= a
        case .greaterEqual: return v >= a
        case .range: return v > a && v < b
        case .notRange: return v <= a || v >= b
        }
    }
}

/// One step of a buffer's match list, evaluated in order.
public enum MatchElement: Sendable {
    case content(ContentMatch)
    case pcre(PCREMatch)
    case isDataAt(IsDataAtMatch)
    case byteTest(ByteTestMatch)
    case byteJump(ByteJumpMatch)
    case byteExtract(ByteExtractMatch)
    /// `urilen` and similar: a test of the whole buffer's length.
    case length(IntMatch)
    /// `asn1`: BER checks from an absolute offset or relative to the previous match.
    case asn1(ASN1Options)
    /// `byte_math`: arithmetic on a number read from the buffer, into a rule variable.
    case byteMath(ByteMathMatch)
    /// `base64_decode` and the `base64_data` elements run on what it decoded.
    case base64Decode(Base64DecodeMatch)
    /// `dataset` / `datarep` (session 9): the whole buffer (after its transforms) looked up in
    /// a named set (`Engine/Datasets.swift`).
    case dataset(DatasetMatch)
    /// `entropy` (Suricata 8): the Shannon entropy of a window of the buffer (session 9).
    case entropy(EntropyMatch)

    /// Whether this element's position depends on the previous match in the list.
    public var isRelative: Bool {
        switch self {
        case .content(let c): return c.isRelative
        case .pcre(let p): return p.relative
        case .isDataAt(let i): return i.relative
        case .byteTest(let b): return b.relative
        case .byteJump(let b): return b.relative
        case .byteExtract(let b): return b.relative
        case .length: return false
        // Never makes an earlier match retry: Suricata evaluates it once, after the payload list.
        case .asn1: return false
        case .byteMath(let m): return m.relative
        case .base64Decode(let d): return d.relative
        // The whole buffer, wherever the previous match ended (Suricata's dataset ignores it).
        case .dataset: return false
        case .entropy: return false
        }
    }
}

/// The match list of one buffer.
public struct BufferMatchList: Sendable {
    public var buffer: BufferID
    /// The definitions' number for this (buffer, chain), 1...: the derived buffer's cache slot
    /// and prefilter automaton (`DetectDefinitions.derived`). 0: none assigned (computed on
    /// each use). Not stored in bundles: assigned again at load. A UInt16 beside `buffer`
    /// (declaration order is layout order) so the list grows by the chain's pointer only: it is
    /// kept for every list of 18k rules.
    public var derivedSlot: UInt16 = 0
    public var elements: [MatchElement]
    /// Transforms applied to `buffer`, in order, before `elements` are matched (empty: the
    /// buffer as it is). The same buffer with another chain is another list.
    public var transforms: [Transform] = []

    public init(buffer: BufferID, elements: [MatchElement], transforms: [Transform] = []) {
        self.buffer = buffer
        self.elements = elements
        self.transforms = transforms
    }
}

/// `flow:` options as bits.
public struct FlowMatch: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let established = FlowMatch(rawValue: 1 << 0)
    public static let notEstablished = FlowMatch(rawValue: 1 << 1)
    public static let stateless = FlowMatch(rawValue: 1 << 2)
    public static let toServer = FlowMatch(rawValue: 1 << 3)
    public static let toClient = FlowMatch(rawValue: 1 << 4)
    public static let onlyStream = FlowMatch(rawValue: 1 << 5)
    public static let noStream = FlowMatch(rawValue: 1 << 6)
    public static let onlyFrag = FlowMatch(rawValue: 1 << 7)
    public static let noFrag = FlowMatch(rawValue: 1 << 8)
}

/// One `flowbits` operation. Names are interned to indices at load (`FlowbitNames`).
public struct FlowbitOp: Sendable, Equatable {
    public enum Kind: UInt8, Sendable { case set, unset, toggle, isSet, isNotSet }
    public var kind: Kind
    /// Interned indices; several for `a|b` (any) or `a&b` (all).
    public var bits: [UInt16]
    /// True for `|` lists: one of the bits suffices.
    public var any: Bool
}

/// `threshold` and `detection_filter`.
public struct ThresholdSpec: Sendable, Equatable {
    public enum Kind: UInt8, Sendable { case limit, threshold, both, detectionFilter }
    public enum Track: UInt8, Sendable { case bySource, byDestination, byRule, byBoth }
    public var kind: Kind
    public var track: Track
    public var count: Int
    public var seconds: Int
}

/// Packet-header tests (`flags`, `itype`, `icode`, `icmp_id`, `id`, `ip_proto`, `ttl`).
public enum HeaderMatch: Sendable, Equatable {
    /// TCP flags: bits that must be set (`mode` plain), with `+`/`*`/`!` modifiers and an
    /// ignore mask.
    case tcpFlags(required: UInt8, mode: UInt8, ignore: UInt8)
    case icmpType(IntMatch)
    case icmpCode(IntMatch)
    case icmpID(Int)
    case ipID(Int)
    case ipProto(IntMatch)
    case ttl(IntMatch)
    /// `stream_size`: bytes of the TCP stream(s) so far, per side.
    case streamSize(StreamSide, IntMatch)
    /// `ssl_version`: the flow's TLS/SSL record version is one of these (bit per version:
    /// sslv2, sslv3, tls1.0, tls1.1, tls1.2, tls1.3), or none of them when `negated`.
    case sslVersion(mask: UInt8, negated: Bool)
    /// `ssl_state`: handshake messages seen on the flow (`TLSStates` bits); `all` must be
    /// present and `none` absent.
    case sslState(all: UInt8, none: UInt8, any: UInt8)
    /// `ftpbounce`: the flow's FTP PORT command names another host than the client.
    case ftpBounce
    /// `ftpdata_command`: the ftp-data flow was opened for this command (1 RETR, 2 STOR).
    case ftpDataCommand(UInt8)
    /// `fragbits`: IPv4 MF/DF/RF (`IPFragBits`), `modifier` 0 exact, `+` these and another,
    /// `*` any of these, `!` not all of these (Suricata's four tests).
    case fragBits(bits: UInt8, modifier: UInt8)
    /// `fragoffset`: the fragment offset field, in 8-byte units.
    case fragOffset(IntMatch)
    /// `seq` / `ack`: the TCP sequence / acknowledgement number.
    case tcpSeq(UInt32)
    case tcpAck(UInt32)
    /// `window`: the TCP window field as sent (unscaled).
    case tcpWindow(IntMatch)
    /// `tos`: the IPv4 type-of-service byte.
    case tos(IntMatch)
    /// `ipopts`: an IPv4 option of these (`IPOptionFlags`) is present.
    case ipOptions(UInt16)
    /// `sameip`: source and destination addresses are equal.
    case sameIP
    /// `icmp_seq`: the echo request/reply sequence number.
    case icmpSeq(IntMatch)
    /// `tcp.mss`: the SYN's MSS option (no match without one).
    case tcpMSS(IntMatch)
    /// `tls.version`: the TLS version of the hello being inspected; not `raw`, TLS 1.3 drafts
    /// (0x7fXX) count as 1.3.
    case tlsVersion(version: UInt16, raw: Bool)
    /// `dns.opcode`: the DNS header's opcode (`PacketFacts.dnsOpcode`).
    case dnsOpcode(IntMatch)
    /// `dcerpc.iface` / `dcerpc.opnum`: the interface bound (and accepted) for the DCE/RPC
    /// call's context, its operation number (`PacketFacts.dce*`).
    case dcerpcIface(DCERPCIfaceMatch)
    case dcerpcOpnum(DCERPCOpnumMatch)
    /// `tls.cert_chain_len` (session 7): certificates in the server's Certificate message
    /// (`PacketFacts.tlsCertCount`; no match before one was seen).
    case tlsCertChainLen(IntMatch)
    /// `tls_cert_notbefore` / `tls_cert_notafter` (`TLSCertValidity`), `tls_cert_expired`,
    /// `tls_cert_valid` (session 7): the server leaf certificate's validity times.
    case tlsCertValidity(TLSCertValidity)
    /// `app-layer-protocol`: the flow's detected app protocol is (or, negated, is known and
    /// is not) one of a set (`AppProtoMatch`).
    case appLayerProtocol(AppProtoMatch)
    /// `xbits` / `hostbits`: a bit kept per host or per IP pair (`HostBitOp`); the checks
    /// gate the rule like this list's other tests, the changes apply once it matched.
    case hostBit(HostBitOp)
    /// `filesize` (session 9, DetectFileSize.swift): the file's size once it is complete; of a
    /// truncated file only `>` / `>=` are judged, on the bytes seen (Suricata's rule). Read
    /// from `Verifier.file`, never from the packet.
    case fileSize(IntMatch)
    /// `filemd5` / `filesha1` / `filesha256` (session 9, DetectFileHash.swift): the complete
    /// file's digest is (or, negated, is not) in the list.
    case fileHash(FileHashList)
    /// `flowint` (session 9, DetectFlowint.swift): a per-flow integer test (gates the rule) or
    /// change (applied once the rule matched), `FlowIntOp`.
    case flowInt(FlowIntOp)
    /// `dns.rrtype` / `dns.rcode` (Suricata 8, session 9, DetectDNSRRType.swift):
    /// `PacketFacts.dnsRRTypes` (one matching suffices) and `dnsRcode`.
    case dnsRRType(IntMatch)
    case dnsRcode(IntMatch)
    /// `decode-event` / `stream-event` / `app-layer-event` (session 10, Detect*Event.swift):
    /// the packet raised these anomalies (`PacketFacts.anomalies`).
    case anomaly(AnomalyMatch)
}

/// One event keyword's requirement: every bit of `mask` raised by this packet at `layer`.
/// App-layer bits below `AppLayerEvents.firstGenericBit` are the events of `proto` only (the
/// same bit is another protocol's other event).
public struct AnomalyMatch: Sendable, Equatable {
    public enum Layer: UInt8, Sendable { case decode = 0, stream = 1, app = 2 }
    public var layer: Layer
    public var mask: UInt64
    /// `.unknown` when the event is not a protocol's (decoder, stream, generic app-layer).
    public var proto: AppProto

    public init(layer: Layer, mask: UInt64, proto: AppProto = .unknown) {
        self.layer = layer
        self.mask = mask
        self.proto = proto
    }
}

/// The IPv4 flag bits `PacketFacts.ipFragBits` carries, for `fragbits`.
public enum IPFragBits {
    public static let moreFragments: UInt8 = 1
    public static let dontFragment: UInt8 = 2
    public static let reserved: UInt8 = 4
}

/// IPv4 options present (`PacketFacts.ipOptions`), for `ipopts`.
public enum IPOptionFlags {
    public static let eol: UInt16 = 1 << 0
    public static let nop: UInt16 = 1 << 1
    public static let rr: UInt16 = 1 << 2
    public static let ts: UInt16 = 1 << 3
    public static let sec: UInt16 = 1 << 4
    public static let esec: UInt16 = 1 << 5
    public static let lsrr: UInt16 = 1 << 6
    public static let ssrr: UInt16 = 1 << 7
    public static let satid: UInt16 = 1 << 8
    public static let other: UInt16 = 1 << 9
    public static let any: UInt16 = 0x3ff
}

/// One `xbits`/`hostbits` operation. Names are interned with the flowbit names (one table
/// of names; the bits live in different stores).
public struct HostBitOp: Sendable, Equatable {
    public enum Kind: UInt8, Sendable { case set, unset, toggle, isSet, isNotSet }
    /// Whose bit: the packet's source host, its destination host, or the unordered pair.
    public enum Track: UInt8, Sendable { case source, destination, pair }
    public var kind: Kind
    public var track: Track
    public var name: UInt16
    /// Seconds a set bit lives (Suricata: xbits 30 unless `expire N`, hostbits 300).
    public var expire: Int

    public init(kind: Kind, track: Track, name: UInt16, expire: Int) {
        self.kind = kind; self.track = track; self.name = name; self.expire = expire
    }

    public var isCheck: Bool { kind == .isSet || kind == .isNotSet }
}

/// `app-layer-protocol:[!]PROTO[|PROTO...][,MODE]`: a set of app protocols as bits (bit `raw`
/// for `AppProto(rawValue: raw)` up to 30, bit 31 for `failed`), so testing a packet is a
/// shift and a mask.
public struct AppProtoMatch: Sendable, Equatable {
    public var mask: UInt32
    public var negated: Bool
    /// `unknown` in the list: matches while detection has not finished (never negated).
    public var unknown: Bool
    /// The mode as written (0 direction, 1 to_server, 2 to_client, 3 either, 4 final,
    /// 5 original): the engine keeps one protocol per flow, so every mode reads it (README).
    public var mode: UInt8

    public init(mask: UInt32, negated: Bool, unknown: Bool, mode: UInt8) {
        self.mask = mask; self.negated = negated; self.unknown = unknown; self.mode = mode
    }

    /// The bit of `app` in `mask`.
    @inlinable
    public static func bit(_ app: AppProto) -> UInt32 {
        app == .failed ? 1 << 31 : app.rawValue < 31 ? 1 << UInt32(app.rawValue) : 0
    }

    /// Suricata's semantics: a positive list matches a detected protocol in it (or, with
    /// `unknown`, a flow still undetected); a negated list matches a detected (or failed)
    /// protocol outside it and never the undetected state.
    @inlinable
    public func matches(_ app: AppProto) -> Bool {
        if app == .unknown { return unknown && !negated }
        return (mask & AppProtoMatch.bit(app) != 0) != negated
    }
}

/// `base64_decode:[bytes N][,offset N][,relative]` with its `base64_data` list: decode up to
/// `bytes` input bytes (RFC 4648, stopping at the first byte outside the alphabet) from the
/// buffer start + `offset`, or from the previous match + `offset` when `relative`, then run
/// `data` on the decoded bytes. As in Suricata it ends its list: when `data` matches, the
/// list matched.
public struct Base64DecodeMatch: Sendable {
    /// Input bytes to decode at most (Suricata: 1...65535; 0 in the rule means the maximum).
    public var bytes: Int
    public var offset: Int
    public var relative: Bool
    /// The `base64_data` elements (content, pcre, isdataat, byte_*), in rule order.
    public var data: [MatchElement]

    public init(bytes: Int, offset: Int, relative: Bool, data: [MatchElement] = []) {
        self.bytes = bytes; self.offset = offset; self.relative = relative; self.data = data
    }

    /// Decoded bytes a `bytes` input yields at most (3 per 4).
    public var decodedCapacity: Int { (bytes + 3) / 4 * 3 }
}

/// TLS handshake progress bits the engine reports in `PacketFacts.tlsStates`.
public enum TLSStates {
    public static let clientHello: UInt8 = 1
    public static let serverHello: UInt8 = 2
    public static let clientKeyExchange: UInt8 = 4
    public static let serverKeyExchange: UInt8 = 8
    public static let unknown: UInt8 = 16
}

/// Which stream `stream_size` looks at.
public enum StreamSide: UInt8, Sendable { case server, client, both, either }

/// `target:src_ip|dest_ip`.
public enum RuleTarget: UInt8, Sendable { case source, destination }

/// A loaded rule: header, metadata, packet-level tests and the per-buffer match lists.
public struct Signature: Sendable {
    public var action: RuleAction
    public var proto: RuleProtocol
    public var source: AddressSet
    public var sourcePorts: PortSet
    public var destination: AddressSet
    public var destinationPorts: PortSet
    /// `<>`: the header also matches with source and destination swapped.
    public var bidirectional: Bool

    public var sid: UInt32 = 0
    public var gid: UInt32 = 1
    public var rev: UInt32 = 0
    public var msg: String = ""
    public var classtype: Classification?
    /// `priority:` or the classtype's; Suricata's default is 3.
    public var priority: Int = 3
    /// `metadata:` key/value pairs in order.
    public var metadata: [(key: String, value: String)] = []
    public var references: [String] = []
    public var target: RuleTarget?
    public var noalert = false

    public var flow: FlowMatch = []
    public var flowbits: [FlowbitOp] = []
    public var dsize: IntMatch?
    public var headerMatches: [HeaderMatch] = []
    public var threshold: ThresholdSpec?
    public var detectionFilter: ThresholdSpec?

    /// Per-buffer match lists, sorted by buffer.
    public var lists: [BufferMatchList] = []
    /// Number of `byte_extract` variables the lists use.
    public var variableCount = 0

    /// The pattern the multi-pattern prefilter should look for: the rule can only match when
    /// this pattern occurs in this buffer. Nil when the rule has no positive content (it must
    /// then be evaluated on every packet its header admits).
    public var prefilter: (buffer: BufferID, pattern: [UInt8], nocase: Bool)?
    /// Where the prefilter content sits: list index and element index in `lists`.
    public var prefilterSource: (list: Int, element: Int)?

    /// Where the rule came from (file, 1-based line).
    public var file: String = ""
    public var line: Int = 0

    public init(action: RuleAction, proto: RuleProtocol, source: AddressSet, sourcePorts: PortSet,
                destination: AddressSet, destinationPorts: PortSet, bidirectional: Bool) {
        self.action = action; self.proto = proto
        self.source = source; self.sourcePorts = sourcePorts
        self.destination = destination; self.destinationPorts = destinationPorts
        self.bidirectional = bidirectional
    }

    /// The match list for `buffer`, if the rule inspects it.
    public func list(for buffer: BufferID) -> BufferMatchList? {
        lists.first { $0.buffer == buffer }
    }

    /// A rule with a file keyword (`file.name`/`filename`/`fileext`, `filesize`, `filemd5`...):
    /// evaluated at the HTTP inspection point's file phases (DetectDefinitions.phase).
    public var isFileRule: Bool {
        if lists.contains(where: { $0.buffer == .fileName }) { return true }
        return needsCompleteFile
    }

    /// A rule with `filesize` or a file hash: judged when the file ends (phase 6), not when it
    /// opens.
    public var needsCompleteFile: Bool {
        headerMatches.contains {
            switch $0 {
            case .fileSize, .fileHash: return true
            default: return false
            }
        }
    }

    /// The product severity for alerts: 3 (★★★) for priority 1, 2 for priority 2, 1 otherwise,
    /// overridden by `metadata: signature_severity Critical|Major|Minor|Informational`.
    public var productSeverity: Int {
        for (k, v) in metadata where k == "signature_severity" {
            switch v.lowercased() {
            case "critical", "major": return 3
            case "minor": return 2
            case "informational", "audit": return 1
            default: break
            }
        }
        return priority <= 1 ? 3 : priority == 2 ? 2 : 1
    }
}

/// `entropy` (Suricata 8, DetectEntropy.swift): the Shannon entropy of a window of the buffer
/// compared with a value.
public struct EntropyMatch: Sendable, Equatable {
    public enum Mode: UInt8, Sendable { case equal, notEqual, less, lessEqual, greater, greaterEqual }
    public var mode: Mode
    public var value: Double
    /// Window start (only a positive offset moves it, as in Suricata) and length (0: to the end).
    public var offset = 0
    public var bytes = 0

    public init(mode: Mode, value: Double, offset: Int = 0, bytes: Int = 0) {
        self.mode = mode; self.value = value; self.offset = offset; self.bytes = bytes
    }

    /// Whether the window of `buf` has the entropy asked for; no match when it lies outside.
    public func matches(_ buf: ByteView) -> Bool {
        var start = 0, count = buf.count
        if offset > 0 {
            guard offset <= count else { return false }
            start = offset
            count &-= offset
        }
        if bytes > 0 {
            guard bytes <= count else { return false }
            count = bytes
        }
        let e = EntropyMatch.entropy(buf, start, count)
        switch mode {
        case .equal: return e == value
        case .notEqual: return e != value
        case .less: return e < value
        case .lessEqual: return e <= value
        case .greater: return e > value
        case .greaterEqual: return e >= value
        }
    }

    /// Shannon entropy in bits per byte of `count` bytes at `start` (0 for none): counts in a
    /// 256-entry inline table (on the stack), then the sum over byte values of -p log2 p.
    public static func entropy(_ buf: ByteView, _ start: Int, _ count: Int) -> Double {
        guard count > 0 else { return 0 }
        var counts = InlineArray<256, UInt32>(repeating: 0)
        var i = start
        let end = start &+ count
        while i < end {
            let b = Int(buf.u8(i) ?? 0)
            counts[b] &+= 1
            i &+= 1
        }
        // Suricata's sum of -p log2 p: exactly 0 for one byte value (log2 1 is 0 here too).
        let n = Double(count)
        var e = 0.0
        var k = 0
        while k < 256 {
            let c = counts[k]
            if c > 0 { let p = Double(c) / n; e -= p * log2(p) }
            k &+= 1
        }
        return e
    }

    /// log2 without Foundation or Glibc (this target has neither): the binary exponent plus
    /// log2 of the significand m in [1, 2) from ln(m) = 2 atanh((m-1)/(m+1)), whose series
    /// converges fast since |z| <= 1/3 (error below 1e-15 after 16 terms).
    public static func log2(_ x: Double) -> Double {
        guard x > 0, x.isFinite else { return x == 0 ? -.infinity : .nan }
        let m = x.significand
        let z = (m - 1) / (m + 1), z2 = z * z
        var term = z, sum = 0.0
        var k = 1.0
        while k < 40 {
            sum += term / k
            term *= z2
            k += 2
        }
        return Double(x.exponent) + 2 * sum / 0.6931471805599453
    }
}
