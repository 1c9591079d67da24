import UTMCore
import UTMCrypto

/// The keys that protect one direction's Initial packets (RFC 9001 section 5.1): AEAD key, IV,
/// header-protection key. Plain values kept in the per-flow parser state.
public struct QUICPacketKeys: Sendable, Equatable {
    public var key: Bytes16
    public var iv: Bytes12
    public var hp: Bytes16

    public init(key: Bytes16, iv: Bytes12, hp: Bytes16) {
        self.key = key
        self.iv = iv
        self.hp = hp
    }
}

/// Client and server Initial keys of a connection. Both come from the Destination Connection ID
/// of the client's first Initial packet, which is why an observer can open Initial packets at
/// all (RFC 9001 section 5.2): they hide nothing from a middlebox, they only stop tampering.
public struct QUICInitialKeys: Sendable, Equatable {
    public var client: QUICPacketKeys
    public var server: QUICPacketKeys

    /// initial_secret = HKDF-Extract(salt, dcid); client/server secrets via "client in" /
    /// "server in"; then key, iv, hp via "quic key/iv/hp" ("quicv2 ..." for v2). Runs once per
    /// flow, not per packet. Nil when the crypto library refuses.
    public static func derive(version: QUICVersion, dcid: ByteView,
                              crypto: QUICInitialCrypto) -> QUICInitialKeys? {
        guard let initial = crypto.hkdfExtract(salt: version.salt, ikm: dcid),
              let clientSecret = crypto.expandLabel32(secret: initial, label: StaticString("client in").byteView),
              let serverSecret = crypto.expandLabel32(secret: initial, label: StaticString("server in").byteView),
              let client = packetKeys(version: version, secret: clientSecret, crypto: crypto),
              let server = packetKeys(version: version, secret: serverSecret, crypto: crypto)
        else { return nil }
        return QUICInitialKeys(client: client, server: server)
    }

    /// The key, IV and header-protection key of one traffic secret.
    public static func packetKeys(version: QUICVersion, secret: Bytes32,
                                  crypto: QUICInitialCrypto) -> QUICPacketKeys? {
        let v2 = version == .v2
        let keyLabel = v2 ? StaticString("quicv2 key").byteView : StaticString("quic key").byteView
        let ivLabel = v2 ? StaticString("quicv2 iv").byteView : StaticString("quic iv").byteView
        let hpLabel = v2 ? StaticString("quicv2 hp").byteView : StaticString("quic hp").byteView
        guard let key = crypto.expandLabel16(secret: secret, label: keyLabel),
              let iv = crypto.expandLabel12(secret: secret, label: ivLabel),
              let hp = crypto.expandLabel16(secret: secret, label: hpLabel) else { return nil }
        return QUICPacketKeys(key: key, iv: iv, hp: hp)
    }
}
