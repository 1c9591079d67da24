import COpenSSL
import UTMCore

/// Which whole-file digests a `StreamingDigest` computes. Antivirus hash signatures need MD5
/// (.hdb), SHA-1 and SHA-256 (.hsb); EVE `fileinfo` wants MD5 and SHA-256. Computing only what
/// is asked for matters: MD5 alone costs about as much CPU as matching every body signature.
public struct DigestKinds: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let md5 = DigestKinds(rawValue: 1 << 0)
    public static let sha1 = DigestKinds(rawValue: 1 << 1)
    public static let sha256 = DigestKinds(rawValue: 1 << 2)
    public static let all: DigestKinds = [.md5, .sha1, .sha256]
}

/// The digests of one file, as plain values (no array per file). A digest that was not asked
/// for stays all zero.
public struct FileDigests: Sendable, Equatable {
    /// MD5 in the first 16 bytes.
    public var md5 = Bytes32()
    /// SHA-1 in the first 20 bytes.
    public var sha1 = Bytes32()
    public var sha256 = Bytes32()
    public var kinds: DigestKinds = []
    public init() {}
}

/// MD5, SHA-1 and SHA-256 of a byte stream that arrives in pieces.
///
/// Why a class: it owns the three digest states, allocated once (one instance per scan slot,
/// reused for every file). They are OpenSSL's plain `MD5_CTX`/`SHA_CTX`/`SHA256_CTX` structs,
/// not `EVP_MD_CTX`s: measured on OpenSSL 3.0, `EVP_DigestInit_ex` on a reused context frees
/// and re-creates the provider's digest context (one allocation per digest per file, also
/// after `EVP_MD_CTX_reset`), while these structs are (re)initialised in place — so beginning,
/// updating and finishing a digest allocates nothing (guarded by an allocation-count test).
/// Same assembly block functions underneath, without the provider dispatch.
/// Not thread-safe: one instance per worker thread or per pooled scan slot.
public final class StreamingDigest {
    private let md5Ctx = UnsafeMutablePointer<MD5_CTX>.allocate(capacity: 1)
    private let sha1Ctx = UnsafeMutablePointer<SHA_CTX>.allocate(capacity: 1)
    private let sha256Ctx = UnsafeMutablePointer<SHA256_CTX>.allocate(capacity: 1)
    /// Digests in progress (a failed init drops the kind rather than failing the scan).
    public private(set) var active: DigestKinds = []

    public init() {
        md5Ctx.initialize(to: MD5_CTX())
        sha1Ctx.initialize(to: SHA_CTX())
        sha256Ctx.initialize(to: SHA256_CTX())
    }

    deinit {
        md5Ctx.deallocate()
        sha1Ctx.deallocate()
        sha256Ctx.deallocate()
    }

    /// Starts new digests of the given kinds, forgetting any in progress.
    public func begin(_ kinds: DigestKinds) {
        active = []
        if kinds.contains(.md5), MD5_Init(md5Ctx) == 1 { active.insert(.md5) }
        if kinds.contains(.sha1), SHA1_Init(sha1Ctx) == 1 { active.insert(.sha1) }
        if kinds.contains(.sha256), SHA256_Init(sha256Ctx) == 1 { active.insert(.sha256) }
    }

    /// Adds bytes to every active digest.
    public func update(_ data: ByteView) {
        guard !data.isEmpty, !active.isEmpty else { return }
        data.withUnsafeBytes { raw in
            if active.contains(.md5) { _ = MD5_Update(md5Ctx, raw.baseAddress, raw.count) }
            if active.contains(.sha1) { _ = SHA1_Update(sha1Ctx, raw.baseAddress, raw.count) }
            if active.contains(.sha256) { _ = SHA256_Update(sha256Ctx, raw.baseAddress, raw.count) }
        }
    }

    /// Ends the active digests and returns them; afterwards nothing is active until `begin`.
    public func finish() -> FileDigests {
        var result = FileDigests()
        if active.contains(.md5) {
            let ok = withUnsafeMutableBytes(of: &result.md5.raw) { MD5_Final($0.baseAddress?.assumingMemoryBound(to: UInt8.self), md5Ctx) == 1 }
            if ok { result.kinds.insert(.md5) }
        }
        if active.contains(.sha1) {
            let ok = withUnsafeMutableBytes(of: &result.sha1.raw) { SHA1_Final($0.baseAddress?.assumingMemoryBound(to: UInt8.self), sha1Ctx) == 1 }
            if ok { result.kinds.insert(.sha1) }
        }
        if active.contains(.sha256) {
            let ok = withUnsafeMutableBytes(of: &result.sha256.raw) { SHA256_Final($0.baseAddress?.assumingMemoryBound(to: UInt8.self), sha256Ctx) == 1 }
            if ok { result.kinds.insert(.sha256) }
        }
        active = []
        return result
    }
}
