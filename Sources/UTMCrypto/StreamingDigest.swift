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
/// Why a class: it owns three OpenSSL `EVP_MD_CTX`s and the fetched `EVP_MD`s. They are created
/// once (one instance per scan slot, reused for every file) and re-initialised with
/// `EVP_DigestInit_ex` per file. Measured on OpenSSL 3: that init still re-creates the
/// provider's digest context, i.e. one allocation per active digest per file; `update` never
/// allocates, so the per-chunk path is allocation-free (guarded by an allocation-count test).
/// Not thread-safe: one instance per worker thread or per pooled scan slot.
public final class StreamingDigest {
    private let md5Ctx: OpaquePointer?
    private let sha1Ctx: OpaquePointer?
    private let sha256Ctx: OpaquePointer?
    private let md5MD: OpaquePointer?
    private let sha1MD: OpaquePointer?
    private let sha256MD: OpaquePointer?
    /// Digests in progress (a failed init drops the kind rather than failing the scan).
    public private(set) var active: DigestKinds = []

    public init() {
        md5Ctx = EVP_MD_CTX_new()
        sha1Ctx = EVP_MD_CTX_new()
        sha256Ctx = EVP_MD_CTX_new()
        md5MD = EVP_MD_fetch(nil, "MD5", nil)
        sha1MD = EVP_MD_fetch(nil, "SHA1", nil)
        sha256MD = EVP_MD_fetch(nil, "SHA256", nil)
        ERR_clear_error()
    }

    deinit {
        EVP_MD_CTX_free(md5Ctx)
        EVP_MD_CTX_free(sha1Ctx)
        EVP_MD_CTX_free(sha256Ctx)
        EVP_MD_free(md5MD)
        EVP_MD_free(sha1MD)
        EVP_MD_free(sha256MD)
    }

    /// Starts new digests of the given kinds, forgetting any in progress.
    public func begin(_ kinds: DigestKinds) {
        active = []
        if kinds.contains(.md5), EVP_DigestInit_ex(md5Ctx, md5MD, nil) == 1 { active.insert(.md5) }
        if kinds.contains(.sha1), EVP_DigestInit_ex(sha1Ctx, sha1MD, nil) == 1 { active.insert(.sha1) }
        if kinds.contains(.sha256), EVP_DigestInit_ex(sha256Ctx, sha256MD, nil) == 1 { active.insert(.sha256) }
        if active != kinds { ERR_clear_error() }
    }

    /// Adds bytes to every active digest.
    public func update(_ data: ByteView) {
        guard !data.isEmpty, !active.isEmpty else { return }
        data.withUnsafeBytes { raw in
            if active.contains(.md5) { _ = EVP_DigestUpdate(md5Ctx, raw.baseAddress, raw.count) }
            if active.contains(.sha1) { _ = EVP_DigestUpdate(sha1Ctx, raw.baseAddress, raw.count) }
            if active.contains(.sha256) { _ = EVP_DigestUpdate(sha256Ctx, raw.baseAddress, raw.count) }
        }
    }

    /// Ends the active digests and returns them; afterwards nothing is active until `begin`.
    public func finish() -> FileDigests {
        var result = FileDigests()
        if active.contains(.md5), Self.final(md5Ctx, into: &result.md5) { result.kinds.insert(.md5) }
        if active.contains(.sha1), Self.final(sha1Ctx, into: &result.sha1) { result.kinds.insert(.sha1) }
        if active.contains(.sha256), Self.final(sha256Ctx, into: &result.sha256) { result.kinds.insert(.sha256) }
        active = []
        return result
    }

    private static func final(_ ctx: OpaquePointer?, into out: inout Bytes32) -> Bool {
        var len: UInt32 = 0
        let ok = withUnsafeMutableBytes(of: &out.raw) { dst in
            EVP_DigestFinal_ex(ctx, dst.baseAddress?.assumingMemoryBound(to: UInt8.self), &len) == 1
        }
        if !ok { ERR_clear_error() }
        return ok
    }
}
