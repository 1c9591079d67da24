import COpenSSL

/// Ed25519 signatures (RFC 8032) and SHA-256 through libcrypto, for signed definition and
/// firmware artifacts. Control plane only: keys are created per call, which allocates; never
/// used per packet.
///
/// Why raw 32-byte keys: the artifact format and the keyring store keys as plain bytes (hex in
/// files), so no PEM/DER parsing is needed anywhere. Failures are `nil`/`false`, never traps,
/// and the OpenSSL error queue is cleared after each.
public enum Ed25519 {
    public static let publicKeyLength = 32
    public static let privateKeyLength = 32
    public static let signatureLength = 64

    /// A new key pair from the system's random source: (private seed, public key).
    public static func generateKeyPair() -> (privateKey: [UInt8], publicKey: [UInt8])? {
        guard let ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nil) else { return failed() }
        defer { EVP_PKEY_CTX_free(ctx) }
        var pkey: OpaquePointer?
        guard EVP_PKEY_keygen_init(ctx) == 1, EVP_PKEY_keygen(ctx, &pkey) == 1, let pkey else { return failed() }
        defer { EVP_PKEY_free(pkey) }
        guard let priv = rawKey(pkey, isPrivate: true), let pub = rawKey(pkey, isPrivate: false) else { return failed() }
        return (priv, pub)
    }

    /// The public key of a private seed.
    public static func publicKey(privateKey: [UInt8]) -> [UInt8]? {
        guard privateKey.count == privateKeyLength,
              let pkey = privateKey.withUnsafeBufferPointer({
                  EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, $0.baseAddress, $0.count)
              }) else { return failed() }
        defer { EVP_PKEY_free(pkey) }
        return rawKey(pkey, isPrivate: false)
    }

    /// Signs `message` (Ed25519 hashes the message itself: no digest is chosen).
    public static func sign(_ message: [UInt8], privateKey: [UInt8]) -> [UInt8]? {
        guard privateKey.count == privateKeyLength,
              let pkey = privateKey.withUnsafeBufferPointer({
                  EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, $0.baseAddress, $0.count)
              }) else { return failed() }
        defer { EVP_PKEY_free(pkey) }
        guard let md = EVP_MD_CTX_new() else { return failed() }
        defer { EVP_MD_CTX_free(md) }
        guard EVP_DigestSignInit(md, nil, nil, nil, pkey) == 1 else { return failed() }
        var signature = [UInt8](repeating: 0, count: signatureLength)
        var length = signatureLength
        let ok = signature.withUnsafeMutableBufferPointer { sig in
            message.withUnsafeBufferPointer { msg in
                EVP_DigestSign(md, sig.baseAddress, &length, msg.baseAddress, msg.count) == 1
            }
        }
        guard ok, length == signatureLength else { return failed() }
        return signature
    }

    /// True when `signature` is a valid Ed25519 signature of `message` by `publicKey`.
    public static func verify(_ message: [UInt8], signature: [UInt8], publicKey: [UInt8]) -> Bool {
        guard publicKey.count == publicKeyLength, signature.count == signatureLength,
              let pkey = publicKey.withUnsafeBufferPointer({
                  EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, $0.count)
              }) else { ERR_clear_error(); return false }
        defer { EVP_PKEY_free(pkey) }
        guard let md = EVP_MD_CTX_new() else { ERR_clear_error(); return false }
        defer { EVP_MD_CTX_free(md) }
        guard EVP_DigestVerifyInit(md, nil, nil, nil, pkey) == 1 else { ERR_clear_error(); return false }
        let ok = signature.withUnsafeBufferPointer { sig in
            message.withUnsafeBufferPointer { msg in
                EVP_DigestVerify(md, sig.baseAddress, sig.count, msg.baseAddress, msg.count) == 1
            }
        }
        if !ok { ERR_clear_error() }
        return ok
    }

    private static func rawKey(_ pkey: OpaquePointer, isPrivate: Bool) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: 32)
        var length = 32
        let ok = out.withUnsafeMutableBufferPointer { buf in
            isPrivate ? EVP_PKEY_get_raw_private_key(pkey, buf.baseAddress, &length) == 1
                : EVP_PKEY_get_raw_public_key(pkey, buf.baseAddress, &length) == 1
        }
        return ok && length == 32 ? out : nil
    }

    private static func failed<T>() -> T? {
        ERR_clear_error()
        return nil
    }
}

/// SHA-256 of a whole buffer in one call (artifact payloads, key identifiers).
public enum OneShotSHA256 {
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBufferPointer { hash($0) }
    }

    public static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = out.withUnsafeMutableBufferPointer { dst in
            EVP_Digest(bytes.baseAddress, bytes.count, dst.baseAddress, &length, EVP_sha256(), nil) == 1
        }
        if !ok { ERR_clear_error() }
        return out
    }
}
