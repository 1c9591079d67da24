import Foundation
import Testing

/// The SIP, PostgreSQL and SMB parsers on real captures of the shared corpus (read in place),
/// each fact checked by hand against tshark's dissection of the same capture.
@Suite struct AppLayerSIPPgSQLSMBTests {
    static let sv = "corpus/suricata-verify/tests"
    static var enabled: Bool { CorpusGoldenTests.enabled }

    /// tshark: 10 SIP messages over UDP 5060 ↔ 5061 — INVITE, 100 Trying, 180 Ringing, 200 Ok,
    /// ACK, REGISTER, 200 OK, INVITE, 100 Trying, 180 Ringing.
    @Test(.enabled(if: enabled, "shared corpus not found; skipped outside CI"))
    func sipOverUDP() throws {
        let sip = try CorpusGoldenTests.events(Self.sv + "/sip-body-frames/public-cloudshark-sip-s0.pcap", type: "sip")
        #expect(sip.count == 10)
        let objs = sip.compactMap { $0["sip"] as? [String: Any] }
        #expect(objs.compactMap { $0["method"] as? String } == ["INVITE", "ACK", "REGISTER", "INVITE"])
        #expect(objs.compactMap { $0["code"] as? String } == ["100", "180", "200", "200", "100", "180"])
        #expect(objs.first?["uri"] as? String == "sip:francisco@bestel.com:55060")
        #expect(objs.first?["request_line"] as? String == "INVITE sip:francisco@bestel.com:55060 SIP/2.0")
        #expect(objs.first?["call_id"] as? String == "12013223@200.57.7.195")
        #expect(sip.allSatisfy { $0["app_proto"] as? String == "sip" })
        #expect(sip.first?["src_ip"] as? String == "200.57.7.195" && sip[1]["src_ip"] as? String == "200.57.7.204",
                "each message in its own direction")
    }

    /// tshark: SSLRequest refused, startup for user ju-Test / database Test with SCRAM-SHA-256,
    /// 22 simple queries and a Terminate; `SELECT * FROM new_table;` (frame 82) returns 2
    /// columns and 8 rows with CommandComplete "SELECT 8"; `SELECT 1/0;` fails with 22012.
    @Test(.enabled(if: enabled, "shared corpus not found; skipped outside CI"))
    func pgsqlSession() throws {
        let pg = try CorpusGoldenTests.events(Self.sv + "/pgsql/pgsql-simple-query-rollback/input.pcap", type: "pgsql")
        #expect(pg.count == 27)
        let objs = pg.compactMap { $0["pgsql"] as? [String: Any] }
        #expect(objs.compactMap { $0["tx_id"] as? Int } == Array(1 ... 27))
        let requests = objs.map { $0["request"] as? [String: Any] ?? [:] }
        let responses = objs.map { $0["response"] as? [String: Any] ?? [:] }
        #expect(requests[0]["message"] as? String == "SSL Request" && responses[0]["accepted"] as? Bool == false)
        let startup = requests[1]["startup_parameters"] as? [String: Any]
        #expect(startup?["user"] as? String == "ju-Test" && startup?["database"] as? String == "Test")
        #expect(responses[1]["sasl_authentication_mechanisms"] as? [String] == ["SCRAM-SHA-256"])
        #expect(requests.compactMap { $0["simple_query"] as? String }.count == 22)
        #expect(requests[5]["simple_query"] as? String == "DELETE FROM new_table WHERE NAME='Remus';")
        #expect(responses[5]["command_completed"] as? String == "DELETE 1")
        #expect(responses[13]["code"] as? String == "22012" && responses[13]["message"] as? String == "division by zero")
        #expect(responses[25]["data_rows"] as? Int == 8 && responses[25]["field_count"] as? Int == 2)
        #expect(responses[25]["command_completed"] as? String == "SELECT 8")
        #expect(requests[26]["message"] as? String == "termination_message")
        #expect(pg.allSatisfy { $0["app_proto"] as? String == "pgsql" && $0["dest_port"] as? Int == 5432 })
    }

    /// tshark: a capture picked up at SMB2 NEGOTIATE (dialect 3.00), two session setups
    /// (the second NTLMSSP_AUTH for SUSE\administrator), tree connects to \\WS2016\encrypted
    /// (tree 1) and \\10.160.65.202\IPC$ (tree 5); everything else is SMB3-encrypted.
    @Test(.enabled(if: enabled, "shared corpus not found; skipped outside CI"))
    func smb3() throws {
        let smb = try CorpusGoldenTests.events(Self.sv + "/smb3-01/input.pcap", type: "smb")
        #expect(smb.count == 5)
        let objs = smb.compactMap { $0["smb"] as? [String: Any] }
        #expect(objs.compactMap { $0["command"] as? String } == [
            "SMB2_COMMAND_NEGOTIATE_PROTOCOL", "SMB2_COMMAND_SESSION_SETUP", "SMB2_COMMAND_SESSION_SETUP",
            "SMB2_COMMAND_TREE_CONNECT", "SMB2_COMMAND_TREE_CONNECT"])
        #expect(objs.first?["dialect"] as? String == "3.00")
        #expect(objs[1]["status"] as? String == "STATUS_MORE_PROCESSING_REQUIRED")
        #expect(objs[1]["status_code"] as? String == "0xc0000016")
        let ntlm = objs[2]["ntlmssp"] as? [String: Any]
        #expect(ntlm?["user"] as? String == "administrator" && ntlm?["domain"] as? String == "SUSE")
        #expect(objs[3]["share"] as? String == "\\\\WS2016\\encrypted" && objs[3]["tree_id"] as? Int == 1)
        #expect(objs[4]["share"] as? String == "\\\\10.160.65.202\\IPC$" && objs[4]["share_type"] as? String == "PIPE")
        #expect(smb.allSatisfy { $0["app_proto"] as? String == "smb" && $0["dest_port"] as? Int == 445 })
    }
}
