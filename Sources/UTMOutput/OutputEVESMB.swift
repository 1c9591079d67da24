import UTMCore
import UTMAppLayer

extension EVEWriter {
    /// Suricata's `smb` event for one request/response pair (client → server endpoints): `id`,
    /// the flow's negotiated `dialect`, `command`, `status`/`status_code`, `session_id`,
    /// `tree_id`, and per command the offered `client_dialects` and `server_guid`
    /// (NEGOTIATE), `ntlmssp` user/domain/host (SESSION_SETUP), `share`/`share_type`
    /// (TREE_CONNECT), `filename`/`disposition` (CREATE). Names as Suricata writes them.
    public mutating func writeSMB(_ p: borrowing SMBParser, _ tx: SMBTransaction, time: Timestamp, _ e: EVEEndpoints) {
        guard isEnabled(.smb) else { return }
        begin(.smb, time: time, e)
        json.key("smb"); json.beginObject()
        json.key("id"); json.uint(tx.id)
        json.key("dialect")
        if p.dialect == 1 { json.string("NT LM 0.12") }
        else if let d = SMBNames.dialect(p.dialect) { json.string(d) }
        else { json.string("unknown") }
        json.key("command"); json.string(SMBNames.command(version: tx.version, tx.command))
        if tx.hasResponse {
            if let s = SMBNames.status(tx.status) { json.key("status"); json.string(s) }
            json.key("status_code"); json.string(hexPrefixed: UInt64(tx.status))
        }
        json.key("session_id"); json.uint(tx.sessionID)
        json.key("tree_id"); json.uint(UInt64(tx.treeID))
        if !tx.clientDialects.isEmpty {
            json.key("client_dialects"); json.beginArray()
            for i in tx.clientDialects where i < p.dialects.count {
                if let d = SMBNames.dialect(p.dialects[i]) { json.string(d) } else { json.stringHex(UInt64(p.dialects[i]), width: 4) }
            }
            json.endArray()
        } else if tx.dialectNames.isPresent {
            json.key("client_dialects"); json.beginArray()
            p.store.withView(tx.dialectNames) { json.nulSeparatedStrings($0) }
            json.endArray()
        }
        smbField(p, "server_guid", tx.serverGUID)
        if tx.ntlmUser.isPresent || tx.ntlmDomain.isPresent || tx.ntlmHost.isPresent {
            json.key("ntlmssp"); json.beginObject()
            smbField(p, "domain", tx.ntlmDomain)
            smbField(p, "user", tx.ntlmUser)
            smbField(p, "host", tx.ntlmHost)
            json.endObject()
        }
        smbField(p, "share", tx.share)
        if tx.shareType != 0 {
            json.key("share_type")
            switch tx.shareType {
            case 1: json.string("FILE")
            case 2: json.string("PIPE")
            case 3: json.string("PRINT")
            default: json.string("UNKNOWN")
            }
        }
        smbField(p, "filename", tx.filename)
        if let d = tx.disposition {
            json.key("disposition")
            switch d {
            case 0: json.string("FILE_SUPERSEDE")
            case 1: json.string("FILE_OPEN")
            case 2: json.string("FILE_CREATE")
            case 3: json.string("FILE_OPEN_IF")
            case 4: json.string("FILE_OVERWRITE")
            case 5: json.string("FILE_OVERWRITE_IF")
            default: json.string("UNKNOWN")
            }
        }
        json.endObject()
        end()
    }

    mutating func smbField(_ p: borrowing SMBParser, _ key: StaticString, _ f: Field) {
        guard f.isPresent, f.length > 0 else { return }
        p.store.withView(f) { v in
            json.key(key)
            json.string(v)
        }
    }
}
