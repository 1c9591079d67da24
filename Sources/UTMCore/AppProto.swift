/// Application protocols the engine parses. Raw values are stable: they are stored in flows
/// and in compiled definition bundles.
@frozen
public enum AppProto: UInt8, Sendable, CaseIterable {
    case unknown = 0
    case http = 1
    case tls = 2
    case dns = 3
    case quic = 4
    /// DHCPv4 on UDP 67/68 (logged for the device table; no rule keywords).
    case dhcp = 5
    /// HTTP/2 over cleartext (prior knowledge; `http` events with `http2`).
    case http2 = 6
    /// SIP over UDP (one message per datagram) and TCP (`sip` events).
    case sip = 7
    /// PostgreSQL's wire protocol over TCP (`pgsql` events, one per request/response).
    case pgsql = 8
    /// SMB over TCP 445/139 (`smb` events, one per request/response).
    case smb = 9
    /// Connection-oriented DCE/RPC over TCP (135 and the dynamic ports; `dcerpc` events, one
    /// per bind/bind_ack and request/response).
    case dcerpc = 13
    /// SSH, recognised by its `SSH-` banner on any port (`ssh` events; parsed up to NEWKEYS).
    case ssh = 10
    /// The FTP control channel (`ftp` events, one per command and reply).
    case ftp = 11
    /// An FTP data connection announced on the control channel (PORT/EPRT/PASV/EPSV).
    case ftpData = 12
    /// SMTP, recognised by the client's EHLO/HELO or the server's 220 on 25/587; parsed by
    /// SMTPParser (session 12: `smtp` events, smtp/email keywords). Raw value 16 keeps clear of
    /// the other parsers' numbers.
    case smtp = 16
    /// Detection ran and nothing matched; the flow is not probed again.
    case failed = 255

    /// The name Suricata's EVE uses for `app_proto`.
    public var eveName: StaticString {
        switch self {
        case .unknown: return "unknown"
        case .http: return "http"
        case .tls: return "tls"
        case .dns: return "dns"
        case .quic: return "quic"
        case .dhcp: return "dhcp"
        case .http2: return "http2"
        case .sip: return "sip"
        case .pgsql: return "pgsql"
        case .smb: return "smb"
        case .dcerpc: return "dcerpc"
        case .ssh: return "ssh"
        case .ftp: return "ftp"
        case .ftpData: return "ftp-data"
        case .smtp: return "smtp"
        case .failed: return "failed"
        }
    }
}
