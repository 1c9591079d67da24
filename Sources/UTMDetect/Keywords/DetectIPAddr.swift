/// `ip.src` / `ip.dst` (Suricata 7): sticky buffers of the packet's source / destination
/// address, 4 bytes (IPv4) or 16 (IPv6) in network order, for `dataset`/`datarep` address
/// lists (`ip.src; dataset:isset,bad-ips,type ip,load ips.lst;`). The verifier fills them from
/// `PacketFacts` in whatever inspection the rule runs in (`BufferID.isAddress`).
enum DetectIPAddr {
    static func sticky(_ buffer: BufferID) -> KeywordParser {
        { (b: inout SignatureBuilder, v: Substring?) throws(RuleError) in
            try KW.noValue(v, buffer.name)
            b.sticky = buffer
        }
    }
}
