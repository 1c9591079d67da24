/// Address and port variables (`$HOME_NET`, `$HTTP_PORTS`...) as text, resolved when rules are
/// parsed. The defaults are Suricata's `suricata.yaml` defaults; a deployment overrides them.
public struct RuleVariables: Sendable {
    public var addressGroups: [String: String]
    public var portGroups: [String: String]

    public init(addressGroups: [String: String], portGroups: [String: String]) {
        self.addressGroups = addressGroups
        self.portGroups = portGroups
    }

    public static let suricataDefaults: RuleVariables = {
        var a: [String: String] = [
            "HOME_NET": "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]",
            "EXTERNAL_NET": "!$HOME_NET",
        ]
        for name in ["HTTP_SERVERS", "SMTP_SERVERS", "SQL_SERVERS", "DNS_SERVERS", "TELNET_SERVERS",
                     "AIM_SERVERS", "DC_SERVERS", "DNP3_SERVER", "DNP3_CLIENT", "MODBUS_CLIENT",
                     "MODBUS_SERVER", "ENIP_CLIENT", "ENIP_SERVER"] {
            a[name] = "$HOME_NET"
        }
        let p: [String: String] = [
            "HTTP_PORTS": "80",
            "SHELLCODE_PORTS": "!80",
            "ORACLE_PORTS": "1521",
            "SSH_PORTS": "22",
            "DNP3_PORTS": "20000",
            "MODBUS_PORTS": "502",
            "FILE_DATA_PORTS": "[$HTTP_PORTS,110,143]",
            "FTP_PORTS": "21",
            "GENEVE_PORTS": "6081",
            "VXLAN_PORTS": "4789",
            "TEREDO_PORTS": "3544",
        ]
        return RuleVariables(addressGroups: a, portGroups: p)
    }()
}
