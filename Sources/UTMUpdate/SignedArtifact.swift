import UTMCrypto

/// What a signed artifact carries. The kind is inside the signed header, so an IPS bundle can
/// never be installed as firmware or the other way round.
public enum ArtifactKind: UInt8, Sendable, CaseIterable, Codable {
    case ips = 1
    case av = 2
    case categories = 3
    case firmware = 4

    public var name: String {
        switch self {
        case .ips: "ips"
        case .av: "av"
        case .categories: "categories"
        case .firmware: "firmware"
        }
    }

    public init?(name: String) {
        guard let k = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = k
    }

    /// The definition kinds (everything but firmware).
    public static let definitions: [ArtifactKind] = [.ips, .av, .categories]
}

/// Why an artifact was refused: one line each, for the log and `utmctl defs verify`.
public struct ArtifactError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: Sendable, Equatable {
        case truncated, badMagic, badVersion, badKind, badLength, digestMismatch, unknownKey, badSignature,
             expired, notYetValid, downgrade, wrongKind, badPayload
    }
    public var code: Code
    public var reason: String
    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }
    public var description: String { reason }
}

/// The signed artifact format (big-endian, fixed 152-byte prefix, then the payload):
///
///     0   magic "MIMASIG1"
///     8   format version u16 (1), kind u8, flags u8 (0), reserved u32 (0)
///     16  key id: the first 8 bytes of SHA-256(public key)
///     24  sequence u64 — grows with every release of a kind; a lower one is a downgrade
///     32  created u64, expires u64 (Unix seconds)
///     48  payload length u64
///     56  payload SHA-256 (32 bytes)
///     88  Ed25519 signature (64 bytes) over bytes 0..<88 (header and digest)
///     152 payload
///
/// Why sign the header and digest rather than the whole file: the signature is checked before
/// the (possibly large) payload is hashed, and the kind, sequence and expiry cannot be changed
/// without breaking it. Parsing is bounds-checked throughout and fuzzed (Fuzz/FuzzArtifact.swift).
public struct SignedArtifact: Sendable, Equatable {
    public static let magic: [UInt8] = Array("MIMASIG1".utf8)
    public static let formatVersion: UInt16 = 1
    public static let signedLength = 88
    public static let headerLength = 152
    /// Largest payload accepted (firmware images included).
    public static let maxPayload: UInt64 = 1 << 31

    public var kind: ArtifactKind
    public var keyID: [UInt8]
    public var sequence: UInt64
    public var created: UInt64
    public var expires: UInt64
    public var payloadDigest: [UInt8]
    public var signature: [UInt8]
    /// The signed bytes 0..<88.
    public var signedBytes: [UInt8]
    public var payload: [UInt8]

    /// Parses the structure only (no signature or digest check): `verify` does those.
    public static func parse(_ bytes: [UInt8]) throws(ArtifactError) -> SignedArtifact {
        guard bytes.count >= 8 else { throw ArtifactError(.truncated, "artifact: \(bytes.count) bytes, shorter than the magic") }
        guard Array(bytes[0 ..< 8]) == magic else { throw ArtifactError(.badMagic, "artifact: not a signed Mimamori artifact (bad magic)") }
        guard bytes.count >= headerLength else {
            throw ArtifactError(.truncated, "artifact: truncated header (\(bytes.count) of \(headerLength) bytes)")
        }
        let version = UInt16(bytes[8]) << 8 | UInt16(bytes[9])
        guard version == formatVersion else {
            throw ArtifactError(.badVersion, "artifact: format version \(version), this build reads \(formatVersion)")
        }
        guard let kind = ArtifactKind(rawValue: bytes[10]) else { throw ArtifactError(.badKind, "artifact: unknown kind \(bytes[10])") }
        let length = be64(bytes, 48)
        guard length <= maxPayload, UInt64(bytes.count - headerLength) == length else {
            throw ArtifactError(length > UInt64(bytes.count - headerLength) ? .truncated : .badLength,
                                "artifact: payload is \(bytes.count - headerLength) bytes, header says \(length)")
        }
        return SignedArtifact(kind: kind, keyID: Array(bytes[16 ..< 24]), sequence: be64(bytes, 24),
                              created: be64(bytes, 32), expires: be64(bytes, 40),
                              payloadDigest: Array(bytes[56 ..< 88]), signature: Array(bytes[88 ..< 152]),
                              signedBytes: Array(bytes[0 ..< signedLength]), payload: Array(bytes[headerLength...]))
    }

    /// Checks, in this order: a trusted key, the signature over header and digest, the payload
    /// digest, then the validity window. `now` is Unix seconds.
    public func verify(keyring: Keyring, now: UInt64) throws(ArtifactError) {
        guard let key = keyring.key(id: keyID) else {
            throw ArtifactError(.unknownKey, "artifact: signed by unknown key \(hex(keyID))")
        }
        guard Ed25519.verify(signedBytes, signature: signature, publicKey: key) else {
            throw ArtifactError(.badSignature, "artifact: bad signature (altered header or wrong key)")
        }
        guard OneShotSHA256.hash(payload) == payloadDigest else {
            throw ArtifactError(.digestMismatch, "artifact: payload SHA-256 mismatch (altered payload)")
        }
        guard now < expires else {
            throw ArtifactError(.expired, "artifact: signature expired at \(expires) (now \(now))")
        }
        guard created <= now + 86_400 else {
            throw ArtifactError(.notYetValid, "artifact: created \(created), more than a day in the future (now \(now))")
        }
    }

    /// Parses and verifies in one step.
    public static func open(_ bytes: [UInt8], keyring: Keyring, now: UInt64) throws(ArtifactError) -> SignedArtifact {
        let a = try parse(bytes)
        try a.verify(keyring: keyring, now: now)
        return a
    }

    /// Builds and signs an artifact (`utmctl defs sign`, tests). Nil if the key is unusable.
    public static func sign(kind: ArtifactKind, sequence: UInt64, created: UInt64, expires: UInt64,
                            payload: [UInt8], privateKey: [UInt8]) -> [UInt8]? {
        guard let pub = Ed25519.publicKey(privateKey: privateKey) else { return nil }
        var out = magic
        out += [UInt8(formatVersion >> 8), UInt8(formatVersion & 0xff), kind.rawValue, 0, 0, 0, 0, 0]
        out += Keyring.keyID(pub)
        put64(&out, sequence)
        put64(&out, created)
        put64(&out, expires)
        put64(&out, UInt64(payload.count))
        out += OneShotSHA256.hash(payload)
        guard let sig = Ed25519.sign(out, privateKey: privateKey) else { return nil }
        out += sig
        out += payload
        return out
    }
}

/// The trusted public keys. Every key may sign every kind; firmware/keys/ says where the
/// production keys live.
public struct Keyring: Sendable {
    public private(set) var keys: [[UInt8]] = []
    public init(keys: [[UInt8]] = []) {
        for k in keys where k.count == Ed25519.publicKeyLength { self.keys.append(k) }
    }

    public static func keyID(_ publicKey: [UInt8]) -> [UInt8] { Array(OneShotSHA256.hash(publicKey).prefix(8)) }

    public func key(id: [UInt8]) -> [UInt8]? { keys.first { Self.keyID($0) == id } }
}

func be64(_ b: [UInt8], _ at: Int) -> UInt64 {
    var v: UInt64 = 0
    for i in 0 ..< 8 { v = v << 8 | UInt64(b[at + i]) }
    return v
}

func put64(_ out: inout [UInt8], _ v: UInt64) {
    for i in (0 ..< 8).reversed() { out.append(UInt8(truncatingIfNeeded: v >> (UInt64(i) * 8))) }
}

public func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var s: [UInt8] = []
    for b in bytes { s.append(digits[Int(b >> 4)]); s.append(digits[Int(b & 15)]) }
    return String(decoding: s, as: UTF8.self)
}

/// Hex text to bytes (keys in files); nil unless every character is a hex digit.
public func unhex(_ text: String) -> [UInt8]? {
    let chars = Array(text.utf8).filter { $0 != 0x0a && $0 != 0x0d && $0 != 0x20 }
    guard chars.count % 2 == 0 else { return nil }
    func v(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30 ... 0x39: c - 0x30
        case 0x61 ... 0x66: c - 0x61 + 10
        case 0x41 ... 0x46: c - 0x41 + 10
        default: nil
        }
    }
    var out: [UInt8] = []
    var i = 0
    while i < chars.count {
        guard let hi = v(chars[i]), let lo = v(chars[i + 1]) else { return nil }
        out.append(hi << 4 | lo)
        i += 2
    }
    return out
}
