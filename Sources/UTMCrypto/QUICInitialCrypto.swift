import COpenSSL
import UTMCore

/// The few primitives QUIC Initial packet protection needs (RFC 9001 section 5), over OpenSSL
/// libcrypto: HKDF-Extract / HKDF-Expand-Label with SHA-256, AES-128-ECB on one block (header
/// protection) and AES-128-GCM open/seal.
///
/// Why a class: OpenSSL contexts are heap objects that are expensive to create. They are made
/// once here and re-keyed for every use (the cipher is passed as NULL on re-initialisation, so
/// OpenSSL keeps the provider context instead of freeing and re-creating it). After `init`,
/// opening a packet allocates nothing. One instance serves one thread at a time: it is not
/// `Sendable`; give each worker its own.
///
/// Errors are results: every method returns nil or false when OpenSSL refuses, and clears
/// OpenSSL's per-thread error queue so hostile packets cannot fill it.
public final class QUICInitialCrypto {
    private let hmac: OpaquePointer        // EVP_MAC *
    private let hmacCtx: OpaquePointer     // EVP_MAC_CTX * (HMAC-SHA256)
    private let ecb: OpaquePointer         // EVP_CIPHER * (AES-128-ECB)
    private let gcm: OpaquePointer         // EVP_CIPHER * (AES-128-GCM)
    private let ecbCtx: OpaquePointer      // EVP_CIPHER_CTX *, encrypt
    private let openCtx: OpaquePointer     // EVP_CIPHER_CTX *, GCM decrypt
    private let sealCtx: OpaquePointer     // EVP_CIPHER_CTX *, GCM encrypt

    /// Length of the GCM authentication tag that ends every protected QUIC payload.
    public static let tagLength = 16

    /// Nil when libcrypto lacks HMAC, SHA-256 or AES-128 (a broken install): the caller then
    /// treats QUIC as opaque UDP rather than failing.
    public init?() {
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else { ERR_clear_error(); return nil }
        guard let macCtx = EVP_MAC_CTX_new(mac) else {
            EVP_MAC_free(mac); ERR_clear_error(); return nil
        }
        var ok = "digest".withCString { key in
            "SHA256".withCString { value -> Bool in
                var params = (
                    OSSL_PARAM_construct_utf8_string(key, UnsafeMutablePointer(mutating: value), 0),
                    OSSL_PARAM_construct_end()
                )
                return withUnsafeMutablePointer(to: &params) {
                    $0.withMemoryRebound(to: OSSL_PARAM.self, capacity: 2) {
                        EVP_MAC_CTX_set_params(macCtx, $0) == 1
                    }
                }
            }
        }
        let ecb = EVP_CIPHER_fetch(nil, "AES-128-ECB", nil)
        let gcm = EVP_CIPHER_fetch(nil, "AES-128-GCM", nil)
        let ecbCtx = EVP_CIPHER_CTX_new()
        let openCtx = EVP_CIPHER_CTX_new()
        let sealCtx = EVP_CIPHER_CTX_new()
        if let ecb, let gcm, let ecbCtx, let openCtx, let sealCtx, ok {
            ok = EVP_EncryptInit_ex2(ecbCtx, ecb, nil, nil, nil) == 1
                && EVP_CIPHER_CTX_set_padding(ecbCtx, 0) == 1
                && EVP_DecryptInit_ex2(openCtx, gcm, nil, nil, nil) == 1
                && EVP_EncryptInit_ex2(sealCtx, gcm, nil, nil, nil) == 1
        } else {
            ok = false
        }
        guard ok, let ecb, let gcm, let ecbCtx, let openCtx, let sealCtx else {
            EVP_CIPHER_CTX_free(ecbCtx); EVP_CIPHER_CTX_free(openCtx); EVP_CIPHER_CTX_free(sealCtx)
            EVP_CIPHER_free(ecb); EVP_CIPHER_free(gcm)
            EVP_MAC_CTX_free(macCtx); EVP_MAC_free(mac)
            ERR_clear_error()
            return nil
        }
        self.hmac = mac
        self.hmacCtx = macCtx
        self.ecb = ecb
        self.gcm = gcm
        self.ecbCtx = ecbCtx
        self.openCtx = openCtx
        self.sealCtx = sealCtx
    }

    deinit {
        EVP_CIPHER_CTX_free(ecbCtx)
        EVP_CIPHER_CTX_free(openCtx)
        EVP_CIPHER_CTX_free(sealCtx)
        EVP_CIPHER_free(ecb)
        EVP_CIPHER_free(gcm)
        EVP_MAC_CTX_free(hmacCtx)
        EVP_MAC_free(hmac)
    }

    // MARK: HKDF (RFC 5869) with SHA-256

    private func update(_ part: UnsafeRawBufferPointer) -> Bool {
        guard part.count > 0, let base = part.baseAddress else { return true }
        return EVP_MAC_update(hmacCtx, base.assumingMemoryBound(to: UInt8.self), part.count) == 1
    }

    /// HMAC-SHA256(key, part1 || part2 || part3) into `out` (32 bytes).
    private func hmacSHA256(key: UnsafeRawBufferPointer, _ part1: UnsafeRawBufferPointer,
                            _ part2: UnsafeRawBufferPointer, _ part3: UnsafeRawBufferPointer,
                            into out: UnsafeMutableRawBufferPointer) -> Bool {
        guard out.count >= 32 else { return false }
        // OpenSSL rejects a NULL key pointer even for an empty key.
        var zero: UInt8 = 0
        let ok = withUnsafeMutablePointer(to: &zero) { zp -> Bool in
            let keyPtr = key.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(zp)
            guard EVP_MAC_init(hmacCtx, keyPtr, key.count, nil) == 1 else { return false }
            // Three explicit updates rather than a loop over an array: no allocation.
            guard update(part1), update(part2), update(part3) else { return false }
            var outLength = 0
            return EVP_MAC_final(hmacCtx, out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                 &outLength, 32) == 1 && outLength == 32
        }
        if !ok { ERR_clear_error() }
        return ok
    }

    /// HKDF-Extract(salt, ikm) = HMAC-SHA256(salt, ikm): the pseudorandom key.
    public func hkdfExtract(salt: ByteView, ikm: ByteView) -> Bytes32? {
        var prk = Bytes32()
        let ok = salt.withUnsafeBytes { s in
            ikm.withUnsafeBytes { i in
                withUnsafeMutableBytes(of: &prk.raw) { out in
                    hmacSHA256(key: s, i, UnsafeRawBufferPointer(start: nil, count: 0),
                               UnsafeRawBufferPointer(start: nil, count: 0), into: out)
                }
            }
        }
        return ok ? prk : nil
    }

    /// HKDF-Expand-Label(secret, label, context, length) of TLS 1.3 (RFC 8446 section 7.1):
    /// HKDF-Expand with info = length(2) || len("tls13 " + label)(1) || "tls13 " || label ||
    /// len(context)(1) || context. `label` is given without the "tls13 " prefix.
    ///
    /// Only `length` <= 32 is supported (one HMAC block), which covers every QUIC key, IV and
    /// secret; label and context are limited to 64 bytes each. Writes into `out`.
    public func hkdfExpandLabel(secret: Bytes32, label: ByteView, context: ByteView = .empty,
                                into out: UnsafeMutableRawBufferPointer) -> Bool {
        let length = out.count
        guard length > 0, length <= 32, label.count <= 64, context.count <= 64 else { return false }
        return withUnsafeTemporaryAllocation(byteCount: 2 + 1 + 6 + 64 + 1 + 64 + 1, alignment: 1) { info in
            var n = 0
            func put(_ b: UInt8) { info[n] = b; n &+= 1 }
            put(UInt8(length >> 8)); put(UInt8(length & 0xff))
            put(UInt8(6 + label.count))
            StaticString("tls13 ").byteView.forEachByte { put($0) }
            label.forEachByte { put($0) }
            put(UInt8(context.count))
            context.forEachByte { put($0) }
            put(1) // HKDF-Expand block counter T(1)
            var block = Bytes32()
            var secretCopy = secret
            let ok = withUnsafeBytes(of: &secretCopy.raw) { key in
                withUnsafeMutableBytes(of: &block.raw) { blockOut in
                    hmacSHA256(key: key, UnsafeRawBufferPointer(rebasing: info[0 ..< n]),
                               UnsafeRawBufferPointer(start: nil, count: 0),
                               UnsafeRawBufferPointer(start: nil, count: 0), into: blockOut)
                }
            }
            guard ok else { return false }
            withUnsafeBytes(of: &block.raw) { out.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0 ..< length])) }
            return true
        }
    }

    /// HKDF-Expand-Label to a 32-byte secret.
    public func expandLabel32(secret: Bytes32, label: ByteView) -> Bytes32? {
        var r = Bytes32()
        let ok = withUnsafeMutableBytes(of: &r.raw) { hkdfExpandLabel(secret: secret, label: label, into: $0) }
        return ok ? r : nil
    }

    /// HKDF-Expand-Label to a 16-byte key.
    public func expandLabel16(secret: Bytes32, label: ByteView) -> Bytes16? {
        var r = Bytes16()
        let ok = withUnsafeMutableBytes(of: &r.raw) { hkdfExpandLabel(secret: secret, label: label, into: $0) }
        return ok ? r : nil
    }

    /// HKDF-Expand-Label to a 12-byte IV.
    public func expandLabel12(secret: Bytes32, label: ByteView) -> Bytes12? {
        var r = Bytes12()
        let ok = withUnsafeMutableBytes(of: &r.raw) {
            hkdfExpandLabel(secret: secret, label: label, into: UnsafeMutableRawBufferPointer(rebasing: $0[0 ..< 12]))
        }
        return ok ? r : nil
    }

    // MARK: AES-128-ECB, one block (header protection mask, RFC 9001 section 5.4.3)

    /// AES-128(key, block). Nil only when OpenSSL refuses.
    public func aes128EncryptBlock(key: Bytes16, block: Bytes16) -> Bytes16? {
        var k = key
        var input = block
        var output = Bytes16()
        let ok = withUnsafeBytes(of: &k.raw) { kp in
            withUnsafeBytes(of: &input.raw) { ip in
                withUnsafeMutableBytes(of: &output.raw) { op -> Bool in
                    guard EVP_EncryptInit_ex2(ecbCtx, nil, kp.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                              nil, nil) == 1 else { return false }
                    var outLength: Int32 = 0
                    return EVP_EncryptUpdate(ecbCtx, op.baseAddress!.assumingMemoryBound(to: UInt8.self), &outLength,
                                             ip.baseAddress!.assumingMemoryBound(to: UInt8.self), 16) == 1
                        && outLength == 16
                }
            }
        }
        if !ok { ERR_clear_error(); return nil }
        return output
    }

    // MARK: AES-128-GCM

    /// Decrypts and verifies `sealed` (ciphertext followed by the 16-byte tag) with `aad`, writing
    /// the plaintext (sealed.count - 16 bytes) to the start of `out`. Returns the plaintext length,
    /// or nil when the tag does not verify, `out` is too small or the input is shorter than a tag.
    /// `out` may hold garbage after a failure.
    public func aes128GCMOpen(key: Bytes16, nonce: Bytes12, aad: ByteView, sealed: ByteView,
                              into out: UnsafeMutableRawBufferPointer) -> Int? {
        let tag = QUICInitialCrypto.tagLength
        guard sealed.count >= tag, sealed.count - tag <= out.count,
              sealed.count - tag <= Int(Int32.max), aad.count <= Int(Int32.max) else { return nil }
        let textLength = sealed.count - tag
        var k = key
        var n = nonce
        let ok = withUnsafeBytes(of: &k.raw) { kp in
            withUnsafeBytes(of: &n.raw) { np in
                aad.withUnsafeBytes { ap in
                    sealed.withUnsafeBytes { sp -> Bool in
                        let ctx = openCtx
                        guard EVP_DecryptInit_ex2(ctx, nil, kp.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                                  np.baseAddress!.assumingMemoryBound(to: UInt8.self), nil) == 1
                        else { return false }
                        var outLength: Int32 = 0
                        if ap.count > 0 {
                            guard EVP_DecryptUpdate(ctx, nil, &outLength, ap.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                                    Int32(ap.count)) == 1 else { return false }
                        }
                        let sBase = sp.baseAddress!.assumingMemoryBound(to: UInt8.self)
                        var produced = 0
                        if textLength > 0 {
                            guard EVP_DecryptUpdate(ctx, out.baseAddress!.assumingMemoryBound(to: UInt8.self), &outLength,
                                                    sBase, Int32(textLength)) == 1 else { return false }
                            produced = Int(outLength)
                        }
                        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(tag),
                                                  UnsafeMutableRawPointer(mutating: sBase + textLength)) == 1
                        else { return false }
                        var finalLength: Int32 = 0
                        let finalOut = out.baseAddress!.assumingMemoryBound(to: UInt8.self) + produced
                        guard EVP_DecryptFinal_ex(ctx, finalOut, &finalLength) == 1 else { return false }
                        return produced + Int(finalLength) == textLength
                    }
                }
            }
        }
        if !ok { ERR_clear_error(); return nil }
        return textLength
    }

    /// Encrypts `plaintext` with `aad` and writes ciphertext || 16-byte tag to `out`. Returns the
    /// number of bytes written (plaintext.count + 16), or nil. Used by tests and tools to build
    /// protected packets; the fast path only opens.
    public func aes128GCMSeal(key: Bytes16, nonce: Bytes12, aad: ByteView, plaintext: ByteView,
                              into out: UnsafeMutableRawBufferPointer) -> Int? {
        let tag = QUICInitialCrypto.tagLength
        guard plaintext.count <= Int(Int32.max) - tag, plaintext.count + tag <= out.count,
              aad.count <= Int(Int32.max) else { return nil }
        var k = key
        var n = nonce
        let ok = withUnsafeBytes(of: &k.raw) { kp in
            withUnsafeBytes(of: &n.raw) { np in
                aad.withUnsafeBytes { ap in
                    plaintext.withUnsafeBytes { pp -> Bool in
                        let ctx = sealCtx
                        guard EVP_EncryptInit_ex2(ctx, nil, kp.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                                  np.baseAddress!.assumingMemoryBound(to: UInt8.self), nil) == 1
                        else { return false }
                        var outLength: Int32 = 0
                        if ap.count > 0 {
                            guard EVP_EncryptUpdate(ctx, nil, &outLength, ap.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                                    Int32(ap.count)) == 1 else { return false }
                        }
                        let oBase = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
                        var produced = 0
                        if pp.count > 0 {
                            guard EVP_EncryptUpdate(ctx, oBase, &outLength, pp.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                                    Int32(pp.count)) == 1 else { return false }
                            produced = Int(outLength)
                        }
                        var finalLength: Int32 = 0
                        guard EVP_EncryptFinal_ex(ctx, oBase + produced, &finalLength) == 1 else { return false }
                        produced += Int(finalLength)
                        guard produced == pp.count else { return false }
                        return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(tag), oBase + produced) == 1
                    }
                }
            }
        }
        if !ok { ERR_clear_error(); return nil }
        return plaintext.count + tag
    }
}
