import UTMDecode
import UTMFlow
import UTMAppLayer
import UTMWebFilter
import UTMDetect

/// Everything the engine can be tuned with, with the defaults a 100-device office needs.
/// A plain value: configuration files and command-line flags fill it in.
public struct EngineConfig: Sendable {
    public var decoder = DecoderConfig()
    public var flow = FlowConfig()
    public var http = HTTPConfig()
    public var tls = TLSConfig()
    public var dns = DNSConfig()
    public var quic = QUICConfig()
    public var http2 = HTTP2Config()

    /// Concurrent flows whose application layer is parsed, per protocol. Flows beyond these
    /// still pass and are logged, unparsed (counted as `appStateExhausted`).
    public var maxHTTPStates = 4096
    public var maxTLSStates = 8192
    public var maxQUICStates = 2048
    public var maxDNSTCPStates = 256
    /// Cleartext HTTP/2 is rare (browsers speak it over TLS only): a small pool.
    public var maxHTTP2States = 32
    /// PostgreSQL parsers (about 40 KiB each with the default buffers).
    public var pgsql = PgSQLConfig()
    public var maxPgSQLStates = 256
    /// SIP over TCP (16 KiB each: one 8 KiB message buffer per direction).
    public var maxSIPTCPStates = 128
    /// SMB parsers (about 20 KiB each with the default buffers: 8 KiB records since session 12).
    public var smb = SMBConfig()
    public var maxSMBStates = 512
    /// DCE/RPC parsers (about 136 KiB each with the default buffers: a 64 KiB stub per
    /// direction); allocated when a flow is detected as DCE/RPC, kept for reuse.
    public var dcerpc = DCERPCConfig()
    public var maxDCERPCStates = 64
    /// DCE/RPC parsers for SMB flows that use a named pipe (IPC$), one per such flow: 16 KiB
    /// stubs, about 40 KiB each.
    public var smbPipeDCERPC: DCERPCConfig = { var c = DCERPCConfig(); c.maxStubBytes = 16_384; return c }()
    public var maxSMBPipeStates = 64
    /// SSH parsers (about 4.7 KiB each: per side the banner, the HASSH string and its hash).
    /// A slot is held only until both NEWKEYS, not for the connection's life (EngineSSH.swift).
    public var ssh = SSHConfig()
    public var maxSSHStates = 256
    /// FTP control channels (about 12 KiB each with the default buffers; EngineFTP.swift).
    public var ftp = FTPConfig()
    public var maxFTPStates = 128
    /// SMTP sessions (about 17 KiB each with the default buffers; EngineSMTP.swift).
    public var smtp = SMTPConfig()
    public var maxSMTPStates = 128
    /// Bytes of each decoded SMTP attachment inspected by `file_data` rules (the first ones;
    /// a per-slot buffer, allocated when the slot is first used).
    public var smtpFileDataWindow = 32768

    /// Payload chunks a TCP flow may show in each direction before detection gives up.
    public var detectionChunks = 4
    /// TCP flows whose protocol is still undecided that may keep their first bytes for the
    /// probes (`ProbeBuffers`: 512 bytes each, reserved at init; 1,024 → 512 KiB).
    public var maxProbeBuffers = 1024
    /// UDP datagrams a flow may show before detection gives up.
    public var detectionDatagrams = 4

    /// Flow-table slots examined for timeouts per packet (amortised expiry).
    public var expiryBudgetPerPacket = 4

    /// Web filter: a customer configuration bound to a category database (`applyWebFilter`).
    /// nil (the default): nothing is looked up, no `web_filter` fields, nothing blocked by URL.
    public var webFilter: WebFilterPolicy? = nil
    /// Application identification (flow events' `app`) and app restrictions. On by default.
    public var appID = AppIDSettings()
    /// Antivirus (EngineAntivirus.swift; set with `applyAntivirus`). nil (the default): no AV.
    public var antivirus: EngineAntivirusConfig? = nil
    /// Which finished flows packets may say `bypass` for (EngineBypass.swift). On by default.
    public var bypass = EngineBypassPolicy()
    /// IDS or inline, midstream pickup, drop logging (EngineModes.swift).
    public var modes = EngineModes()
    /// Firewall mode (Suricata 8's): a ruleset with default policies evaluated before the
    /// threat-detection rules (EngineFirewall.swift). nil (the default): no firewall stage.
    public var firewall: FirewallRuleSet? = nil
    /// EVE `anomaly` events: which types, and the budget per event (EngineAnomalyLog.swift).
    /// Default as Suricata's suricata.yaml: app-layer anomalies only.
    public var anomalyLog = AnomalyLogConfig()

    public init() {
        quic.serverCryptoCapacity = 0 // ServerHello of QUIC says nothing we log
    }
}
