import UTMCore
import UTMAppLayer

extension EVEWriter {
    /// Suricata's `dhcp` event (extended form) for one DHCP datagram, in the packet's own
    /// direction: `type` request (client → server) or reply, the transaction id, the client's
    /// MAC, the address assigned or used, host name, message type and lease time. The device
    /// table (UTMStore) is filled from these.
    public mutating func writeDHCP(_ m: DHCPMessage, datagram: ByteView, time: Timestamp, _ e: EVEEndpoints) {
        guard isEnabled(.dhcp) else { return }
        begin(.dhcp, time: time, e)
        json.key("dhcp"); json.beginObject()
        json.key("type"); json.string(m.op == 1 ? "request" : "reply")
        json.key("id"); json.uint(UInt64(m.xid))
        if m.clientMAC.isPresent { json.key("client_mac"); json.mac(m.clientMAC) }
        json.key("assigned_ip"); json.ip(m.yiaddr)
        if m.ciaddr != .none { json.key("client_ip"); json.ip(m.ciaddr) }
        if m.requestedIP != .none { json.key("requested_ip"); json.ip(m.requestedIP) }
        if m.serverID != .none { json.key("dhcp_server_id"); json.ip(m.serverID) }
        field("hostname", m.field(m.hostname, in: datagram))
        if m.clientID.length > 0 { json.key("client_id"); json.hex(m.field(m.clientID, in: datagram)) }
        if m.messageType != 0 { json.key("dhcp_type"); json.string(DHCPMessage.typeName(m.messageType)) }
        if let lease = m.leaseTime { json.key("lease_time"); json.uint(UInt64(lease)) }
        json.endObject()
        end()
    }
}
