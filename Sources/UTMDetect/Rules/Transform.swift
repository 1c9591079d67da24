import UTMCore
import UTMCrypto
import UTMRegex

/// One buffer transform (Suricata's "transformations"): a sticky buffer followed by
/// `dotprefix;`, `to_lowercase;`, `xor:"0d0a";`... is inspected as the bytes the chain of
/// transforms makes of it, in rule order. Each transform keyword lives in its own file under
/// `Keywords/Transforms/` (option parsing and the byte operation); this enum is what a compiled
/// signature stores and what the bundle encodes (`SignatureCodec`, one tag per case).
public enum Transform: Sendable, Equatable {
    case dotprefix
    case toLowercase
    case toUppercase
    case stripWhitespace
    case compressWhitespace
    case urlDecode
    /// `xor`: the key (1...255 bytes), applied from `offset` on (Suricata 8's `offset N,`).
    case xor(key: [UInt8], offset: Int)
    case toMD5
    case toSHA1
    case toSHA256
    case headerLowercase
    case stripPseudoHeaders
    /// `pcrexform`: the first capture group of the first match replaces the buffer.
    case pcrexform(PCRETransform)
    /// `from_base64` with Suricata 8's options.
    case fromBase64(Base64Options)

    /// Most transforms a buffer may have (Suricata's DETECT_TRANSFORMS_MAX).
    public static let maxChain = 16

    /// The keyword, for messages and rule dumps.
    public var keyword: String {
        switch self {
        case .dotprefix: "dotprefix"
        case .toLowercase: "to_lowercase"
        case .toUppercase: "to_uppercase"
        case .stripWhitespace: "strip_whitespace"
        case .compressWhitespace: "compress_whitespace"
        case .urlDecode: "url_decode"
        case .xor: "xor"
        case .toMD5: "to_md5"
        case .toSHA1: "to_sha1"
        case .toSHA256: "to_sha256"
        case .headerLowercase: "header_lowercase"
        case .stripPseudoHeaders: "strip_pseudo_headers"
        case .pcrexform: "pcrexform"
        case .fromBase64: "from_base64"
        }
    }

    /// Upper bound of the output length for an input of `n` bytes (the scratch a step needs).
    public func maxOutput(_ n: Int) -> Int {
        switch self {
        case .dotprefix: n &+ 1
        case .toMD5: 16
        case .toSHA1: 20
        case .toSHA256: 32
        default: n
        }
    }

    /// Applies the transform to `input`, writing into `out`. Suricata leaves an empty buffer as
    /// it is (every transform returns early on a zero length), so the caller skips empty input.
    func apply(_ input: ByteView, _ out: inout TransformOutput, digest: StreamingDigest) {
        switch self {
        case .dotprefix: DetectTransformDotPrefix.apply(input, &out)
        case .toLowercase: DetectTransformToLowercase.apply(input, &out)
        case .toUppercase: DetectTransformToUppercase.apply(input, &out)
        case .stripWhitespace: DetectTransformStripWhitespace.apply(input, &out)
        case .compressWhitespace: DetectTransformCompressWhitespace.apply(input, &out)
        case .urlDecode: DetectTransformURLDecode.apply(input, &out)
        case .xor(let key, let offset): DetectTransformXor.apply(input, key: key, offset: offset, &out)
        case .toMD5: DetectTransformHash.apply(input, .md5, digest, &out)
        case .toSHA1: DetectTransformHash.apply(input, .sha1, digest, &out)
        case .toSHA256: DetectTransformHash.apply(input, .sha256, digest, &out)
        case .headerLowercase: DetectTransformHeaderLowercase.apply(input, &out)
        case .stripPseudoHeaders: DetectTransformStripPseudoHeaders.apply(input, &out)
        case .pcrexform(let p): DetectTransformPCREXform.apply(input, p, &out)
        case .fromBase64(let o): DetectTransformFromBase64.apply(input, o, &out)
        }
    }

    /// Whether `content` can ever match the output (Suricata's transform validation: a
    /// `to_lowercase` buffer never holds an upper-case letter, a `strip_whitespace` one no
    /// blank...). Nil when it can, else why not.
    func rejects(_ content: [UInt8]) -> String? {
        switch self {
        case .toLowercase:
            if content.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) { return "content has upper-case letters" }
        case .toUppercase:
            if content.contains(where: { $0 >= 0x61 && $0 <= 0x7A }) { return "content has lower-case letters" }
        case .stripWhitespace:
            if content.contains(where: Transform.isSpace) { return "content has whitespace" }
        case .compressWhitespace:
            var prev = false
            for c in content {
                let s = Transform.isSpace(c)
                if s && prev { return "content has consecutive whitespace" }
                prev = s
            }
        default:
            break
        }
        return nil
    }

    /// C's `isspace()` in the C locale: tab, LF, VT, FF, CR, space.
    @inlinable
    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }
}

/// The compiled regex of a `pcrexform` (one capture group).
public struct PCRETransform: Sendable, Equatable {
    public var regex: Regex
    /// The text between the slashes, for messages.
    public var source: String

    public init(regex: Regex, source: String) {
        self.regex = regex
        self.source = source
    }

    public static func == (a: PCRETransform, b: PCRETransform) -> Bool {
        a.regex.pattern == b.regex.pattern && a.regex.options == b.regex.options
    }
}

/// `from_base64` options (Suricata 8): `bytes`, `offset`, `mode` (rfc4648, rfc2045, strict).
public struct Base64Options: Sendable, Equatable {
    public enum Mode: UInt8, Sendable { case rfc4648, rfc2045, strict }
    /// Input bytes to decode (0: to the end).
    public var bytes: Int = 0
    public var offset: Int = 0
    public var mode: Mode = .rfc4648
    public init() {}
}

/// Where a transform writes: a range of an engine-owned slab (no allocation). Writing past
/// `limit` sets `overflow` and writes nothing; the caller then treats the buffer as absent.
public struct TransformOutput {
    let slab: ByteSlab
    let start: Int
    let limit: Int
    public private(set) var count = 0
    public private(set) var overflow = false
    /// The transform failed (`from_base64` decoding nothing): the buffer is absent.
    public private(set) var failed = false

    init(slab: ByteSlab, start: Int, limit: Int) {
        self.slab = slab
        self.start = start
        self.limit = Swift.min(limit, slab.capacity)
    }

    @inline(__always)
    mutating func put(_ b: UInt8) {
        let at = start &+ count
        if at < limit && slab.write(b, at: at) { count &+= 1 } else { overflow = true }
    }

    @inline(__always)
    mutating func put(_ v: ByteView) {
        let at = start &+ count
        if v.count <= limit &- at && slab.write(v, at: at) { count &+= v.count } else { overflow = true }
    }

    mutating func fail() { failed = true }

    /// The bytes written so far.
    var view: ByteView { slab.view(start, count) ?? .empty }
}

extension Transform {
    /// Applies a chain to `input` with a scratch of its own (tests, tools, fuzzing; the engine
    /// uses `DerivedBuffers`).
    public static func applyChain(_ chain: [Transform], to input: [UInt8]) -> [UInt8]? {
        let derived = DerivedBuffers(arenaBytes: (input.count + maxChain + 32) * (chain.count + 1) + 64)
        return input.withUnsafeBytes { raw in
            derived.compute(base: ByteView(raw), chain: chain)?.bytes
        }
    }
}
